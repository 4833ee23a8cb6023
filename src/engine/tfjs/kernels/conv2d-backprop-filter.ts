/**
 * Conv2DBackpropFilter for wasm (the package has none), as one forward convolution: with batch
 * and channels swapped, the input `[Cin, H, W, N]` convolved with the output gradient
 * `[outH, outW, N, Cout]` used as the filter (dilated by the stride) gives `[Cin, kH, kW, Cout]`.
 */
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { backend_util } from '@tensorflow/tfjs-core';
import { convGeometry, trailingPad } from './conv-geometry';
import { withScratch, type KernelScratch } from './kernel-scratch';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { heapAddress, heapFloats, heapModule, simdLoops, type SimdLoops } from './simd-loops';

// Rows per call of the outer-product loop: both row blocks stay in the L2 cache (~128 KB).
const BLOCK_BYTES = 128 * 1024;
// Rows per float32 partial sum (folded into float64 afterwards), as in channel-stats.ts.
const CHUNK_ROWS = 1024;

/**
 * x^T dy over `[rows, C]` views by the SIMD rank-1 loop, blocked over rows: no transposes and no
 * packed copy of either operand, which for MobileNetV2's high-resolution 1x1 layers (rows = N*H*W
 * large, few channels) cost more than the product itself.
 */
function outerProductFilterGradient(be: BackendWasm, loops: SimdLoops, x: TensorInfo, dy: TensorInfo): TensorInfo {
  const cin = x.shape[3];
  const cout = dy.shape[3];
  const rows = x.shape[0] * x.shape[1] * x.shape[2];
  const [xb, dyb] = [cin * 4, cout * 4];
  const block = Math.max(8, Math.floor(BLOCK_BYTES / (xb + dyb)));
  const size = cin * cout;
  const m = heapModule(be);
  const acc = m._malloc(size * 4) >>> 0;
  const total = new Float64Array(size);
  const [xPtr, dyPtr] = [heapAddress(be, x), heapAddress(be, dy)];
  try {
    for (let chunk = 0; chunk < rows; chunk += CHUNK_ROWS) {
      heapFloats(be, acc, size).fill(0);
      const end = Math.min(rows, chunk + CHUNK_ROWS);
      for (let r = chunk; r < end; r += block) loops.outerProduct(xPtr + r * xb, dyPtr + r * dyb, acc, Math.min(block, end - r), xb, dyb);
      const sums = heapFloats(be, acc, size);
      for (let i = 0; i < size; i++) total[i] += sums[i];
    }
  } finally {
    m._free(acc);
  }
  const out = be.makeOutput([1, 1, cin, cout], 'float32');
  heapFloats(be, heapAddress(be, out), size).set(total);
  return out;
}


interface BackpropFilterAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | backend_util.ExplicitPadding;
  dataFormat?: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/**
 * A 1x1 stride-1 filter gradient is the product x^T dy over the rows of `[N*H*W, C]` views.
 * XNNPACK's matrix product wants its left operand transposed explicitly (a transposeA product is
 * 3-10x slower on wasm), so the operand with fewer channels is transposed: x^T dy, or (dy^T x)^T
 * with the small `[Cout, Cin]` result transposed afterwards. 2-6x faster than the convolution
 * formulation below for the 1x1 convolutions of MobileNetV2 (docs/kernels.md).
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

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ((args) => {
    const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
    const attrs = args.attrs as unknown as BackpropFilterAttrs;
    if ((attrs.dataFormat ?? 'NHWC') !== 'NHWC') throw new Error('Conv2DBackpropFilter on wasm: only NHWC is supported');
    const g = convGeometry(x.shape as [number, number, number, number], attrs.filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false);
    const bottom = trailingPad(g.inH, g.outH, g.kH, g.strideH, g.padTop);
    const right = trailingPad(g.inW, g.outW, g.kW, g.strideW, g.padLeft);
    if (g.kH === 1 && g.kW === 1 && g.strideH === 1 && g.strideW === 1 && g.padTop === 0 && g.padLeft === 0 && bottom === 0 && right === 0) {
      const [cin, cout] = [x.shape[3], dy.shape[3]];
      const loops = cin % 4 === 0 && cout % 8 === 0 && x.dtype === 'float32' ? simdLoops(args.backend as BackendWasm) : null;
      // The loop beat XNNPACK's product on every 1x1 layer of MobileNetV2 (docs/kernels.md).
      if (loops) return outerProductFilterGradient(args.backend as BackendWasm, loops, x, dy);
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
      const pad: backend_util.ExplicitPadding = [[0, 0], [g.padTop, Math.max(0, bottom)], [g.padLeft, Math.max(0, right)], [0, 0]];
      const grad = s.run('Conv2D', { x: xT, filter: dyT }, { strides: 1, pad, dataFormat: 'NHWC', dilations: [g.strideH, g.strideW] });
      return s.run('Transpose', { x: grad }, { perm: [1, 2, 0, 3] });
    });
  }) as KernelFunc,
};
