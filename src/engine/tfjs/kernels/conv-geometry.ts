/**
 * The forward-convolution geometry a gradient kernel starts from, from the attributes the
 * gradient kernels receive (the same ones the forward op had).
 */
import { backend_util, getKernel, type KernelBackend, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';

export interface ConvGeometry {
  batch: number;
  inH: number;
  inW: number;
  inC: number;
  outH: number;
  outW: number;
  kH: number;
  kW: number;
  strideH: number;
  strideW: number;
  dilationH: number;
  dilationW: number;
  padTop: number;
  padLeft: number;
  padBottom: number;
  padRight: number;
}

export function convGeometry(
  inShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  dilations: number | [number, number],
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding,
  dimRoundingMode: 'floor' | 'round' | 'ceil' | undefined,
  depthwise: boolean,
): ConvGeometry {
  const info = backend_util.computeConv2DInfo(inShape, filterShape, strides, dilations, pad, dimRoundingMode, depthwise);
  return {
    batch: info.batchSize,
    inH: info.inHeight,
    inW: info.inWidth,
    inC: info.inChannels,
    outH: info.outHeight,
    outW: info.outWidth,
    kH: info.filterHeight,
    kW: info.filterWidth,
    strideH: info.strideHeight,
    strideW: info.strideWidth,
    dilationH: info.dilationHeight,
    dilationW: info.dilationWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
    padBottom: info.padInfo.bottom,
    padRight: info.padInfo.right,
  };
}

/**
 * Padding of the stride-1 convolution that maps the zero-interleaved output gradient
 * (`outLen * stride` long) back to the input length: `before = k-1-pad`, and `after` may be
 * negative, meaning the result has `-after` surplus trailing positions to cut off.
 */
export function transposedPadding(inLen: number, outLen: number, k: number, stride: number, padBefore: number): { before: number; after: number } {
  const before = k - 1 - padBefore;
  const after = inLen + k - 1 - outLen * stride - before;
  return { before, after };
}

/**
 * Padding after the input so that the dilated output gradient slides exactly k positions;
 * negative means the trailing rows of the input are never read (they are cut off first).
 */
export function trailingPad(inLen: number, outLen: number, k: number, stride: number, padBefore: number): number {
  return k + (outLen - 1) * stride - inLen - padBefore;
}

type Pad = 'same' | 'valid' | number | backend_util.ExplicitPadding;

/**
 * How a gradient kernel takes its output gradient `dy`: 'exact' when its shape is the forward
 * output `[batch, outH, outW, outC]` the attributes imply; 'crop' when it is larger in height or
 * width: tfjs' cpu kernels then read only its first outH x outW positions, and tfjs-core relies
 * on that twice (its Conv2D gradient drops the forward op's dimRoundingMode, so a 'ceil' or
 * 'round' convolution's dy is larger than the floor geometry; its own conv2dTranspose spec "8x8
 * input, 4x4 output" passes an 8x8 dy for a 4x4 output and expects exactly that), so these
 * kernels do the same. Anything else throws (dy smaller than the output, or another batch or
 * channel count): the kernels index dy by the implied geometry and would read foreign memory.
 */
export function outputGradientFit(
  kernel: string,
  dyShape: readonly number[],
  g: ConvGeometry,
  outC: number,
  geometry: { inShape: readonly number[]; filterShape: readonly number[]; strides: number | [number, number]; pad: Pad },
): 'exact' | 'crop' {
  if (dyShape.length !== 4) throw new Error(`${kernel}: dy must be rank 4, but got shape [${dyShape.join(',')}]`);
  const [n, h, w, c] = dyShape;
  if (n === g.batch && c === outC && h === g.outH && w === g.outW) return 'exact';
  if (n === g.batch && c === outC && h >= g.outH && w >= g.outW) return 'crop';
  throw new Error(
    `${kernel}: dy has shape [${dyShape.join(',')}], but a convolution of an input [${geometry.inShape.join(',')}] with a filter [${geometry.filterShape.join(',')}], strides ${String(geometry.strides)} and pad ${JSON.stringify(geometry.pad)} gives [${[g.batch, g.outH, g.outW, outC].join(',')}]`,
  );
}

/**
 * Runs `kernel` again with dy cut to its first `[batch, outH, outW, outC]` positions (the 'crop'
 * case of outputGradientFit); the cut copy is freed afterwards.
 */
export function withCroppedGradient(args: Parameters<KernelFunc>[0], g: ConvGeometry, outC: number, kernel: KernelFunc): TensorInfo {
  const slice = getKernel('Slice', 'wasm');
  if (!slice) throw new Error('Slice kernel missing on wasm');
  const { dy } = args.inputs as { dy: TensorInfo };
  const backend = args.backend as KernelBackend;
  const cut = slice.kernelFunc({ inputs: { x: dy }, backend, attrs: { begin: [0, 0, 0, 0], size: [g.batch, g.outH, g.outW, outC] } }) as TensorInfo;
  try {
    return kernel({ ...args, inputs: { ...args.inputs, dy: cut } }) as TensorInfo;
  } finally {
    backend.disposeData(cut.dataId);
  }
}
