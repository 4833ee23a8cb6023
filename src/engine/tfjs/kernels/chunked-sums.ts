/**
 * Accumulators for the filter-gradient loops: float32 sums on the wasm heap (where the SIMD loops
 * add into them), folded into float64 totals every few thousand terms, so that the rounding
 * error of a float32 sum does not grow with the batch and image size.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { heapAddress, heapFloats, heapModule } from './simd-loops';

export class ChunkedSums {
  /** Byte offset of the float32 accumulators in the heap. */
  readonly acc: number;
  private readonly total: Float64Array;
  private freed = false;

  constructor(
    private readonly be: BackendWasm,
    private readonly size: number,
  ) {
    this.acc = heapModule(be)._malloc(size * 4) >>> 0;
    this.total = new Float64Array(size);
    this.clear();
  }

  /** Adds the float32 sums to the totals and zeroes them. */
  fold(): void {
    const sums = heapFloats(this.be, this.acc, this.size);
    for (let i = 0; i < this.size; i++) this.total[i] += sums[i];
    this.clear();
  }

  /** The totals as a new float32 tensor of `shape`; frees the accumulators. */
  finish(shape: number[]): TensorInfo {
    this.free();
    const out = this.be.makeOutput(shape, 'float32');
    heapFloats(this.be, heapAddress(this.be, out), this.size).set(this.total);
    return out;
  }

  /** Frees the accumulators (idempotent; error paths). */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    heapModule(this.be)._free(this.acc);
  }

  private clear(): void {
    heapFloats(this.be, this.acc, this.size).fill(0);
  }
}
