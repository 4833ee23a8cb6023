/**
 * Global average pooling (`AvgPool` whose window is the whole image, 'valid') on wasm without
 * losing NaN. XNNPACK's pooling clamps its output with an operation that turns NaN into -Infinity,
 * and this op computes BatchNorm2d's channel means where C % 4 != 0 (models/batchnorm.ts) and
 * the networks' pooled features before the classifier, so a NaN became -Infinity there (PyTorch
 * keeps NaN). Per-sample channel sums: the SIMD `moments` loop (C % 4 == 0, samples split
 * between the two threads) or a scalar loop over the heap. Other pools use the stock kernel.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapAddress, heapFloats, heapModule } from './simd-loops';
import { simdPool } from './simd-pool';

interface PoolAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: unknown;
}

function isGlobal(x: TensorInfo, attrs: PoolAttrs): boolean {
  if (x.shape.length !== 4 || x.dtype !== 'float32') return false;
  const [, h, w] = x.shape;
  const [fh, fw] = Array.isArray(attrs.filterSize) ? attrs.filterSize : [attrs.filterSize, attrs.filterSize];
  return fh === h && fw === w && (attrs.pad === 'valid' || attrs.pad === 0) && h * w > 0;
}

function globalMean(be: BackendWasm, x: TensorInfo): TensorInfo {
  const [n, h, w, c] = x.shape;
  const pixels = h * w;
  const out = be.makeOutput([n, 1, 1, c], 'float32');
  if (n * c === 0) return out;
  const xPtr = heapAddress(be, x);
  const pool = c % 4 === 0 ? simdPool(be) : null;
  if (!pool) {
    const means = heapFloats(be, heapAddress(be, out), n * c);
    const xv = heapFloats(be, xPtr, n * pixels * c);
    for (let s = 0; s < n; s++) {
      for (let ch = 0; ch < c; ch++) {
        let sum = 0;
        for (let p = 0; p < pixels; p++) sum += xv[(s * pixels + p) * c + ch];
        means[s * c + ch] = sum / pixels;
      }
    }
    return out;
  }
  // `moments` adds x - shift and its square into 2C accumulators per call: a zero shift, one
  // accumulator pair per sample.
  const m = heapModule(be);
  const bytes = (c + n * 2 * c) * 4;
  const base = m._malloc(bytes) >>> 0;
  try {
    heapFloats(be, base, c + n * 2 * c).fill(0);
    const accBase = base + c * 4;
    const half = Math.ceil(n / 2);
    pool.split((part, call) => {
      const [from, to] = part === 0 ? [0, half] : [half, n];
      for (let s = from; s < to; s++) call('moments', xPtr + s * pixels * c * 4, base, accBase + s * 2 * c * 4, pixels, c * 4);
    });
    const acc = heapFloats(be, accBase, n * 2 * c);
    const result = heapFloats(be, heapAddress(be, out), n * c);
    for (let s = 0; s < n; s++) for (let ch = 0; ch < c; ch++) result[s * c + ch] = acc[s * 2 * c + ch] / pixels;
  } finally {
    m._free(base);
  }
  return out;
}

export function globalAvgPoolConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    return isGlobal(x, args.attrs as unknown as PoolAttrs) ? globalMean(args.backend as BackendWasm, x) : stock.kernelFunc(args);
  };
  return { kernelName: 'AvgPool', backendName: 'wasm', kernelFunc };
}
