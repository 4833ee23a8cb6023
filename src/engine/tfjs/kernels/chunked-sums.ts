/**
 * Accumulators for the SIMD reduction loops: one float32 block per chunk of the reduction (a
 * chunk of rows, pixels or samples) on the wasm heap, where the loops add into them, folded into
 * float64 totals at the end. Float32 sums stay short (a few thousand terms), so their rounding
 * error does not grow with the batch and image size; and chunks are what the two threads of
 * `SimdPool.split` divide between them, each chunk written by one thread only.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { heapAddress, heapFloats, heapModule } from './simd-loops';

export class ChunkedSums {
  private readonly base: number;
  private freed = false;

  /** `chunks` blocks of `size` float32 sums, zeroed. */
  constructor(
    private readonly be: BackendWasm,
    readonly size: number,
    readonly chunks: number,
  ) {
    this.base = heapModule(be)._malloc(size * chunks * 4) >>> 0;
    heapFloats(be, this.base, size * chunks).fill(0);
  }

  /** Byte offset of chunk `i`'s accumulators. */
  acc(i: number): number {
    return this.base + i * this.size * 4;
  }

  /** The float64 sum over chunks of every accumulator. */
  totals(): Float64Array {
    const total = new Float64Array(this.size);
    const all = heapFloats(this.be, this.base, this.size * this.chunks);
    for (let k = 0; k < this.chunks; k++) {
      const o = k * this.size;
      for (let i = 0; i < this.size; i++) total[i] += all[o + i];
    }
    return total;
  }

  /** The totals as a new float32 tensor of `shape`; frees the accumulators. */
  finish(shape: number[]): TensorInfo {
    const total = this.totals();
    this.free();
    const out = this.be.makeOutput(shape, 'float32');
    heapFloats(this.be, heapAddress(this.be, out), this.size).set(total);
    return out;
  }

  /** Frees the accumulators (idempotent; error paths). */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    heapModule(this.be)._free(this.base);
  }
}

/** The chunks of part `part` (0 or 1) when `chunks` are split between two threads. */
export function chunkRange(chunks: number, part: 0 | 1): [number, number] {
  const half = Math.ceil(chunks / 2);
  return part === 0 ? [0, half] : [half, chunks];
}
