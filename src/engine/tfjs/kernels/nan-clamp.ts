/**
 * Relu, Relu6 and ClipByValue on wasm that keep NaN, as PyTorch's relu / relu6 / hardtanh /
 * clamp do (and tfjs' cpu backend): the stock wasm kernels return the lower bound for NaN
 * (relu6(NaN) = 0), which let a NaN produced in evaluation mode vanish before the loss (issue
 * 13). The stock Relu compares the bits as integers, so it kept a NaN with the sign bit clear
 * (JavaScript's NaN) but returned 0 for one with the sign bit set, which is the NaN that
 * arithmetic makes on x86 (0 * Infinity, Infinity - Infinity): a BatchNorm channel poisoned by
 * one NaN came out of the ReLU as zeros. float32 inputs
 * run the SIMD `clamp` loop (f32x4.min/max propagate NaN) on both threads, or a scalar loop over
 * the heap where the loops are unavailable; other dtypes keep the stock kernels.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapAddress, heapFloats } from './simd-loops';
import { simdPool } from './simd-pool';

/** out = min(max(x, lo), hi) elementwise; NaN stays NaN. */
export function clampKeepingNaN(be: BackendWasm, x: TensorInfo, lo: number, hi: number): TensorInfo {
  const size = x.shape.reduce((p, d) => p * d, 1);
  const out = be.makeOutput(x.shape, 'float32');
  if (size === 0) return out;
  const [xPtr, outPtr] = [heapAddress(be, x), heapAddress(be, out)];
  const pool = simdPool(be);
  const vectorized = pool ? size - (size % 4) : 0;
  if (pool && vectorized > 0) {
    const half = Math.ceil(vectorized / 8) * 4;
    pool.split((part, call) => {
      const [from, to] = part === 0 ? [0, half] : [half, vectorized];
      if (to > from) call('clamp', xPtr + from * 4, outPtr + from * 4, (to - from) * 4, lo, hi);
    });
  }
  if (vectorized < size) {
    const tail = size - vectorized;
    const [v, o] = [heapFloats(be, xPtr + vectorized * 4, tail), heapFloats(be, outPtr + vectorized * 4, tail)];
    // Math.max / Math.min return NaN for a NaN operand.
    for (let i = 0; i < tail; i++) o[i] = Math.min(Math.max(v[i], lo), hi);
  }
  return out;
}

export function reluConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    return x.dtype === 'float32' ? clampKeepingNaN(args.backend as BackendWasm, x, 0, Infinity) : stock.kernelFunc(args);
  };
  return { kernelName: 'Relu', backendName: 'wasm', kernelFunc };
}

export function relu6Config(stock: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    return x.dtype === 'float32' ? clampKeepingNaN(args.backend as BackendWasm, x, 0, 6) : stock.kernelFunc(args);
  };
  return { kernelName: 'Relu6', backendName: 'wasm', kernelFunc };
}

export function clipByValueConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { clipValueMin, clipValueMax } = args.attrs as { clipValueMin: number; clipValueMax: number };
    return x.dtype === 'float32' ? clampKeepingNaN(args.backend as BackendWasm, x, clipValueMin, clipValueMax) : stock.kernelFunc(args);
  };
  return { kernelName: 'ClipByValue', backendName: 'wasm', kernelFunc };
}
