/**
 * DepthwiseConv2dNativeBackpropFilter for wasm (the package has none).
 *
 * Channel multiplier 1 and C % 4 == 0 (every depthwise layer of MobileNetV2): a direct SIMD loop
 * over the output rows, accumulating x * dy for each filter tap, four channels per vector; the
 * taps of one filter row share each dy load. Float32 sums over chunks of samples, float64
 * across chunks; the chunks are split between two threads (simd-pool.ts). 8-10x faster than the convolution formulation below for MobileNetV2's layers.
 *
 * Otherwise, one forward depthwise convolution: the input laid out as one image with N*C
 * channels `[1, H, W, N*C]`, convolved with the output gradient as an `[outH, outW]` filter per
 * (sample, channel), dilated by the stride, gives `[kH, kW, N*C]`; summing over the samples
 * leaves `[kH, kW, C]`.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { convGeometry, outputGradientFit, trailingPad, withCroppedGradient, type ConvGeometry } from './conv-geometry';
import { withScratch, type KernelScratch } from './kernel-scratch';
import { sampleChunkedGradient, tapColumns } from './filter-gradient-rows';
import { FUSED_TAP_WIDTHS, heapAddress } from './simd-loops';
import { simdPool, type LoopName, type SimdPool } from './simd-pool';

interface DepthwiseBackpropFilterAttrs {
  strides: number | [number, number];
  dilations?: number | [number, number];
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

const backpropFilter: KernelFunc = (args) => {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as DepthwiseBackpropFilterAttrs;
  const [kH, kW, c, m] = attrs.filterShape;
  const inShape = x.shape as [number, number, number, number];
  if (inShape[3] !== c)
    throw new Error(`DepthwiseConv2dNativeBackpropFilter: input has ${inShape[3]} channels, the filter [${attrs.filterShape.join(',')}] ${c}`);
  const g = convGeometry(inShape, attrs.filterShape, attrs.strides, attrs.dilations ?? 1, attrs.pad, attrs.dimRoundingMode, true);
  const geometry = { inShape, filterShape: attrs.filterShape, strides: attrs.strides, pad: attrs.pad };
  if (outputGradientFit('DepthwiseConv2dNativeBackpropFilter', dy.shape, g, c * m, geometry) === 'crop')
    return withCroppedGradient(args, g, c * m, backpropFilter);
  if (g.dilationH !== 1 || g.dilationW !== 1) throw new Error('DepthwiseConv2dNativeBackpropFilter on wasm: dilation > 1 is not supported');
  const pool = m === 1 && c % 4 === 0 && x.dtype === 'float32' ? simdPool(args.backend as BackendWasm) : null;
  if (pool) return directFilterGradient(args.backend as BackendWasm, pool, x, dy, g);
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
    const pad: backend_util.ExplicitPadding = [
      [0, 0],
      [g.padTop, Math.max(0, bottom)],
      [g.padLeft, Math.max(0, right)],
      [0, 0],
    ];
    const perMultiplier: TensorInfo[] = [];
    for (let q = 0; q < m; q++) {
      const dyQ = m === 1 ? dy : channelSlice(s, dy, c, m, q);
      const dyT = s.run('Transpose', { x: dyQ }, { perm: [1, 2, 0, 3] });
      const perSample = s.run(
        'DepthwiseConv2dNative',
        { x: s.view(xT, [1, ih, iw, n * c]), filter: s.view(dyT, [g.outH, g.outW, n * c, 1]) },
        { strides: 1, pad, dilations: [g.strideH, g.strideW] },
      );
      perMultiplier.push(s.run('Sum', { x: s.view(perSample, [kH, kW, n, c]) }, { axis: [2], keepDims: false }));
    }
    if (m === 1) return s.view(perMultiplier[0], [kH, kW, c, 1]);
    return s.run('Pack', perMultiplier, { axis: 3 });
  });
};

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: backpropFilter,
};

/** Output channels c*m + q for every c: `[N, H, W, C]`. */
function channelSlice(s: KernelScratch, dy: TensorInfo, c: number, m: number, q: number): TensorInfo {
  const [n, h, w] = dy.shape;
  return s.view(s.run('Slice', { x: s.view(dy, [n, h, w, c, m]) }, { begin: [0, 0, 0, 0, q], size: [n, h, w, c, 1] }), [n, h, w, c]);
}

/** The sum over samples and output positions of x * dy per tap and channel, by SIMD loops. */
function directFilterGradient(be: BackendWasm, pool: SimdPool, x: TensorInfo, dy: TensorInfo, g: ConvGeometry): TensorInfo {
  const { inH, inW, inC: c, outH, outW, kH, kW, strideW, padLeft } = g;
  const cb = c * 4;
  const fused: LoopName | null = (FUSED_TAP_WIDTHS as readonly number[]).includes(kW) ? (`dwTaps${kW}` as LoopName) : null;
  // Output columns whose kW taps all read inside the input row.
  const oxFirst = Math.ceil(padLeft / strideW);
  const oxEnd = Math.max(oxFirst, Math.floor((inW - kW + padLeft) / strideW) + 1);
  const interior = fused ? Math.min(outW, oxEnd) - oxFirst : 0;
  const edgeColumns = Array.from({ length: outW }, (_, ox) => ox).filter((ox) => ox < oxFirst || ox >= oxFirst + interior);
  const [xPtr, dyPtr] = [heapAddress(be, x), heapAddress(be, dy)];
  const columns = tapColumns(g);
  return sampleChunkedGradient(be, pool, g, kH * kW * c, [kH, kW, c, 1], (call, acc, n, oy, ky, iy) => {
    const dyRow = dyPtr + (n * outH + oy) * outW * cb;
    const xRow = xPtr + (n * inH + iy) * inW * cb;
    const accRow = acc + ky * kW * cb;
    if (fused && interior > 0) {
      call(fused, xRow + (oxFirst * strideW - padLeft) * cb, dyRow + oxFirst * cb, accRow, interior, cb, strideW * cb);
      // The few edge columns, tap by tap.
      for (const ox of edgeColumns) {
        for (let kx = 0; kx < kW; kx++) {
          const ix = ox * strideW + kx - padLeft;
          if (ix >= 0 && ix < inW) call('dwTaps1', xRow + ix * cb, dyRow + ox * cb, accRow + kx * cb, 1, cb, 0);
        }
      }
    } else {
      // Each tap over the output columns that read inside the row.
      columns.forEach((col, kx) => {
        if (col.count > 0) call('dwTaps1', xRow + col.ix * cb, dyRow + col.from * cb, accRow + kx * cb, col.count, cb, strideW * cb);
      });
    }
  });
}
