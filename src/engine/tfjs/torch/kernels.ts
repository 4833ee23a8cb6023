/**
 * The kernels of the torch backend: each tfjs kernel name mapped to one op of the addon's table
 * (native/torch_backend/torch_backend.cc) with its attributes turned into that op's numeric
 * params. Geometry comes from tfjs' own helpers (computeConv2DInfo, computePool2DInfo,
 * parseAxisParam, ...), so pads, output sizes and axes are tfjs' to the letter. A case an op does
 * not cover (NCHW, strings, a rounding mode whose size torch would compute differently) runs the
 * CPU backend's kernel instead (fallback.ts, counted).
 */
import { backend_util, slice_util, util, type KernelConfig, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { TORCH_BACKEND, type TorchBackend } from './backend';
import { runOnCpu } from './fallback';

type Args = { inputs: Record<string, TensorInfo | null | undefined>; attrs: NamedAttrMap; backend: TorchBackend; name: string };
type Impl = (a: Args) => TensorInfo | TensorInfo[];

const UNARY = [
  'Abs',
  'Neg',
  'Exp',
  'Expm1',
  'Log',
  'Log1p',
  'Sqrt',
  'Rsqrt',
  'Square',
  'Reciprocal',
  'Relu',
  'Relu6',
  'Sigmoid',
  'Tanh',
  'Sin',
  'Cos',
  'Tan',
  'Asin',
  'Acos',
  'Atan',
  'Sinh',
  'Cosh',
  'Asinh',
  'Acosh',
  'Atanh',
  'Erf',
  'Floor',
  'Ceil',
  'Round',
  'Sign',
  'IsNan',
  'IsInf',
  'IsFinite',
  'LogicalNot',
  'Elu',
  'Selu',
  'Softplus',
];
const BINARY = [
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  'FloorDiv',
  'Mod',
  'Maximum',
  'Minimum',
  'Pow',
  'Atan2',
  'SquaredDifference',
  'Equal',
  'NotEqual',
  'Less',
  'LessEqual',
  'Greater',
  'GreaterEqual',
  'LogicalAnd',
  'LogicalOr',
  'LogicalXor',
];
const REDUCE = ['Sum', 'Mean', 'Max', 'Min', 'Prod', 'All', 'Any'];
/** tfjs' fused activations as the addon's codes. */
const ACTIVATIONS: Record<string, number> = { linear: 0, relu: 1, relu6: 2, leakyrelu: 3, sigmoid: 4, elu: 5, prelu: 6 };
const DTYPE_CODES: Record<string, number> = { float32: 0, int32: 1, bool: 2 };

/** The inputs of a kernel that takes a list (Concat, Pack, AddN). */
const listOf = (a: Args): TensorInfo[] => (Array.isArray(a.inputs) ? a.inputs : Object.values(a.inputs)).filter((t): t is TensorInfo => t != null);

const fallback = (a: Args): TensorInfo | TensorInfo[] => runOnCpu(a.name, a.inputs, a.attrs, a.backend);

/** Whether all named inputs are libtorch tensors (not strings, not complex). */
function allInTorch(a: Args, tensors: Array<TensorInfo | null | undefined>): boolean {
  return tensors.every((t) => t == null || (t.dtype !== 'string' && t.dtype !== 'complex64' && a.backend.inTorch(t)));
}

const unary: Impl = (a) => (allInTorch(a, [a.inputs.x]) ? a.backend.run1(a.name, [a.inputs.x as TensorInfo]) : fallback(a));
const binary: Impl = (a) => {
  const { a: x, b: y } = a.inputs;
  if (!x || !y || !allInTorch(a, [x, y]) || x.dtype !== y.dtype) return fallback(a);
  return a.backend.run1(a.name, [x, y]);
};
const reduce: Impl = (a) => {
  const x = a.inputs.x as TensorInfo;
  if (!allInTorch(a, [x])) return fallback(a);
  // Max names its axes reductionIndices; the others axis.
  const axes = util.parseAxisParam((a.attrs.axis ?? a.attrs.reductionIndices) as number | number[], x.shape);
  const out = a.backend.run1(a.name, [x], [a.attrs.keepDims ? 1 : 0, ...axes]);
  return out;
};

/**
 * Whether torch's convolution over tfjs' pads gives tfjs' output size (tfjs sizes an explicit
 * numeric pad with the height's stride in both directions, and rounds 'ceil'/'round' its way).
 */
function sameGeometry(info: backend_util.Conv2DInfo): boolean {
  const p = info.padInfo;
  const out = (n: number, k: number, s: number, d: number, pad: number): number => Math.floor((n + pad - d * (k - 1) - 1) / s) + 1;
  return (
    out(info.inHeight, info.filterHeight, info.strideHeight, info.dilationHeight, p.top + p.bottom) === info.outHeight &&
    out(info.inWidth, info.filterWidth, info.strideWidth, info.dilationWidth, p.left + p.right) === info.outWidth
  );
}

function convParams(info: backend_util.Conv2DInfo, depthwise: boolean): number[] {
  const p = info.padInfo;
  return [info.strideHeight, info.strideWidth, p.top, p.bottom, p.left, p.right, info.dilationHeight, info.dilationWidth, depthwise ? 1 : 0];
}

/** Runs `op` and checks the shape tfjs expects (else disposes it and falls back). */
function shaped(a: Args, op: string, inputs: TensorInfo[], params: number[], expected: number[]): TensorInfo | TensorInfo[] {
  const out = a.backend.run1(op, inputs, params);
  if (util.arraysEqual(out.shape, expected)) return out;
  a.backend.disposeIntermediateTensorInfo(out);
  return fallback(a);
}

function convForward(depthwise: boolean, fused: boolean): Impl {
  return (a) => {
    const { x, filter, bias, preluActivationWeights } = a.inputs;
    const at = a.attrs;
    const dataFormat = (at.dataFormat as string | undefined) ?? 'NHWC';
    if (!x || !filter || dataFormat !== 'NHWC' || x.dtype !== 'float32' || !allInTorch(a, [x, filter, bias, preluActivationWeights])) return fallback(a);
    const activation = fused ? ACTIVATIONS[(at.activation as string | undefined) ?? 'linear'] : 0;
    if (activation === undefined) return fallback(a);
    const dilations = (at.dilations as number | [number, number] | undefined) ?? 1;
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filter.shape as [number, number, number, number],
      at.strides as [number, number],
      dilations,
      at.pad as 'same',
      at.dimRoundingMode as 'floor' | undefined,
      depthwise,
    );
    if (!sameGeometry(info)) return fallback(a);
    const inputs = [x, filter];
    if (fused && bias) inputs.push(bias);
    if (activation === 6) {
      if (!preluActivationWeights) return fallback(a);
      inputs.push(preluActivationWeights);
    }
    const params = [...convParams(info, depthwise), fused && bias ? 1 : 0, activation, Number(at.leakyreluAlpha ?? 0)];
    return shaped(a, 'Conv2D', inputs, params, info.outShape);
  };
}

function convBackpropInput(depthwise: boolean): Impl {
  return (a) => {
    const { dy, filter } = a.inputs;
    const at = a.attrs;
    const dataFormat = (at.dataFormat as string | undefined) ?? 'NHWC';
    if (!dy || !filter || dataFormat !== 'NHWC' || !allInTorch(a, [dy, filter])) return fallback(a);
    const inputShape = at.inputShape as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(
      inputShape,
      filter.shape as [number, number, number, number],
      at.strides as [number, number],
      (at.dilations as number | undefined) ?? 1,
      at.pad as 'same',
      at.dimRoundingMode as 'floor' | undefined,
      depthwise,
    );
    if (dy.shape[0] !== inputShape[0] || dy.shape[3] !== info.outChannels || !sameGeometry(info)) return fallback(a);
    const params = [...convParams(info, depthwise), ...inputShape, info.outHeight, info.outWidth];
    return shaped(a, 'Conv2DBackpropInput', [dy, filter], params, inputShape);
  };
}

function convBackpropFilter(depthwise: boolean): Impl {
  return (a) => {
    const { x, dy } = a.inputs;
    const at = a.attrs;
    const dataFormat = (at.dataFormat as string | undefined) ?? 'NHWC';
    if (!x || !dy || dataFormat !== 'NHWC' || !allInTorch(a, [x, dy])) return fallback(a);
    const filterShape = at.filterShape as [number, number, number, number];
    const info = backend_util.computeConv2DInfo(
      x.shape as [number, number, number, number],
      filterShape,
      at.strides as [number, number],
      (at.dilations as number | undefined) ?? 1,
      at.pad as 'same',
      at.dimRoundingMode as 'floor' | undefined,
      depthwise,
    );
    if (dy.shape[0] !== x.shape[0] || dy.shape[3] !== info.outChannels || !sameGeometry(info)) return fallback(a);
    const params = [...convParams(info, depthwise), filterShape[0], filterShape[1], filterShape[2], filterShape[3], info.outHeight, info.outWidth];
    return shaped(a, 'Conv2DBackpropFilter', [x, dy], params, filterShape);
  };
}

function poolInfo(a: Args, x: TensorInfo): backend_util.Conv2DInfo {
  return backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    a.attrs.filterSize as [number, number],
    a.attrs.strides as [number, number],
    1,
    a.attrs.pad as 'same',
    a.attrs.dimRoundingMode as 'floor' | undefined,
  );
}

function poolParams(info: backend_util.Conv2DInfo): number[] {
  const p = info.padInfo;
  return [info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, p.top, p.bottom, p.left, p.right];
}

function pool(op: 'MaxPool' | 'AvgPool'): Impl {
  return (a) => {
    const x = a.inputs.x;
    if (!x || x.dtype !== 'float32' || !allInTorch(a, [x])) return fallback(a);
    const info = poolInfo(a, x);
    if (!sameGeometry(info)) return fallback(a);
    // A window that sees no input (pads as large as the filter) has no tfjs-compatible value here.
    if (Math.max(info.padInfo.top, info.padInfo.bottom) >= info.filterHeight || Math.max(info.padInfo.left, info.padInfo.right) >= info.filterWidth)
      return fallback(a);
    return shaped(a, op, [x], poolParams(info), info.outShape);
  };
}

function poolGrad(op: 'MaxPoolGrad' | 'AvgPoolGrad'): Impl {
  return (a) => {
    const { dy, input } = a.inputs;
    if (!dy || !input || !allInTorch(a, [dy, input])) return fallback(a);
    const info = poolInfo(a, input);
    if (!util.arraysEqual(dy.shape, info.outShape) || !sameGeometry(info)) return fallback(a);
    if (Math.max(info.padInfo.top, info.padInfo.bottom) >= info.filterHeight || Math.max(info.padInfo.left, info.padInfo.right) >= info.filterWidth)
      return fallback(a);
    return shaped(a, op, [dy, input], poolParams(info), input.shape);
  };
}

const matMul =
  (fused: boolean): Impl =>
  (a) => {
    const { a: x, b: y, bias, preluActivationWeights } = a.inputs;
    // Rank < 2: the CPU kernel throws tfjs' error.
    if (
      !x ||
      !y ||
      x.dtype !== 'float32' ||
      y.dtype !== 'float32' ||
      x.shape.length < 2 ||
      y.shape.length < 2 ||
      !allInTorch(a, [x, y, bias, preluActivationWeights])
    )
      return fallback(a);
    const activation = fused ? ACTIVATIONS[(a.attrs.activation as string | undefined) ?? 'linear'] : 0;
    if (activation === undefined || (activation === 6 && !preluActivationWeights)) return fallback(a);
    const inputs = [x, y];
    if (fused && bias) inputs.push(bias);
    if (activation === 6) inputs.push(preluActivationWeights as TensorInfo);
    const params = [a.attrs.transposeA ? 1 : 0, a.attrs.transposeB ? 1 : 0, fused && bias ? 1 : 0, activation, Number(a.attrs.leakyreluAlpha ?? 0)];
    return a.backend.run1('BatchMatMul', inputs, params);
  };

/** Kernels with a single tensor input `x` and a few attributes as params. */
function withX(op: string, params: (a: Args, x: TensorInfo) => number[] | null): Impl {
  return (a) => {
    const x = a.inputs.x;
    if (!x || !allInTorch(a, [x])) return fallback(a);
    const p = params(a, x);
    return p ? a.backend.run1(op, [x], p) : fallback(a);
  };
}

const IMPLS: Record<string, Impl> = {
  ...Object.fromEntries(UNARY.map((n) => [n, unary])),
  ...Object.fromEntries(BINARY.map((n) => [n, binary])),
  ...Object.fromEntries(REDUCE.map((n) => [n, reduce])),
  // libtorch has no argmax over bool.
  ArgMax: (a) => (a.inputs.x?.dtype === 'bool' ? fallback(a) : reduce({ ...a, attrs: { ...a.attrs, keepDims: false } })),
  ArgMin: (a) => (a.inputs.x?.dtype === 'bool' ? fallback(a) : reduce({ ...a, attrs: { ...a.attrs, keepDims: false } })),
  Step: (a) => (allInTorch(a, [a.inputs.x]) ? a.backend.run1('Step', [a.inputs.x as TensorInfo], [Number(a.attrs.alpha ?? 0)]) : fallback(a)),
  LeakyRelu: (a) => (allInTorch(a, [a.inputs.x]) ? a.backend.run1('LeakyRelu', [a.inputs.x as TensorInfo], [Number(a.attrs.alpha)]) : fallback(a)),
  // int32 stays int32 in tfjs (libtorch would promote it to float with float bounds).
  ClipByValue: (a) =>
    a.inputs.x?.dtype === 'float32' && allInTorch(a, [a.inputs.x])
      ? a.backend.run1('ClipByValue', [a.inputs.x as TensorInfo], [Number(a.attrs.clipValueMin), Number(a.attrs.clipValueMax)])
      : fallback(a),
  Conv2D: convForward(false, false),
  FusedConv2D: convForward(false, true),
  DepthwiseConv2dNative: convForward(true, false),
  FusedDepthwiseConv2D: convForward(true, true),
  Conv2DBackpropInput: convBackpropInput(false),
  Conv2DBackpropFilter: convBackpropFilter(false),
  DepthwiseConv2dNativeBackpropInput: convBackpropInput(true),
  DepthwiseConv2dNativeBackpropFilter: convBackpropFilter(true),
  MaxPool: pool('MaxPool'),
  AvgPool: pool('AvgPool'),
  MaxPoolGrad: poolGrad('MaxPoolGrad'),
  AvgPoolGrad: poolGrad('AvgPoolGrad'),
  BatchMatMul: matMul(false),
  _FusedMatMul: matMul(true),
  Softmax: (a) => {
    const x = a.inputs.logits;
    if (!x || !allInTorch(a, [x])) return fallback(a);
    return a.backend.run1('Softmax', [x], [Number(a.attrs.dim ?? -1)]);
  },
  FusedBatchNorm: (a) => {
    const { x, mean, variance, offset, scale } = a.inputs;
    if (!x || !mean || !variance || !allInTorch(a, [x, mean, variance, offset, scale])) return fallback(a);
    const inputs = [x, mean, variance, ...(offset ? [offset] : []), ...(scale ? [scale] : [])];
    return a.backend.run1('FusedBatchNorm', inputs, [Number(a.attrs.varianceEpsilon ?? 0.001), offset ? 1 : 0, scale ? 1 : 0]);
  },
  Reshape: withX('Reshape', (a, x) => util.inferFromImplicitShape(a.attrs.shape as number[], util.sizeFromShape(x.shape))),
  ExpandDims: withX('Reshape', (a, x) => {
    const shape = x.shape.slice();
    let axis = a.attrs.dim as number;
    if (axis < 0) axis = shape.length + axis + 1;
    shape.splice(axis, 0, 1);
    return shape;
  }),
  Identity: withX('Identity', () => []),
  Cast: withX('Cast', (a) => ((a.attrs.dtype as string) in DTYPE_CODES ? [DTYPE_CODES[a.attrs.dtype as string]] : null)),
  Transpose: withX('Transpose', (a) => a.attrs.perm as number[]),
  Slice: withX('Slice', (a, x) => {
    const [begin, size] = slice_util.parseSliceParams(x, a.attrs.begin as number[], a.attrs.size as number[]);
    return [...begin, ...size];
  }),
  Tile: withX('Tile', (a) => a.attrs.reps as number[]),
  Reverse: withX('Reverse', (a, x) => util.parseAxisParam(a.attrs.dims as number[], x.shape)),
  PadV2: withX('PadV2', (a) => [Number(a.attrs.constantValue ?? 0), ...(a.attrs.paddings as Array<[number, number]>).flat()]),
  ZerosLike: withX('ZerosLike', () => []),
  OnesLike: withX('OnesLike', () => []),
  Unpack: (a) => {
    const x = a.inputs.value;
    if (!x || !allInTorch(a, [x])) return fallback(a);
    return a.backend.run('Unpack', [x], [Number(a.attrs.axis ?? 0)]);
  },
  SplitV: (a) => {
    const x = a.inputs.x;
    if (!x || !allInTorch(a, [x])) return fallback(a);
    const axis = util.parseAxisParam(a.attrs.axis as number, x.shape)[0];
    const sizes = backend_util.prepareSplitSize(x as never, a.attrs.numOrSizeSplits as number[], axis);
    return a.backend.run('SplitV', [x], [axis, ...sizes]);
  },
  Concat: (a) => {
    const list = listOf(a);
    const axis = util.parseAxisParam(a.attrs.axis as number, list[0].shape)[0];
    const nonEmpty = list.filter((t) => util.sizeFromShape(t.shape) > 0);
    // Shapes that disagree off the axis (empty tensors included): the CPU kernel throws tfjs' error.
    const fits = list.every((t) => t.shape.length === list[0].shape.length && t.shape.every((d, i) => i === axis || d === list[0].shape[i]));
    if (!fits || nonEmpty.length === 0 || !allInTorch(a, nonEmpty) || new Set(nonEmpty.map((t) => t.dtype)).size > 1) return fallback(a);
    return a.backend.run1('Concat', nonEmpty, [axis]);
  },
  Pack: (a) => {
    const list = listOf(a);
    if (list.length === 0 || !allInTorch(a, list) || new Set(list.map((t) => t.dtype)).size > 1) return fallback(a);
    return a.backend.run1('Pack', list, [Number(a.attrs.axis ?? 0)]);
  },
  AddN: (a) => {
    const list = listOf(a);
    if (list.length === 0 || !allInTorch(a, list)) return fallback(a);
    return a.backend.run1('AddN', list);
  },
  GatherV2: (a) => {
    const { x, indices } = a.inputs;
    if (!x || !indices || Number(a.attrs.batchDims ?? 0) !== 0 || !allInTorch(a, [x, indices])) return fallback(a);
    return a.backend.run1('GatherV2', [x, indices], [util.parseAxisParam(a.attrs.axis as number, x.shape)[0]]);
  },
  Select: (a) => {
    const { condition, t, e } = a.inputs;
    if (!condition || !t || !e || !allInTorch(a, [condition, t, e])) return fallback(a);
    return a.backend.run1('Select', [condition, t, e]);
  },
  Fill: (a) => {
    const dtype = (a.attrs.dtype as string | undefined) ?? 'float32';
    if (!(dtype in DTYPE_CODES) || typeof a.attrs.value !== 'number') return fallback(a);
    return a.backend.run1('Fill', [], [DTYPE_CODES[dtype], a.attrs.value, ...(a.attrs.shape as number[])]);
  },
  OneHot: (a) => {
    const x = a.inputs.indices;
    const dtype = (a.attrs.dtype as string | undefined) ?? 'int32';
    if (!x || !(dtype in DTYPE_CODES) || !allInTorch(a, [x])) return fallback(a);
    return a.backend.run1('OneHot', [x], [Number(a.attrs.depth), Number(a.attrs.onValue ?? 1), Number(a.attrs.offValue ?? 0), DTYPE_CODES[dtype]]);
  },
  // The project's own training kernels (src/engine/tfjs/kernels/, sgd.ts): same contracts.
  RegbenchMaskedGrad: (a) => named(a, ['dy', 'x'], [Number((a.attrs as { cap?: number }).cap ?? Infinity)]),
  RegbenchAddRelu: (a) => named(a, ['a', 'b']),
  RegbenchChannelMoments: (a) => named(a, ['x']),
  RegbenchChannelGradSums: (a) => named(a, ['dy', 'x', 'mean']),
  RegbenchChannelGradSumsRelu: (a) => named(a, ['dy', 'x', 'mean', 'y']),
  RegbenchChannelAffine: (a) => named(a, ['x', 'a', 'b']),
  RegbenchChannelAffineRelu: (a) => named(a, ['x', 'a', 'b']),
  RegbenchChannelAffine2: (a) => named(a, ['dy', 'x', 'a', 'k', 'b']),
  RegbenchChannelAffine2Relu: (a) => named(a, ['dy', 'x', 'a', 'k', 'b', 'y']),
  RegbenchSgdUpdate: (a) => {
    const count = Number(a.attrs.count);
    const inputs: TensorInfo[] = [];
    for (let i = 0; i < count; i++) inputs.push(a.inputs[`p${i}`] as TensorInfo, a.inputs[`m${i}`] as TensorInfo, a.inputs[`g${i}`] as TensorInfo);
    if (inputs.some((t) => !t)) throw new Error('RegbenchSgdUpdate: a parameter, momentum or gradient is missing');
    return a.backend.run('RegbenchSgdUpdate', inputs, [Number(a.attrs.lr), Number(a.attrs.momentum), Number(a.attrs.weightDecay)]);
  },
};

/** A project kernel whose named inputs go to the addon op of the same name, in this order. */
function named(a: Args, names: string[], params: number[] = []): TensorInfo | TensorInfo[] {
  const inputs = names.map((n) => a.inputs[n]);
  if (inputs.some((t) => !t)) throw new Error(`${a.name}: input ${names[inputs.findIndex((t) => !t)]} is missing`);
  const out = a.backend.run(a.name, inputs as TensorInfo[], params);
  return out.length === 1 ? out[0] : out;
}

/** The names of the kernels the torch backend runs in libtorch. */
export function torchKernelNames(available: Set<string>): Set<string> {
  // Every op name the kernels above call must be in the addon's table.
  return new Set(Object.keys(IMPLS).filter((n) => available.has(opOf(n))));
}

/** The addon op a tfjs kernel runs. */
function opOf(kernel: string): string {
  const alias: Record<string, string> = {
    FusedConv2D: 'Conv2D',
    DepthwiseConv2dNative: 'Conv2D',
    FusedDepthwiseConv2D: 'Conv2D',
    DepthwiseConv2dNativeBackpropInput: 'Conv2DBackpropInput',
    DepthwiseConv2dNativeBackpropFilter: 'Conv2DBackpropFilter',
    _FusedMatMul: 'BatchMatMul',
    ExpandDims: 'Reshape',
  };
  return alias[kernel] ?? kernel;
}

export function torchKernelConfigs(names: Set<string>): KernelConfig[] {
  return [...names].map((name) => ({
    kernelName: name,
    backendName: TORCH_BACKEND,
    kernelFunc: ({ inputs, attrs, backend }) => IMPLS[name]({ inputs: inputs as Args['inputs'], attrs: attrs ?? {}, backend: backend as TorchBackend, name }),
  }));
}
