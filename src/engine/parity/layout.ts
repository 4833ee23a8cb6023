/**
 * The one place where tensors change layout between the engines: PyTorch keeps activations NCHW
 * and conv weights OIHW, TensorFlow.js keeps activations NHWC and conv weights HWIO. Names are
 * identical in both (docs/architectures.md); only the order of the values differs.
 *
 * | kind        | PyTorch                  | TensorFlow.js            | PyTorch -> TF.js | TF.js -> PyTorch |
 * |-------------|--------------------------|--------------------------|------------------|------------------|
 * | activations | NCHW `[B, C, H, W]`      | NHWC `[B, H, W, C]`      | (0, 2, 3, 1)     | (0, 3, 1, 2)     |
 * | conv        | OIHW `[out, in, kh, kw]` | HWIO `[kh, kw, in, out]` | (2, 3, 1, 0)     | (3, 2, 0, 1)     |
 * | depthwise   | `[C, 1, kh, kw]`         | `[kh, kw, C, 1]`         | (2, 3, 0, 1)     | (2, 3, 0, 1)     |
 * | linear      | `[out, in]`              | `[in, out]`              | (1, 0)           | (1, 0)           |
 * | vector      | `[C]` (biases, norms)    | `[C]`                    | as is            | as is            |
 *
 * A permutation `p` reads like torch's `x.permute(*p)`: output axis i is input axis p[i].
 * Which kind a weight is comes from the module that owns it (a Conv2d with groups = channels is
 * depthwise), not from its shape: a conv with one input channel and a depthwise conv have the
 * same PyTorch shape.
 */

export type TensorKind = 'activations' | 'conv' | 'depthwise' | 'linear' | 'vector';

export const TENSOR_KINDS: readonly TensorKind[] = ['activations', 'conv', 'depthwise', 'linear', 'vector'];

/** Values with their shape, row-major (the last axis varies fastest), float32. */
export interface HostTensor {
  data: Float32Array;
  shape: number[];
}

const TO_TFJS: Record<TensorKind, readonly number[] | null> = {
  activations: [0, 2, 3, 1],
  conv: [2, 3, 1, 0],
  depthwise: [2, 3, 0, 1],
  linear: [1, 0],
  vector: null,
};

const TO_TORCH: Record<TensorKind, readonly number[] | null> = {
  activations: [0, 3, 1, 2],
  conv: [3, 2, 0, 1],
  depthwise: [2, 3, 0, 1],
  linear: [1, 0],
  vector: null,
};

/** The PyTorch-layout tensor of `kind` in TensorFlow.js layout. */
export function torchToTfjs(kind: TensorKind, t: HostTensor): HostTensor {
  checkKind(kind, t, 'PyTorch');
  if (kind === 'depthwise' && t.shape[1] !== 1) throw new Error(`a depthwise conv weight in PyTorch layout is [C, 1, kh, kw], got [${t.shape.join(', ')}]`);
  return applyPermutation(t, TO_TFJS[kind]);
}

/** The TensorFlow.js-layout tensor of `kind` in PyTorch layout. */
export function tfjsToTorch(kind: TensorKind, t: HostTensor): HostTensor {
  checkKind(kind, t, 'TensorFlow.js');
  if (kind === 'depthwise' && t.shape[3] !== 1)
    throw new Error(`a depthwise conv weight in TensorFlow.js layout is [kh, kw, C, 1], got [${t.shape.join(', ')}]`);
  return applyPermutation(t, TO_TORCH[kind]);
}

/** The shape a PyTorch-layout tensor of `kind` has in TensorFlow.js (no values moved). */
export function tfjsShapeOf(kind: TensorKind, torchShape: readonly number[]): number[] {
  const perm = TO_TFJS[kind];
  return perm ? perm.map((axis) => torchShape[axis]) : [...torchShape];
}

const RANKS: Record<TensorKind, number | null> = { activations: 4, conv: 4, depthwise: 4, linear: 2, vector: null };

function checkKind(kind: TensorKind, t: HostTensor, layout: string): void {
  if (!TENSOR_KINDS.includes(kind)) throw new Error(`unknown tensor kind '${String(kind)}'`);
  const rank = RANKS[kind];
  if (rank !== null && t.shape.length !== rank) throw new Error(`a ${kind} tensor in ${layout} layout has rank ${rank}, got shape [${t.shape.join(', ')}]`);
  const size = t.shape.reduce((a, b) => a * b, 1);
  if (size !== t.data.length) throw new Error(`shape [${t.shape.join(', ')}] holds ${size} values, got ${t.data.length}`);
}

/** `x.permute(*perm).contiguous()` for a row-major float32 tensor; `null` copies as is. */
export function applyPermutation(t: HostTensor, perm: readonly number[] | null): HostTensor {
  if (perm === null) return { data: t.data.slice(), shape: [...t.shape] };
  const rank = t.shape.length;
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((axis, i) => axis !== i)) {
    throw new Error(`(${perm.join(', ')}) is not a permutation of the ${rank} axes of [${t.shape.join(', ')}]`);
  }
  const outShape = perm.map((axis) => t.shape[axis]);
  // Strides of the input, reordered to follow the output's axes: walking the output in row-major
  // order, each output index advances the input position by inStrides[perm[i]].
  const inStrides = new Array<number>(rank);
  let stride = 1;
  for (let axis = rank - 1; axis >= 0; axis--) {
    inStrides[axis] = stride;
    stride *= t.shape[axis];
  }
  const walk = perm.map((axis) => inStrides[axis]);
  const out = new Float32Array(t.data.length);
  const index = new Array<number>(rank).fill(0);
  let src = 0;
  for (let dst = 0; dst < out.length; dst++) {
    out[dst] = t.data[src];
    // Odometer increment over the output's axes, last axis fastest.
    for (let i = rank - 1; i >= 0; i--) {
      index[i]++;
      src += walk[i];
      if (index[i] < outShape[i]) break;
      src -= walk[i] * outShape[i];
      index[i] = 0;
    }
  }
  return { data: out, shape: outShape };
}
