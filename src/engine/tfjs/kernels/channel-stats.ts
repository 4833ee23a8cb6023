/**
 * Per-channel kernels for BatchNorm training on wasm, each one pass of a SIMD loop over an NHWC
 * tensor viewed as `[rows, C]` (see simd-loops.ts):
 *
 * - `RegbenchChannelMoments` {x} -> [mean, biased variance], both `[C]`. The loop sums x - s and
 *   (x - s)^2 with s = the first row (so the squares do not cancel when the mean is large
 *   against the spread); float32 partial sums over blocks of rows, float64 across blocks.
 * - `RegbenchChannelGradSums` {dy, x, mean} -> [sum dy, sum dy * (x - mean)], both `[C]`.
 * - `RegbenchChannelAffine` {x, a, b} -> x * a + b per channel (BatchNorm's output).
 * - `RegbenchChannelAffine2` {dy, x, a, k, b} -> dy * a + x * k + b per channel.
 * - `RegbenchChannelAffineRelu` {x, a, b} -> relu(x * a + b) per channel (NaN stays NaN), the
 *   output of BatchNorm2d followed by ReLU in one pass; registered by the native path only.
 * - `RegbenchChannelGradSumsRelu` {dy, x, mean, y}, `RegbenchChannelAffine2Relu` {dy, x, a, k, b,
 *   y}: the two gradient passes with dy first masked by the ReLU's output y (dy where y > 0 or
 *   NaN, else 0), so the masked gradient is never written; native path only.
 *
 * Registered for wasm only, and only when the loops could be built; `channelKernelsFor` tells
 * a caller whether it may use them for a given tensor (else it keeps its tf-op formulation).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { getBackend, getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { ChunkedSums, chunkRange } from './chunked-sums';
import { heapAddress, heapFloats, heapModule } from './simd-loops';
import { simdPool, type LoopCall, type SimdPool } from './simd-pool';

export const CHANNEL_MOMENTS = 'RegbenchChannelMoments';
export const CHANNEL_GRAD_SUMS = 'RegbenchChannelGradSums';
export const CHANNEL_AFFINE = 'RegbenchChannelAffine';
export const CHANNEL_AFFINE2 = 'RegbenchChannelAffine2';
export const CHANNEL_AFFINE_RELU = 'RegbenchChannelAffineRelu';
export const CHANNEL_GRAD_SUMS_RELU = 'RegbenchChannelGradSumsRelu';
export const CHANNEL_AFFINE2_RELU = 'RegbenchChannelAffine2Relu';

// Rows per float32 partial sum: the rounding error of a float32 sum grows with its length.
const BLOCK_ROWS = 256;

/** True when the channel kernels are registered for the active backend and fit `x`. */
export function channelKernelsFor(x: { shape: readonly number[]; dtype: string }): boolean {
  const c = x.shape[x.shape.length - 1];
  return x.dtype === 'float32' && c % 4 === 0 && getKernel(CHANNEL_MOMENTS, getBackend()) !== undefined;
}

interface Layout {
  be: BackendWasm;
  pool: SimdPool;
  c: number;
  rows: number;
}

function layout(backend: object, x: TensorInfo): Layout {
  const be = backend as BackendWasm;
  const pool = simdPool(be);
  if (!pool) throw new Error('wasm SIMD loops unavailable');
  const c = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((p, d) => p * d, 1) / c;
  if (c % 4 !== 0 || rows < 1) throw new Error(`channel kernels need C % 4 == 0 and a non-empty tensor, got [${x.shape.join(', ')}]`);
  return { be, pool, c, rows };
}

/**
 * Runs `pass(call, rowOffset, rowCount, shiftPtr, accPtr)` over blocks of rows, each block into
 * its own accumulators (the blocks are split between the two threads), and returns the two
 * float64 sums over blocks; `shift` is copied to the heap first.
 */
function blockSums(
  l: Layout,
  shift: Float32Array,
  pass: (call: LoopCall, row: number, count: number, shiftPtr: number, accPtr: number) => void,
): [Float64Array, Float64Array] {
  const { be, c, rows } = l;
  const m = heapModule(be);
  const shiftPtr = m._malloc(c * 4) >>> 0;
  const sums = new ChunkedSums(be, 2 * c, Math.ceil(rows / BLOCK_ROWS));
  try {
    heapFloats(be, shiftPtr, c).set(shift);
    l.pool.split((part, call) => {
      const [first, end] = chunkRange(sums.chunks, part);
      for (let k = first; k < end; k++) pass(call, k * BLOCK_ROWS, Math.min(BLOCK_ROWS, rows - k * BLOCK_ROWS), shiftPtr, sums.acc(k));
    });
    const total = sums.totals();
    return [total.slice(0, c), total.slice(c)];
  } finally {
    sums.free();
    m._free(shiftPtr);
  }
}

/** Runs `pass(call, rowOffset, rowCount)` over the two halves of the rows, one per thread. */
function halves(l: Layout, pass: (call: LoopCall, row: number, count: number) => void): void {
  const half = Math.ceil(l.rows / 2);
  l.pool.split((part, call) => {
    const [from, to] = part === 0 ? [0, half] : [half, l.rows];
    if (to > from) pass(call, from, to - from);
  });
}

function output(be: BackendWasm, values: Float64Array): TensorInfo {
  const out = be.makeOutput([values.length], 'float32');
  heapFloats(be, heapAddress(be, out), values.length).set(values);
  return out;
}

const channelMoments: KernelFunc = ({ inputs, backend }) => {
  const { x } = inputs as { x: TensorInfo };
  const l = layout(backend, x);
  const { be, c, rows } = l;
  const xPtr = heapAddress(be, x);
  const shift = heapFloats(be, xPtr, c).slice();
  const [sum, sumSq] = blockSums(l, shift, (call, r, n, shiftPtr, accPtr) => call('moments', xPtr + r * c * 4, shiftPtr, accPtr, n, c * 4));
  const mean = new Float64Array(c);
  const variance = new Float64Array(c);
  for (let i = 0; i < c; i++) {
    const d = sum[i] / rows;
    mean[i] = shift[i] + d;
    variance[i] = Math.max(0, sumSq[i] / rows - d * d);
  }
  return [output(be, mean), output(be, variance)];
};

const channelGradSums: KernelFunc = ({ inputs, backend }) => {
  const { dy, x, mean } = inputs as { dy: TensorInfo; x: TensorInfo; mean: TensorInfo };
  const l = layout(backend, x);
  const { be, c } = l;
  const dyPtr = heapAddress(be, dy);
  const xPtr = heapAddress(be, x);
  const shift = heapFloats(be, heapAddress(be, mean), c).slice();
  const [sumDy, sumDyXc] = blockSums(l, shift, (call, r, n, shiftPtr, accPtr) =>
    call('gradSums', dyPtr + r * c * 4, xPtr + r * c * 4, shiftPtr, accPtr, n, c * 4),
  );
  return [output(be, sumDy), output(be, sumDyXc)];
};

const channelAffine: KernelFunc = ({ inputs, backend }) => {
  const { x, a, b } = inputs as Record<'x' | 'a' | 'b', TensorInfo>;
  const l = layout(backend, x);
  const { be, c } = l;
  const out = be.makeOutput(x.shape, 'float32');
  const [xp, ap, bp, op] = [x, a, b, out].map((t) => heapAddress(be, t));
  const rb = c * 4;
  halves(l, (call, r, n) => call('affine', xp + r * rb, ap, bp, op + r * rb, n, rb));
  return out;
};

const channelAffine2: KernelFunc = ({ inputs, backend }) => {
  const { dy, x, a, k, b } = inputs as Record<'dy' | 'x' | 'a' | 'k' | 'b', TensorInfo>;
  const l = layout(backend, x);
  const { be, c } = l;
  const out = be.makeOutput(x.shape, 'float32');
  const [dyp, xp, ap, kp, bp, op] = [dy, x, a, k, b, out].map((t) => heapAddress(be, t));
  const rb = c * 4;
  halves(l, (call, r, n) => call('affine2', dyp + r * rb, xp + r * rb, ap, kp, bp, op + r * rb, n, rb));
  return out;
};

export const channelKernelConfigs: KernelConfig[] = [
  { kernelName: CHANNEL_MOMENTS, backendName: 'wasm', kernelFunc: channelMoments },
  { kernelName: CHANNEL_GRAD_SUMS, backendName: 'wasm', kernelFunc: channelGradSums },
  { kernelName: CHANNEL_AFFINE, backendName: 'wasm', kernelFunc: channelAffine },
  { kernelName: CHANNEL_AFFINE2, backendName: 'wasm', kernelFunc: channelAffine2 },
];
