/**
 * Conv2DBackpropInput on wasm as a forward convolution (XNNPACK) instead of the stock naive loop:
 * the input gradient is the output gradient, spread apart with zeros by the stride, convolved
 * (stride 1) with the filter flipped in space and with in/out channels swapped. A 1x1 filter
 * skips the flip and convolves before spreading, which saves the zero multiplications.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { convGeometry, outputGradientFit, transposedPadding, withCroppedGradient } from './conv-geometry';
import { withScratch, type KernelScratch } from './kernel-scratch';
import { interleaveZeros } from './zero-interleave';

interface BackpropInputAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** The kernel; `fallback` (the stock kernel) handles what this one does not (NCHW, odd pads). */
export function conv2dBackpropInputConfig(fallback: KernelConfig | undefined): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
    const attrs = args.attrs as unknown as BackpropInputAttrs;
    const filterShape = filter.shape as [number, number, number, number];
    const g = convGeometry(attrs.inputShape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false);
    if ((attrs.dataFormat ?? 'NHWC') === 'NHWC') {
      const geometry = { inShape: attrs.inputShape, filterShape, strides: attrs.strides, pad: attrs.pad };
      if (outputGradientFit('Conv2DBackpropInput', dy.shape, g, filterShape[3], geometry) === 'crop')
        return withCroppedGradient(args, g, filterShape[3], kernelFunc);
    }
    const ph = transposedPadding(g.inH, g.outH, g.kH, g.strideH, g.padTop);
    const pw = transposedPadding(g.inW, g.outW, g.kW, g.strideW, g.padLeft);
    if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC' || ph.before < 0 || pw.before < 0) {
      if (!fallback) throw new Error('Conv2DBackpropInput: unsupported configuration and no stock kernel');
      return fallback.kernelFunc(args);
    }
    return withScratch(args.backend, (s) => {
      const swapped = s.run('Transpose', { x: filter }, { perm: [0, 1, 3, 2] });
      if (g.kH === 1 && g.kW === 1) {
        const mixed = s.run('Conv2D', { x: dy, filter: swapped }, { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 });
        return cropTo(s, interleaveZeros(s, mixed, g.strideH, g.strideW), g.inH, g.inW);
      }
      const kernel = s.run('Reverse', { x: swapped }, { dims: [0, 1] });
      const spread = interleaveZeros(s, dy, g.strideH, g.strideW);
      const pad: backend_util.ExplicitPadding = [
        [0, 0],
        [ph.before, Math.max(0, ph.after)],
        [pw.before, Math.max(0, pw.after)],
        [0, 0],
      ];
      const out = s.run('Conv2D', { x: spread, filter: kernel }, { strides: 1, pad, dataFormat: 'NHWC', dilations: 1 });
      return cropTo(s, out, g.inH, g.inW);
    });
  };
  return { kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc };
}

/** Keeps the first h rows and w columns (drops surplus trailing positions). */
export function cropTo(s: KernelScratch, x: TensorInfo, h: number, w: number): TensorInfo {
  const [n, xh, xw, c] = x.shape;
  if (xh === h && xw === w) return x;
  return s.run('Slice', { x }, { begin: [0, 0, 0, 0], size: [n, h, w, c] });
}
