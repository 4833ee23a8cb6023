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
 *
 * Registered for wasm only, and only when the loops could be built; `channelKernelsFor` tells
 * a caller whether it may use them for a given tensor (else it keeps its tf-op formulation).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { getBackend, getKernel, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import { heapAddress, heapFloats, heapModule, simdLoops, type SimdLoops } from './simd-loops';

export const CHANNEL_MOMENTS = 'RegbenchChannelMoments';
export const CHANNEL_GRAD_SUMS = 'RegbenchChannelGradSums';
export const CHANNEL_AFFINE = 'RegbenchChannelAffine';
export const CHANNEL_AFFINE2 = 'RegbenchChannelAffine2';

// Rows per float32 partial sum: the rounding error of a float32 sum grows with its length.
const BLOCK_ROWS = 256;

/** True when the channel kernels are registered for the active backend and fit `x`. */
export function channelKernelsFor(x: { shape: readonly number[]; dtype: string }): boolean {
  const c = x.shape[x.shape.length - 1];
  return x.dtype === 'float32' && c % 4 === 0 && getKernel(CHANNEL_MOMENTS, getBackend()) !== undefined;
}

interface Layout {
  be: BackendWasm;
  loops: SimdLoops;
  c: number;
  rows: number;
}

function layout(backend: object, x: TensorInfo): Layout {
  const be = backend as BackendWasm;
  const loops = simdLoops(be);
  if (!loops) throw new Error('wasm SIMD loops unavailable');
  const c = x.shape[x.shape.length - 1];
  const rows = x.shape.reduce((p, d) => p * d, 1) / c;
  if (c % 4 !== 0 || rows < 1) throw new Error(`channel kernels need C % 4 == 0 and a non-empty tensor, got [${x.shape.join(', ')}]`);
  return { be, loops, c, rows };
}

/**
 * Runs `pass(rowOffset, rowCount, shiftPtr, accPtr)` over blocks of rows and returns the two
 * accumulated float64 sums; `shift` is copied into the scratch before the first block.
 */
function blockSums(l: Layout, shift: Float32Array, pass: (row: number, count: number, shiftPtr: number, accPtr: number) => void): [Float64Array, Float64Array] {
  const { be, c, rows } = l;
  const m = heapModule(be);
  const scratch = m._malloc(3 * c * 4) >>> 0;
  try {
    heapFloats(be, scratch, c).set(shift);
    const s1 = new Float64Array(c);
    const s2 = new Float64Array(c);
    for (let r = 0; r < rows; r += BLOCK_ROWS) {
      const acc = heapFloats(be, scratch + c * 4, 2 * c);
      acc.fill(0);
      pass(r, Math.min(BLOCK_ROWS, rows - r), scratch, scratch + c * 4);
      for (let i = 0; i < c; i++) {
        s1[i] += acc[i];
        s2[i] += acc[c + i];
      }
    }
    return [s1, s2];
  } finally {
    m._free(scratch);
  }
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
  const [sum, sumSq] = blockSums(l, shift, (r, n, shiftPtr, accPtr) => l.loops.moments(xPtr + r * c * 4, shiftPtr, accPtr, n, c * 4));
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
  const [sumDy, sumDyXc] = blockSums(l, shift, (r, n, shiftPtr, accPtr) => l.loops.gradSums(dyPtr + r * c * 4, xPtr + r * c * 4, shiftPtr, accPtr, n, c * 4));
  return [output(be, sumDy), output(be, sumDyXc)];
};

const channelAffine: KernelFunc = ({ inputs, backend }) => {
  const { x, a, b } = inputs as Record<'x' | 'a' | 'b', TensorInfo>;
  const l = layout(backend, x);
  const { be, c, rows } = l;
  const out = be.makeOutput(x.shape, 'float32');
  const at = (t: TensorInfo): number => heapAddress(be, t);
  l.loops.affine(at(x), at(a), at(b), at(out), rows, c * 4);
  return out;
};

const channelAffine2: KernelFunc = ({ inputs, backend }) => {
  const { dy, x, a, k, b } = inputs as Record<'dy' | 'x' | 'a' | 'k' | 'b', TensorInfo>;
  const l = layout(backend, x);
  const { be, c, rows } = l;
  const out = be.makeOutput(x.shape, 'float32');
  const at = (t: TensorInfo): number => heapAddress(be, t);
  l.loops.affine2(at(dy), at(x), at(a), at(k), at(b), at(out), rows, c * 4);
  return out;
};

export const channelKernelConfigs: KernelConfig[] = [
  { kernelName: CHANNEL_MOMENTS, backendName: 'wasm', kernelFunc: channelMoments },
  { kernelName: CHANNEL_GRAD_SUMS, backendName: 'wasm', kernelFunc: channelGradSums },
  { kernelName: CHANNEL_AFFINE, backendName: 'wasm', kernelFunc: channelAffine },
  { kernelName: CHANNEL_AFFINE2, backendName: 'wasm', kernelFunc: channelAffine2 },
];
