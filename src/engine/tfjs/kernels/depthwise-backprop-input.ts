/**
 * DepthwiseConv2dNativeBackpropInput for wasm (the package has none), as a forward depthwise
 * convolution (XNNPACK): the output gradient spread apart with zeros by the stride, convolved
 * at stride 1 with the spatially flipped filter. With a channel multiplier m > 1 the m output
 * channels of each input channel are convolved as separate channels and then summed.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { cropTo } from './conv2d-backprop-input';
import { convGeometry, outputGradientFit, transposedPadding, withCroppedGradient } from './conv-geometry';
import { withScratch } from './kernel-scratch';
import { interleaveZeros } from './zero-interleave';

interface DepthwiseBackpropInputAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

const backpropInput: KernelFunc = (args) => {
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as DepthwiseBackpropInputAttrs;
  const [kH, kW, c, m] = filter.shape;
  const g = convGeometry(attrs.inputShape, [kH, kW, c, m], attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true);
  const geometry = { inShape: attrs.inputShape, filterShape: [kH, kW, c, m], strides: attrs.strides, pad: attrs.pad };
  if (outputGradientFit('DepthwiseConv2dNativeBackpropInput', dy.shape, g, c * m, geometry) === 'crop')
    return withCroppedGradient(args, g, c * m, backpropInput);
  if (g.dilationH !== 1 || g.dilationW !== 1) throw new Error('DepthwiseConv2dNativeBackpropInput on wasm: dilation > 1 is not supported');
  const ph = transposedPadding(g.inH, g.outH, kH, g.strideH, g.padTop);
  const pw = transposedPadding(g.inW, g.outW, kW, g.strideW, g.padLeft);
  if (ph.before < 0 || pw.before < 0) throw new Error('DepthwiseConv2dNativeBackpropInput on wasm: padding larger than the filter is not supported');
  return withScratch(args.backend, (s) => {
    const flipped = kH === 1 && kW === 1 ? filter : s.run('Reverse', { x: filter }, { dims: [0, 1] });
    const [n, oh, ow] = dy.shape;
    // Channel order of dy is c*m + q; convolve the m slices as m*c separate channels.
    const grad = m === 1 ? dy : s.run('Transpose', { x: s.view(dy, [n, oh, ow, c, m]) }, { perm: [0, 1, 2, 4, 3] });
    const kernel = m === 1 ? flipped : s.run('Transpose', { x: flipped }, { perm: [0, 1, 3, 2] });
    const spread = interleaveZeros(s, s.view(grad, [n, oh, ow, m * c]), g.strideH, g.strideW);
    const pad: backend_util.ExplicitPadding = [
      [0, 0],
      [ph.before, Math.max(0, ph.after)],
      [pw.before, Math.max(0, pw.after)],
      [0, 0],
    ];
    const out = s.run('DepthwiseConv2dNative', { x: spread, filter: s.view(kernel, [kH, kW, m * c, 1]) }, { strides: 1, pad, dilations: 1 });
    const cropped = cropTo(s, out, g.inH, g.inW);
    if (m === 1) return cropped;
    return s.run('Sum', { x: s.view(cropped, [n, g.inH, g.inW, m, c]) }, { axis: [3], keepDims: false });
  });
};

export const depthwiseBackpropInputConfig: KernelConfig = { kernelName: 'DepthwiseConv2dNativeBackpropInput', backendName: 'wasm', kernelFunc: backpropInput };
