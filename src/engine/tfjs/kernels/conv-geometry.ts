/**
 * The forward-convolution geometry a gradient kernel starts from, from the attributes the
 * gradient kernels receive (the same ones the forward op had).
 */
import { backend_util } from '@tensorflow/tfjs-core';

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
