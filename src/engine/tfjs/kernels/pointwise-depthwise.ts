/**
 * 1x1 stride-1 depthwise convolutions (`DepthwiseConv2dNative`, and `FusedDepthwiseConv2D` with a
 * per-channel bias and no activation) on wasm as the per-channel affine pass `x * a[c] + b[c]`.
 * BatchNorm2d in evaluation mode is exactly this op (models/batchnorm.ts), and XNNPACK's 1x1
 * depthwise path loses NaN (a NaN input comes out as a number), so a NaN produced in evaluation
 * mode vanished there. The SIMD `affine` loop (C % 4 == 0) or a scalar loop over the heap keeps
 * NaN and is faster than XNNPACK's path for this shape (docs/kernels.md); anything else (other
 * filters, strides, activations, dtypes, NCHW) goes to the stock kernel.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapAddress, heapFloats, heapModule } from './simd-loops';
import { simdPool } from './simd-pool';

interface DepthwiseAttrs {
  strides: number | [number, number];
  pad: unknown;
  dataFormat?: string;
  activation?: string;
}

function isOne(v: number | [number, number]): boolean {
  return Array.isArray(v) ? v[0] === 1 && v[1] === 1 : v === 1;
}

/** Whether this call is a per-channel affine map this file computes. */
function pointwise(x: TensorInfo, filter: TensorInfo, bias: TensorInfo | undefined, attrs: DepthwiseAttrs): boolean {
  const c = x.shape[3];
  const [kH, kW, fc, m] = filter.shape;
  const padNone = attrs.pad === 'valid' || attrs.pad === 'same' || attrs.pad === 0;
  return (
    x.shape.length === 4 &&
    x.dtype === 'float32' &&
    filter.dtype === 'float32' &&
    kH === 1 &&
    kW === 1 &&
    fc === c &&
    m === 1 &&
    isOne(attrs.strides) &&
    padNone &&
    (attrs.dataFormat ?? 'NHWC') === 'NHWC' &&
    (attrs.activation ?? 'linear') === 'linear' &&
    (bias === undefined || (bias.dtype === 'float32' && bias.shape.reduce((p, d) => p * d, 1) === c && bias.shape.length <= 1))
  );
}

function affine(be: BackendWasm, x: TensorInfo, a: TensorInfo, b: TensorInfo | undefined): TensorInfo {
  const c = x.shape[3];
  const rows = x.shape.reduce((p, d) => p * d, 1) / c;
  const out = be.makeOutput(x.shape, 'float32');
  if (rows === 0 || c === 0) return out;
  const m = heapModule(be);
  const zeros = b ? 0 : m._malloc(c * 4) >>> 0;
  try {
    if (!b) heapFloats(be, zeros, c).fill(0);
    const [xp, ap, op] = [x, a, out].map((t) => heapAddress(be, t));
    const bp = b ? heapAddress(be, b) : zeros;
    const pool = c % 4 === 0 ? simdPool(be) : null;
    if (pool) {
      const rb = c * 4;
      const half = Math.ceil(rows / 2);
      pool.split((part, call) => {
        const [from, to] = part === 0 ? [0, half] : [half, rows];
        if (to > from) call('affine', xp + from * rb, ap, bp, op + from * rb, to - from, rb);
      });
    } else {
      const [xv, av, bv, ov] = [heapFloats(be, xp, rows * c), heapFloats(be, ap, c), heapFloats(be, bp, c), heapFloats(be, op, rows * c)];
      for (let i = 0; i < rows * c; i++) ov[i] = xv[i] * av[i % c] + bv[i % c];
    }
  } finally {
    if (!b) m._free(zeros);
  }
  return out;
}

export function pointwiseDepthwiseConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as DepthwiseAttrs;
    return pointwise(x, filter, undefined, attrs) ? affine(args.backend as BackendWasm, x, filter, undefined) : stock.kernelFunc(args);
  };
  return { kernelName: 'DepthwiseConv2dNative', backendName: 'wasm', kernelFunc };
}

export function pointwiseFusedDepthwiseConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x, filter, bias, preluActivationWeights } = args.inputs as {
      x: TensorInfo;
      filter: TensorInfo;
      bias?: TensorInfo;
      preluActivationWeights?: TensorInfo;
    };
    const attrs = args.attrs as unknown as DepthwiseAttrs;
    const ok = preluActivationWeights == null && pointwise(x, filter, bias ?? undefined, attrs);
    return ok ? affine(args.backend as BackendWasm, x, filter, bias ?? undefined) : stock.kernelFunc(args);
  };
  return { kernelName: 'FusedDepthwiseConv2D', backendName: 'wasm', kernelFunc };
}
