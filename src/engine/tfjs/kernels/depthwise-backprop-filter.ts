/**
 * DepthwiseConv2dNativeBackpropFilter for wasm (the package has none), as one forward depthwise
 * convolution: the input laid out as one image with N*C channels `[1, H, W, N*C]`, convolved with
 * the output gradient as an `[outH, outW]` filter per (sample, channel), dilated by the stride,
 * gives `[kH, kW, N*C]`; summing over the samples leaves `[kH, kW, C]`.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { convGeometry, trailingPad } from './conv-geometry';
import { withScratch, type KernelScratch } from './kernel-scratch';

interface DepthwiseBackpropFilterAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ((args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as DepthwiseBackpropFilterAttrs;
    const [kH, kW, c, m] = attrs.filterShape;
    const g = convGeometry(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true);
    if (g.dilationH !== 1 || g.dilationW !== 1) throw new Error('DepthwiseConv2dNativeBackpropFilter on wasm: dilation > 1 is not supported');
    const bottom = trailingPad(g.inH, g.outH, kH, g.strideH, g.padTop);
    const right = trailingPad(g.inW, g.outW, kW, g.strideW, g.padLeft);
    return withScratch(args.backend, (s) => {
      const [n, h, w] = x.shape;
      let input = x;
      if (bottom < 0 || right < 0) {
        input = s.run('Slice', { x }, { begin: [0, 0, 0, 0], size: [n, h + Math.min(0, bottom), w + Math.min(0, right), c] });
      }
      const [, ih, iw] = input.shape;
      const xT = s.run('Transpose', { x: input }, { perm: [1, 2, 0, 3] });
      const pad: backend_util.ExplicitPadding = [[0, 0], [g.padTop, Math.max(0, bottom)], [g.padLeft, Math.max(0, right)], [0, 0]];
      const perMultiplier: TensorInfo[] = [];
      for (let q = 0; q < m; q++) {
        const dyQ = m === 1 ? dy : channelSlice(s, dy, c, m, q);
        const dyT = s.run('Transpose', { x: dyQ }, { perm: [1, 2, 0, 3] });
        const perSample = s.run('DepthwiseConv2dNative', { x: s.view(xT, [1, ih, iw, n * c]), filter: s.view(dyT, [g.outH, g.outW, n * c, 1]) }, { strides: 1, pad, dilations: [g.strideH, g.strideW] });
        perMultiplier.push(s.run('Sum', { x: s.view(perSample, [kH, kW, n, c]) }, { axis: [2], keepDims: false }));
      }
      if (m === 1) return s.view(perMultiplier[0], [kH, kW, c, 1]);
      return s.run('Pack', perMultiplier, { axis: 3 });
    });
  }) as KernelFunc,
};

/** Output channels c*m + q for every c: `[N, H, W, C]`. */
function channelSlice(s: KernelScratch, dy: TensorInfo, c: number, m: number, q: number): TensorInfo {
  const [n, h, w] = dy.shape;
  return s.view(s.run('Slice', { x: s.view(dy, [n, h, w, c, m]) }, { begin: [0, 0, 0, 0, q], size: [n, h, w, c, 1] }), [n, h, w, c]);
}
