/**
 * Spreads the rows and columns of an NHWC tensor apart with zeros: element (h, w) lands on
 * (h*sh, w*sw) and the gaps are zero. A strided convolution's gradients become plain stride-1
 * convolutions over this spread-out tensor. Done with one pad over a 6-d view, so it costs one
 * copy of the output.
 */
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelScratch } from './kernel-scratch';

/** Returns `[N, H*sh, W*sw, C]`; the last sh-1 rows and sw-1 columns are zeros. */
export function interleaveZeros(s: KernelScratch, x: TensorInfo, sh: number, sw: number): TensorInfo {
  const [n, h, w, c] = x.shape;
  if (sh === 1 && sw === 1) return x;
  const spread = s.run(
    'PadV2',
    { x: s.view(x, [n, h, 1, w, 1, c]) },
    {
      paddings: [
        [0, 0],
        [0, 0],
        [0, sh - 1],
        [0, 0],
        [0, sw - 1],
        [0, 0],
      ],
      constantValue: 0,
    },
  );
  return s.view(spread, [n, h * sh, w * sw, c]);
}
