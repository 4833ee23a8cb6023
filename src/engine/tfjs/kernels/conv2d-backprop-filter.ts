/**
 * Conv2DBackpropFilter for wasm (the package has none).
 *
 * Cin % 4 == 0 and Cout % 8 == 0 (every convolution of the five architectures but the 3-channel
 * stems): direct SIMD loops. Each filter tap's gradient is a sum of outer products x[pixel]^T
 * dy[pixel] over the output pixels, computed along image rows by `outerProduct` (4x8 tiles in
 * registers); a 1x1 stride-1 layer is one run over all N*H*W pixels. Float32 sums over chunks
 * of ~4096 pixels, float64 across chunks; the chunks are split between two threads (simd-pool.ts). No transposes and no packed copies: for MobileNetV2's
 * 1x1 layers, where the product's K dimension (N*H*W) is large and the channels few, those copies
 * cost more than the product itself (docs/kernels.md).
 *
 * Otherwise, one forward convolution: with batch and channels swapped, the input
 * `[Cin, H, W, N]` convolved with the output gradient `[outH, outW, N, Cout]` used as the filter
 * (dilated by the stride) gives `[Cin, kH, kW, Cout]`; 1x1 stride-1 layers as a matrix product.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { convGeometry, outputGradientFit, trailingPad, withCroppedGradient, type ConvGeometry } from './conv-geometry';
import { withScratch, type KernelScratch } from './kernel-scratch';
import { ChunkedSums, chunkRange } from './chunked-sums';
import { CHUNK_PIXELS, sampleChunkedGradient, tapColumns } from './filter-gradient-rows';
import { heapAddress } from './simd-loops';
import { simdPool, type SimdPool } from './simd-pool';

interface BackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

// Pixels per call of the 1x1 loop: both blocks of rows stay in the L2 cache (~128 KB).
const BLOCK_BYTES = 128 * 1024;

function directFilterGradient(be: BackendWasm, pool: SimdPool, x: TensorInfo, dy: TensorInfo, g: ConvGeometry): TensorInfo {
  const { batch, inH, inW, inC: cin, outH, outW, kH, kW, strideH, strideW, padTop, padLeft } = g;
  const cout = dy.shape[3];
  const [xb, dyb] = [cin * 4, cout * 4];
  const size = kH * kW * cin * cout;
  const tapBytes = cin * dyb;
  const [xPtr, dyPtr] = [heapAddress(be, x), heapAddress(be, dy)];
  if (kH === 1 && kW === 1 && strideH === 1 && strideW === 1 && padTop === 0 && padLeft === 0 && outH === inH && outW === inW) {
    // One run over every pixel: chunks of pixels, each in blocks that fit the cache.
    const pixels = batch * inH * inW;
    const chunk = Math.min(CHUNK_PIXELS, Math.ceil(pixels / 2));
    const sums = new ChunkedSums(be, size, Math.ceil(pixels / chunk));
    try {
      const block = Math.max(8, Math.floor(BLOCK_BYTES / (xb + dyb)));
      pool.split((part, call) => {
        const [first, end] = chunkRange(sums.chunks, part);
        for (let k = first; k < end; k++) {
          const stop = Math.min(pixels, (k + 1) * chunk);
          for (let r = k * chunk; r < stop; r += block)
            call('outerProduct', xPtr + r * xb, dyPtr + r * dyb, sums.acc(k), Math.min(block, stop - r), xb, dyb, xb);
        }
      });
      return sums.finish([kH, kW, cin, cout]);
    } finally {
      sums.free();
    }
  }
  const columns = tapColumns(g);
  return sampleChunkedGradient(be, pool, g, size, [kH, kW, cin, cout], (call, acc, n, oy, ky, iy) => {
    const dyRow = dyPtr + (n * outH + oy) * outW * dyb;
    const xRow = xPtr + (n * inH + iy) * inW * xb;
    columns.forEach((c, kx) => {
      if (c.count > 0) call('outerProduct', xRow + c.ix * xb, dyRow + c.from * dyb, acc + (ky * kW + kx) * tapBytes, c.count, xb, dyb, strideW * xb);
    });
  });
}

/**
 * A 1x1 stride-1 filter gradient is the product x^T dy over the rows of `[N*H*W, C]` views.
 * XNNPACK's matrix product wants its left operand transposed explicitly (a transposeA product is
 * 3-10x slower on wasm), so the operand with fewer channels is transposed: x^T dy, or (dy^T x)^T
 * with the small `[Cout, Cin]` result transposed afterwards.
 */
function pointwiseFilterGradient(s: KernelScratch, x: TensorInfo, dy: TensorInfo): TensorInfo {
  const cin = x.shape[3];
  const cout = dy.shape[3];
  const rows = x.shape[0] * x.shape[1] * x.shape[2];
  const x2 = s.view(x, [1, rows, cin]);
  const dy2 = s.view(dy, [1, rows, cout]);
  const mm = { transposeA: false, transposeB: false };
  if (cin <= cout) {
    const xT = s.run('Transpose', { x: x2 }, { perm: [0, 2, 1] });
    return s.view(s.run('BatchMatMul', { a: xT, b: dy2 }, mm), [1, 1, cin, cout]);
  }
  const dyT = s.run('Transpose', { x: dy2 }, { perm: [0, 2, 1] });
  const product = s.run('BatchMatMul', { a: dyT, b: x2 }, mm);
  return s.view(s.run('Transpose', { x: s.view(product, [cout, cin]) }, { perm: [1, 0] }), [1, 1, cin, cout]);
}

const backpropFilter: KernelFunc = (args) => {
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as BackpropFilterAttrs;
  if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error('Conv2DBackpropFilter on wasm: only NHWC is supported');
  const inShape = x.shape as [number, number, number, number];
  if (inShape[3] !== attrs.filterShape[2])
    throw new Error(`Error in conv2dDerFilter: depth of input ${inShape[3]}) must match input depth in filter (${attrs.filterShape[2]}.`);
  const g = convGeometry(inShape, attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false);
  const cout = attrs.filterShape[3];
  const geometry = { inShape, filterShape: attrs.filterShape, strides: attrs.strides, pad: attrs.pad };
  if (outputGradientFit('Conv2DBackpropFilter', dy.shape, g, cout, geometry) === 'crop') return withCroppedGradient(args, g, cout, backpropFilter);
  const pool = g.inC % 4 === 0 && cout % 8 === 0 && x.dtype === 'float32' ? simdPool(args.backend as BackendWasm) : null;
  if (pool) return directFilterGradient(args.backend as BackendWasm, pool, x, dy, g);
  const bottom = trailingPad(g.inH, g.outH, g.kH, g.strideH, g.padTop);
  const right = trailingPad(g.inW, g.outW, g.kW, g.strideW, g.padLeft);
  if (g.kH === 1 && g.kW === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0 && bottom === 0 && right === 0) {
    return withScratch(args.backend, (s) => pointwiseFilterGradient(s, x, dy));
  }
  return withScratch(args.backend, (s) => {
    let input = x;
    if (bottom < 0 || right < 0) {
      const [n, h, w, c] = x.shape;
      input = s.run('Slice', { x }, { begin: [0, 0, 0, 0], size: [n, h + Math.min(0, bottom), w + Math.min(0, right), c] });
    }
    const xT = s.run('Transpose', { x: input }, { perm: [3, 1, 2, 0] });
    const dyT = s.run('Transpose', { x: dy }, { perm: [1, 2, 0, 3] });
    const pad: backend_util.ExplicitPadding = [
      [0, 0],
      [g.padTop, Math.max(0, bottom)],
      [g.padLeft, Math.max(0, right)],
      [0, 0],
    ];
    const grad = s.run('Conv2D', { x: xT, filter: dyT }, { strides: 1, pad, dataFormat: 'NHWC', dilations: [g.strideH, g.strideW] });
    return s.run('Transpose', { x: grad }, { perm: [1, 2, 0, 3] });
  });
};

export const conv2dBackpropFilterConfig: KernelConfig = { kernelName: 'Conv2DBackpropFilter', backendName: 'wasm', kernelFunc: backpropFilter };
