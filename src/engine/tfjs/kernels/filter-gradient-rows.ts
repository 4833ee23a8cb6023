/**
 * The iteration both direct filter gradients (dense and depthwise) share: chunks of whole
 * samples, split between the two threads of `SimdPool.split`, and within them every output row
 * paired with every filter row that reads inside the input; plus, per filter column, the output
 * columns whose input column lies inside the image.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { ChunkedSums, chunkRange } from './chunked-sums';
import type { ConvGeometry } from './conv-geometry';
import type { LoopCall, SimdPool } from './simd-pool';

// Output pixels per float32 partial sum (folded into float64 at the end).
export const CHUNK_PIXELS = 4096;

/** Whole samples per chunk: about CHUNK_PIXELS output pixels, and at least two chunks. */
function samplesPerChunk(g: ConvGeometry): number {
  return Math.min(Math.max(1, Math.floor(CHUNK_PIXELS / (g.outH * g.outW))), Math.ceil(g.batch / 2));
}

/** Filter column kx reads input columns `ix + i*stride` for output columns `from + i`, i < count. */
export interface TapColumns {
  from: number;
  count: number;
  ix: number;
}

export function tapColumns(g: ConvGeometry): TapColumns[] {
  return Array.from({ length: g.kW }, (_, kx) => {
    const from = Math.max(0, Math.ceil((g.padLeft - kx) / g.strideW));
    const to = Math.min(g.outW, Math.floor((g.inW - 1 - kx + g.padLeft) / g.strideW) + 1);
    return { from, count: Math.max(0, to - from), ix: from * g.strideW + kx - g.padLeft };
  });
}

/**
 * Calls `visit(chunk, n, oy, ky, iy)` for the samples of chunks [first, end), each output row oy
 * and each filter row ky whose input row iy is inside the image.
 */
function forEachFilterRow(
  g: ConvGeometry,
  perChunk: number,
  first: number,
  end: number,
  visit: (chunk: number, n: number, oy: number, ky: number, iy: number) => void,
): void {
  for (let n = first * perChunk; n < Math.min(g.batch, end * perChunk); n++) {
    const chunk = Math.floor(n / perChunk);
    for (let oy = 0; oy < g.outH; oy++) {
      for (let ky = 0; ky < g.kH; ky++) {
        const iy = oy * g.strideH + ky - g.padTop;
        if (iy >= 0 && iy < g.inH) visit(chunk, n, oy, ky, iy);
      }
    }
  }
}

/**
 * A filter gradient of `size` values accumulated over chunks of samples on two threads: `visit`
 * emits the loop calls for one (sample, output row, filter row), adding into `acc` (the byte
 * offset of its chunk's accumulators). Returns the float64 totals as a float32 tensor of `shape`.
 */
export function sampleChunkedGradient(
  be: BackendWasm,
  pool: SimdPool,
  g: ConvGeometry,
  size: number,
  shape: number[],
  visit: (call: LoopCall, acc: number, n: number, oy: number, ky: number, iy: number) => void,
): TensorInfo {
  const perChunk = samplesPerChunk(g);
  const sums = new ChunkedSums(be, size, Math.ceil(g.batch / perChunk));
  try {
    pool.split((part, call) => {
      const [first, end] = chunkRange(sums.chunks, part);
      forEachFilterRow(g, perChunk, first, end, (chunk, n, oy, ky, iy) => visit(call, sums.acc(chunk), n, oy, ky, iy));
    });
    return sums.finish(shape);
  } finally {
    sums.free();
  }
}
