/**
 * The native kernels as tfjs kernel configs for the 'wasm' backend. Inputs and outputs stay in
 * the wasm heap: each kernel allocates its output with the backend (`makeOutput`) and passes the
 * heap offsets to the addon, which computes in place (no copies in or out of the heap).
 *
 * Each config keeps the kernel it replaces (`previous`) and hands it what it does not cover
 * (NCHW, non-float32, empty tensors, activations other than linear / relu / relu6, PReLU).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import {
  CHANNEL_AFFINE,
  CHANNEL_AFFINE2,
  CHANNEL_AFFINE2_RELU,
  CHANNEL_AFFINE_RELU,
  CHANNEL_GRAD_SUMS,
  CHANNEL_GRAD_SUMS_RELU,
  CHANNEL_MOMENTS,
} from '../kernels/channel-stats';
import { ADD_RELU } from '../kernels/add-relu';
import { MASKED_GRAD } from '../kernels/activation-grad';
import { SGD_UPDATE } from '../sgd';
import { convGeometry, type ConvGeometry } from '../kernels/conv-geometry';
import { heapAddress, heapBuffer } from '../kernels/simd-loops';
import type { NativeAddon, NativeCall } from './addon';

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;
type Rounding = 'floor' | 'round' | 'ceil' | undefined;
type Shape4 = [number, number, number, number];

interface ConvAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat?: 'NHWC' | 'NCHW' | 'channelsLast' | 'channelsFirst';
  dilations?: number | [number, number];
  dimRoundingMode?: Rounding;
  activation?: string;
  inputShape?: Shape4;
  filterShape?: Shape4;
}

const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2 };

let heapView: Uint8Array | null = null;

/** A byte view of the current heap (a new one after the heap grew). */
function heap(be: BackendWasm): Uint8Array {
  const buffer = heapBuffer(be);
  if (!heapView || heapView.buffer !== buffer) heapView = new Uint8Array(buffer);
  return heapView;
}

const ptr = (be: BackendWasm, t: TensorInfo): number => heapAddress(be, t);
const size = (shape: readonly number[]): number => shape.reduce((p, d) => p * d, 1);
const allFloat = (ts: Array<TensorInfo | undefined>): boolean => ts.every((t) => !t || (t.dtype === 'float32' && size(t.shape) > 0));
const nhwc = (a: ConvAttrs): boolean => a.dataFormat === undefined || a.dataFormat === 'NHWC' || a.dataFormat === 'channelsLast';

function geometryParams(g: ConvGeometry, outC: number, groups: number): number[] {
  return [
    g.batch,
    g.inH,
    g.inW,
    g.inC,
    g.kH,
    g.kW,
    outC,
    g.strideH,
    g.strideW,
    g.padTop,
    g.padLeft,
    g.padBottom,
    g.padRight,
    g.dilationH,
    g.dilationW,
    g.outH,
    g.outW,
    groups,
  ];
}

function call(be: BackendWasm, fn: NativeCall, params: number[]): void {
  fn(heap(be), Float64Array.from(params));
}

/** Wraps `native`, which returns null for what it does not cover; `previous` runs then. */
function withFallback(
  kernelName: string,
  fallback: (name: string) => KernelConfig | undefined,
  native: (be: BackendWasm, inputs: Record<string, TensorInfo | undefined>, attrs: NamedAttrMap) => TensorInfo | TensorInfo[] | null,
): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const out = native(args.backend as BackendWasm, args.inputs as Record<string, TensorInfo | undefined>, args.attrs ?? {});
    if (out) return out;
    const previous = fallback(kernelName);
    if (!previous) throw new Error(`${kernelName}: configuration not supported by the native kernel and no wasm kernel to fall back to`);
    return previous.kernelFunc(args);
  };
  return { kernelName, backendName: 'wasm', kernelFunc };
}

/** Bias of a fused kernel: absent, or one value per output channel. */
function biasOk(bias: TensorInfo | undefined, channels: number): boolean {
  return !bias || size(bias.shape) === channels || size(bias.shape) === 1;
}

export function nativeKernelConfigs(addon: NativeAddon, previous: (name: string) => KernelConfig | undefined): KernelConfig[] {
  const forwardConv = (name: string, depthwise: boolean, fused: boolean): KernelConfig =>
    withFallback(name, previous, (be, inputs, attrsMap) => {
      const { x, filter, bias, preluActivationWeights } = inputs;
      const a = attrsMap as unknown as ConvAttrs;
      const act = ACTIVATIONS[a.activation ?? 'linear'];
      // A rounding mode ('ceil'/'round') gives output sizes libtorch's convolution does not make.
      if (!x || !filter || !nhwc(a) || a.dimRoundingMode || act === undefined || preluActivationWeights || !allFloat([x, filter, bias])) return null;
      const [kH, kW, c, m] = filter.shape as Shape4;
      const outC = depthwise ? c * m : m;
      if (!biasOk(bias, outC) || (bias && size(bias.shape) !== outC)) return null;
      const g = convGeometry(x.shape as Shape4, [kH, kW, c, m], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, depthwise);
      const out = be.makeOutput([g.batch, g.outH, g.outW, outC], 'float32');
      call(be, addon.conv2d, [
        ptr(be, x),
        ptr(be, filter),
        bias && fused ? ptr(be, bias) : 0,
        ptr(be, out),
        act,
        ...geometryParams(g, outC, depthwise ? c : 1),
      ]);
      return out;
    });

  const backpropInput = (name: string, depthwise: boolean): KernelConfig =>
    withFallback(name, previous, (be, inputs, attrsMap) => {
      const { dy, filter } = inputs;
      const a = attrsMap as unknown as ConvAttrs;
      if (!dy || !filter || !a.inputShape || !nhwc(a) || a.dimRoundingMode || !allFloat([dy, filter])) return null;
      const [kH, kW, c, m] = filter.shape as Shape4;
      const outC = depthwise ? c * m : m;
      const g = convGeometry(a.inputShape, [kH, kW, c, m], a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, depthwise);
      if (dy.shape.length !== 4 || dy.shape[0] !== g.batch || dy.shape[1] !== g.outH || dy.shape[2] !== g.outW || dy.shape[3] !== outC) return null;
      const out = be.makeOutput(a.inputShape, 'float32');
      call(be, addon.conv2dBackpropInput, [ptr(be, dy), ptr(be, filter), ptr(be, out), ...geometryParams(g, outC, depthwise ? g.inC : 1)]);
      return out;
    });

  const backpropFilter = (name: string, depthwise: boolean): KernelConfig =>
    withFallback(name, previous, (be, inputs, attrsMap) => {
      const { x, dy } = inputs;
      const a = attrsMap as unknown as ConvAttrs;
      if (!x || !dy || !a.filterShape || !nhwc(a) || a.dimRoundingMode || !allFloat([x, dy])) return null;
      const [kH, kW, c, m] = a.filterShape;
      const outC = depthwise ? c * m : m;
      const g = convGeometry(x.shape as Shape4, a.filterShape, a.strides, a.dilations ?? 1, a.pad, a.dimRoundingMode, depthwise);
      if (dy.shape.length !== 4 || dy.shape[0] !== g.batch || dy.shape[1] !== g.outH || dy.shape[2] !== g.outW || dy.shape[3] !== outC) return null;
      // A strided 1x1 filter's gradient from the native kernel differs from tfjs's now and then
      // (kernels.test.ts, x 2x8x8x4, filter 1x1, stride 2, pad 0: relative error up to 0.65,
      // depending on what the heap held before; not yet understood): the wasm kernel takes it.
      if (kH === 1 && kW === 1 && (g.strideH > 1 || g.strideW > 1)) return null;
      const out = be.makeOutput([kH, kW, c, m], 'float32');
      call(be, addon.conv2dBackpropFilter, [ptr(be, x), ptr(be, dy), ptr(be, out), ...geometryParams(g, outC, depthwise ? c : 1)]);
      return out;
    });

  const matMul = (name: string, fused: boolean): KernelConfig =>
    withFallback(name, previous, (be, inputs, attrsMap) => {
      const { a, b, bias, preluActivationWeights } = inputs;
      const attrs = attrsMap as { transposeA?: boolean; transposeB?: boolean; activation?: string };
      const act = ACTIVATIONS[attrs.activation ?? 'linear'];
      if (!a || !b || act === undefined || preluActivationWeights || !allFloat([a, b, bias]) || a.shape.length < 2 || b.shape.length < 2) return null;
      const ta = attrs.transposeA === true;
      const tb = attrs.transposeB === true;
      const [ra, rb] = [a.shape.length, b.shape.length];
      const m = ta ? a.shape[ra - 1] : a.shape[ra - 2];
      const k = ta ? a.shape[ra - 2] : a.shape[ra - 1];
      const n = tb ? b.shape[rb - 2] : b.shape[rb - 1];
      if ((tb ? b.shape[rb - 1] : b.shape[rb - 2]) !== k) return null;
      const batchA = size(a.shape.slice(0, -2));
      const batchB = size(b.shape.slice(0, -2));
      if (batchA !== batchB && batchA !== 1 && batchB !== 1) return null;
      const outer = batchA >= batchB ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
      if (bias && fused && !(size(bias.shape) === n || size(bias.shape) === 1)) return null;
      const out = be.makeOutput([...outer, m, n], 'float32');
      const biasPtr = bias && fused ? ptr(be, bias) : 0;
      call(be, addon.batchMatMul, [
        ptr(be, a),
        ptr(be, b),
        biasPtr,
        ptr(be, out),
        act,
        batchA,
        batchB,
        m,
        k,
        n,
        ta ? 1 : 0,
        tb ? 1 : 0,
        bias ? size(bias.shape) : 0,
      ]);
      return out;
    });

  // BatchNorm's per-channel passes (kernels/channel-stats.ts has their contracts).
  const channel = (
    name: string,
    f: (be: BackendWasm, inputs: Record<string, TensorInfo | undefined>, attrs: NamedAttrMap) => TensorInfo | TensorInfo[] | null,
  ): KernelConfig => withFallback(name, previous, f);
  const rowsAndChannels = (x: TensorInfo): [number, number] => {
    const c = x.shape[x.shape.length - 1];
    return [size(x.shape) / c, c];
  };

  return [
    forwardConv('Conv2D', false, false),
    forwardConv('FusedConv2D', false, true),
    forwardConv('DepthwiseConv2dNative', true, false),
    forwardConv('FusedDepthwiseConv2D', true, true),
    backpropInput('Conv2DBackpropInput', false),
    backpropFilter('Conv2DBackpropFilter', false),
    backpropInput('DepthwiseConv2dNativeBackpropInput', true),
    backpropFilter('DepthwiseConv2dNativeBackpropFilter', true),
    matMul('BatchMatMul', false),
    matMul('_FusedMatMul', true),
    // Sum over leading axes (e.g. [0, 1, 2] of NHWC: the bias gradient of a fused convolution).
    channel('Sum', (be, { x }, attrs) => {
      const { axis, keepDims } = attrs as { axis: number | number[]; keepDims?: boolean };
      if (!x || !allFloat([x])) return null;
      const rank = x.shape.length;
      const axes = (Array.isArray(axis) ? axis : [axis]).map((d) => (d < 0 ? d + rank : d)).sort((p, q) => p - q);
      if (axes.length === 0 || axes.length >= rank || axes.some((d, i) => d !== i)) return null;
      const kept = x.shape.slice(axes.length);
      const out = be.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
      call(be, addon.leadingSum, [ptr(be, x), ptr(be, out), size(x.shape.slice(0, axes.length)), size(kept)]);
      return out;
    }),
    channel('MaxPoolGrad', (be, { dy, input, output }, attrs) => {
      const a = attrs as { filterSize: number | [number, number]; strides: number | [number, number]; pad: Pad; dimRoundingMode?: Rounding };
      if (!dy || !input || !output || input.shape.length !== 4 || !allFloat([dy, input])) return null;
      const info = backend_util.computePool2DInfo(input.shape as Shape4, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
      if (info.dilationHeight !== 1 || info.dilationWidth !== 1) return null;
      const [n, h, w, c] = input.shape;
      const dx = be.makeOutput(input.shape, 'float32');
      call(be, addon.maxPoolGrad, [
        ptr(be, dy),
        ptr(be, input),
        ptr(be, dx),
        n,
        h,
        w,
        c,
        info.filterHeight,
        info.filterWidth,
        info.strideHeight,
        info.strideWidth,
        info.padInfo.top,
        info.padInfo.left,
        info.outHeight,
        info.outWidth,
      ]);
      return dx;
    }),
    channel(CHANNEL_MOMENTS, (be, { x }) => {
      if (!x || !allFloat([x])) return null;
      const [rows, c] = rowsAndChannels(x);
      const [mean, variance] = [be.makeOutput([c], 'float32'), be.makeOutput([c], 'float32')];
      call(be, addon.channelMoments, [ptr(be, x), ptr(be, mean), ptr(be, variance), rows, c]);
      return [mean, variance];
    }),
    // The two BatchNorm gradient passes; the *Relu names also take the ReLU's output y as a mask.
    ...[CHANNEL_GRAD_SUMS, CHANNEL_GRAD_SUMS_RELU].map((name) =>
      channel(name, (be, { dy, x, mean, y }) => {
        const masked = name === CHANNEL_GRAD_SUMS_RELU;
        if (!dy || !x || !mean || (masked && !y) || !allFloat([dy, x, mean, y])) return null;
        const [rows, c] = rowsAndChannels(x);
        const [sumDy, sumDyXc] = [be.makeOutput([c], 'float32'), be.makeOutput([c], 'float32')];
        call(be, addon.channelGradSums, [ptr(be, dy), ptr(be, x), ptr(be, mean), ptr(be, sumDy), ptr(be, sumDyXc), rows, c, masked && y ? ptr(be, y) : 0]);
        return [sumDy, sumDyXc];
      }),
    ),
    ...(
      [
        [CHANNEL_AFFINE, 0],
        [CHANNEL_AFFINE_RELU, 1],
      ] as const
    ).map(([name, relu]) =>
      channel(name, (be, { x, a, b }) => {
        if (!x || !a || !b || !allFloat([x, a, b])) return null;
        const [rows, c] = rowsAndChannels(x);
        const out = be.makeOutput(x.shape, 'float32');
        call(be, addon.channelAffine, [ptr(be, x), ptr(be, a), ptr(be, b), ptr(be, out), rows, c, relu]);
        return out;
      }),
    ),
    ...[CHANNEL_AFFINE2, CHANNEL_AFFINE2_RELU].map((name) =>
      channel(name, (be, { dy, x, a, k, b, y }) => {
        const masked = name === CHANNEL_AFFINE2_RELU;
        if (!dy || !x || !a || !k || !b || (masked && !y) || !allFloat([dy, x, a, k, b, y])) return null;
        const [rows, c] = rowsAndChannels(x);
        const out = be.makeOutput(x.shape, 'float32');
        call(be, addon.channelAffine2, [ptr(be, dy), ptr(be, x), ptr(be, a), ptr(be, k), ptr(be, b), ptr(be, out), rows, c, masked && y ? ptr(be, y) : 0]);
        return out;
      }),
    ),
    channel(ADD_RELU, (be, { a, b }) => {
      if (!a || !b || !allFloat([a, b]) || size(a.shape) !== size(b.shape)) return null;
      const out = be.makeOutput(a.shape, 'float32');
      call(be, addon.addRelu, [ptr(be, a), ptr(be, b), ptr(be, out), size(a.shape)]);
      return out;
    }),
    // torch.optim.SGD over all parameters in one call (../sgd.ts); outputs alternate w', buf'.
    channel(SGD_UPDATE, (be, inputs, attrs) => {
      const { lr, momentum, weightDecay, count } = attrs as { lr: number; momentum: number; weightDecay: number; count: number };
      const triples = Array.from({ length: count }, (_, i) => [inputs[`p${i}`], inputs[`m${i}`], inputs[`g${i}`]]);
      if (!triples.every((t): t is TensorInfo[] => allFloat(t) && t.every((x) => x !== undefined && size(x.shape) === size(t[0]?.shape ?? [])))) return null;
      const params: number[] = [count, lr, momentum, weightDecay];
      const outs: TensorInfo[] = [];
      for (const [p, m, g] of triples) {
        const [pOut, mOut] = [be.makeOutput(p.shape, 'float32'), be.makeOutput(p.shape, 'float32')];
        outs.push(pOut, mOut);
        params.push(ptr(be, p), ptr(be, m), ptr(be, g), ptr(be, pOut), ptr(be, mOut), size(p.shape));
      }
      call(be, addon.sgdUpdate, params);
      return outs;
    }),
    channel(MASKED_GRAD, (be, { dy, x }, attrs) => {
      if (!dy || !x || !allFloat([dy, x]) || size(dy.shape) !== size(x.shape)) return null;
      const cap = (attrs as { cap: number }).cap;
      const out = be.makeOutput(x.shape, 'float32');
      call(be, addon.maskedGrad, [ptr(be, dy), ptr(be, x), ptr(be, out), size(x.shape), Number.isFinite(cap) ? cap : -1]);
      return out;
    }),
  ];
}
