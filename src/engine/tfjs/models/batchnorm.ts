/**
 * BatchNorm2d with PyTorch's semantics on NHWC tensors: in training, normalize with the batch mean
 * and the biased batch variance and move the running statistics by `momentum` towards the batch
 * mean and the UNBIASED variance (n / (n - 1)); in evaluation, normalize with the running
 * statistics. The default NormLayer of every architecture.
 *
 * Training uses a closed-form gradient (tf.customGrad): autodiff through the statistics records a
 * dozen full-size ops per layer. On wasm (C % 4 == 0) the statistics, the output and each
 * gradient sum are one SIMD pass apiece (kernels/channel-stats.ts): 2 passes forward, 2 backward;
 * elsewhere the tf-op formulation below takes about 5 each way. Figures in docs/kernels.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RECIPE } from '../../../protocol/benchmarks';
import type { NormLayer } from '../types';
import {
  CHANNEL_AFFINE,
  CHANNEL_AFFINE2,
  CHANNEL_AFFINE2_RELU,
  CHANNEL_AFFINE_RELU,
  CHANNEL_GRAD_SUMS,
  CHANNEL_GRAD_SUMS_RELU,
  CHANNEL_MOMENTS,
  channelKernelsFor,
} from '../kernels/channel-stats';
import { maskedGradient } from '../kernels/activation-grad';
import { constantVariable } from './init';

export interface BatchNormOptions {
  momentum?: number;
  eps?: number;
}

export class BatchNorm2d implements NormLayer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly running_mean: tf.Variable;
  readonly running_var: tf.Variable;
  private readonly momentum: number;
  private readonly eps: number;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions = {},
  ) {
    this.weight = constantVariable([numFeatures], 1);
    this.bias = constantVariable([numFeatures], 0);
    this.running_mean = constantVariable([numFeatures], 0, false);
    this.running_var = constantVariable([numFeatures], 1, false);
    this.momentum = options.momentum ?? RECIPE.bnMomentum;
    this.eps = options.eps ?? RECIPE.bnEpsilon;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    this.checkChannels(x);
    if (!training) {
      return tf.tidy(() => {
        const scale = tf.mul(this.weight, tf.rsqrt(tf.add(this.running_var, this.eps)));
        return channelAffine(x, scale, tf.sub(this.bias, tf.mul(this.running_mean, scale)));
      });
    }
    return this.trainingNorm(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D);
  }

  /**
   * relu(apply(x, training)), the same values and gradients, in one differentiable step when
   * training: the output is activated in the same pass (one kernel on the native path), the
   * gradient masks dy by the activated output (y > 0 exactly where the normalized value is), and
   * the normalized value before the ReLU is never kept: one pass and one saved activation less
   * per layer than BatchNorm2d then ReLU.
   */
  applyRelu(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    this.checkChannels(x);
    if (!training) return tf.tidy(() => tf.relu(this.apply(x, false)));
    return this.trainingNormRelu(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D);
  }

  private checkChannels(x: tf.Tensor4D): void {
    if (x.shape[3] !== this.numFeatures) {
      throw new Error(`BatchNorm2d(${this.numFeatures}) got ${x.shape[3]} channels (input [${x.shape.join(', ')}])`);
    }
  }

  private readonly trainingNorm = this.trainingFunction(false);
  private readonly trainingNormRelu = this.trainingFunction(true);

  private trainingFunction(relu: boolean): (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor4D {
    // customGrad passes the inputs and then the save function in one rest parameter.
    return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
      const [x, gamma, beta] = args as tf.Tensor[];
      const save = args[3] as tf.GradSaveFunc;
      const [b, h, w] = x.shape as [number, number, number, number];
      const n = b * h * w;
      if (n < 2) throw new Error(`BatchNorm2d needs more than one value per channel in training, got input [${x.shape.join(', ')}]`);
      const { mean, variance } = channelMoments(x as tf.Tensor4D);
      const invStd = tf.rsqrt(tf.add(variance, this.eps));
      const scale = tf.mul(gamma, invStd);
      const shift = tf.sub(beta, tf.mul(mean, scale));
      const y = relu ? gradientFreeAffineRelu(x as tf.Tensor4D, scale, shift) : gradientFreeAffine(x as tf.Tensor4D, scale, shift);
      this.updateRunningStats(mean, variance, n);
      save(relu ? [x, mean, invStd, scale, y] : [x, mean, invStd, scale]);
      return {
        value: y,
        gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
          const [sx, sMean, sInvStd, sScale, sy] = saved;
          // Through the ReLU first: dy where the output is positive (or NaN), else 0; the native
          // passes apply that mask themselves (`mask`), elsewhere it is one more pass.
          const mask = relu && maskedKernelsFor(sx) ? (sy as tf.Tensor4D) : undefined;
          const dz = relu && !mask ? (maskedGradient(dy, sy, Infinity) as tf.Tensor4D) : dy;
          const { meanDy, meanDyXc } = gradientMeans(dz, sx as tf.Tensor4D, sMean, mask);
          const meanDyXhat = tf.mul(sInvStd, meanDyXc);
          // dx = scale * (dy - mean(dy) - xhat * mean(dy * xhat)) = scale * dy + k * x + offset,
          // with scale = gamma * invStd, k = -scale * invStd * mean(dy * xhat).
          const k = tf.neg(tf.mul(tf.mul(sScale, sInvStd), meanDyXhat));
          const offset = tf.sub(tf.neg(tf.mul(sScale, meanDy)), tf.mul(k, sMean));
          const dx = channelAffine2(dz, sScale, sx as tf.Tensor4D, k, offset, mask);
          return [dx, tf.mul(meanDyXhat, n), tf.mul(meanDy, n)];
        },
      };
    }) as (x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) => tf.Tensor4D;
  }

  private updateRunningStats(mean: tf.Tensor, biasedVar: tf.Tensor, n: number): void {
    const m = this.momentum;
    this.running_mean.assign(tf.add(tf.mul(this.running_mean, 1 - m), tf.mul(mean, m)));
    this.running_var.assign(tf.add(tf.mul(this.running_var, 1 - m), tf.mul(biasedVar, (m * n) / (n - 1))));
  }
}

/**
 * Per-channel mean and biased variance of `[B, H, W, C]`. On wasm one SIMD pass
 * (kernels/channel-stats.ts); elsewhere two passes (mean, then squared deviations), which stay
 * accurate when the mean is large against the spread.
 */
function channelMoments(x: tf.Tensor4D): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
  if (channelKernelsFor(x)) {
    const [mean, variance] = tf.engine().runKernel(CHANNEL_MOMENTS, { x }) as tf.Tensor1D[];
    return { mean, variance };
  }
  const mean = channelMeans(x);
  return { mean, variance: channelMeans(tf.squaredDifference(x, mean) as tf.Tensor4D) };
}

/** Whether the native gradient passes that mask dy by a ReLU output exist for `x`. */
function maskedKernelsFor(x: tf.Tensor): boolean {
  return (
    channelKernelsFor(x) &&
    tf.getKernel(CHANNEL_GRAD_SUMS_RELU, tf.getBackend()) !== undefined &&
    tf.getKernel(CHANNEL_AFFINE2_RELU, tf.getBackend()) !== undefined
  );
}

/**
 * Per-channel mean(dy) and mean(dy * (x - mean)), the sums BatchNorm's input gradient needs;
 * with `mask` (a ReLU's output, native kernels only), dy counts where mask > 0 or NaN.
 */
function gradientMeans(dy: tf.Tensor4D, x: tf.Tensor4D, mean: tf.Tensor, mask?: tf.Tensor4D): { meanDy: tf.Tensor1D; meanDyXc: tf.Tensor1D } {
  const [b, h, w] = x.shape;
  if (mask) {
    const [sumDy, sumDyXc] = tf.engine().runKernel(CHANNEL_GRAD_SUMS_RELU, { dy, x, mean, y: mask }) as tf.Tensor1D[];
    return { meanDy: tf.div(sumDy, b * h * w), meanDyXc: tf.div(sumDyXc, b * h * w) };
  }
  if (channelKernelsFor(x)) {
    const [sumDy, sumDyXc] = tf.engine().runKernel(CHANNEL_GRAD_SUMS, { dy, x, mean }) as tf.Tensor1D[];
    return { meanDy: tf.div(sumDy, b * h * w), meanDyXc: tf.div(sumDyXc, b * h * w) };
  }
  const meanDy = channelMeans(dy);
  // mean(dy * (x - mean)) = mean(dy * x) - mean * mean(dy)
  return { meanDy, meanDyXc: tf.sub(channelMeans(tf.mul(dy, x) as tf.Tensor4D), tf.mul(mean, meanDy)) };
}

/**
 * dy * a + x * k + b per channel: one SIMD pass on wasm, two 1x1 depthwise passes elsewhere; with
 * `mask` as in gradientMeans (native only).
 */
function channelAffine2(dy: tf.Tensor4D, a: tf.Tensor, x: tf.Tensor4D, k: tf.Tensor, b: tf.Tensor, mask?: tf.Tensor4D): tf.Tensor4D {
  if (mask) return tf.engine().runKernel(CHANNEL_AFFINE2_RELU, { dy, x, a, k, b, y: mask }) as tf.Tensor4D;
  if (channelKernelsFor(x)) return tf.engine().runKernel(CHANNEL_AFFINE2, { dy, x, a, k, b }) as tf.Tensor4D;
  return tf.add(channelAffine(dy, a), channelAffine(x, k, b));
}

/**
 * Per-channel means of `[B, H, W, C]`: a global average pool (one pass in XNNPACK on wasm), then a
 * mean over the batch. On wasm, 2 cores, a 128x32x32x16 tensor takes ~1 ms this way against
 * 20-110 ms for tf.mean / tf.sum over [0, 1, 2] (they transpose to reduce the inner axis) and
 * ~30 ms for a product with a row of ones (XNNPACK repacks the big operand on every call).
 */
function channelMeans(x: tf.Tensor4D): tf.Tensor1D {
  const [b, h, w, c] = x.shape;
  const pooled = tf.avgPool(x, [h, w], 1, 'valid');
  return tf.mean(tf.reshape(pooled, [b, c]), 0);
}

/**
 * x * scale + shift per channel in one pass: a 1x1 depthwise convolution with bias. On wasm this
 * costs what one unary op costs, whereas broadcasting mul + add (or tf.batchNorm) costs 3-7x more.
 */
function channelAffine(x: tf.Tensor4D, scale: tf.Tensor, shift?: tf.Tensor): tf.Tensor4D {
  const filter = tf.reshape(scale, [1, 1, x.shape[3], 1]) as tf.Tensor4D;
  if (!shift) return tf.depthwiseConv2d(x, filter, 1, 'valid');
  return tf.fused.depthwiseConv2d({ x, filter, strides: 1, pad: 'valid', bias: shift });
}

/**
 * channelAffine for places that are never differentiated through (inside the customGrad
 * forward): one SIMD pass on wasm, ~5x faster there than the 1x1 depthwise convolution; the
 * kernel has no gradient of its own.
 */
function gradientFreeAffine(x: tf.Tensor4D, scale: tf.Tensor, shift: tf.Tensor): tf.Tensor4D {
  if (channelKernelsFor(x)) return tf.engine().runKernel(CHANNEL_AFFINE, { x, a: scale, b: shift }) as tf.Tensor4D;
  return channelAffine(x, scale, shift);
}

/** relu(channelAffine) for the customGrad forward: one pass where the native kernel exists. */
function gradientFreeAffineRelu(x: tf.Tensor4D, scale: tf.Tensor, shift: tf.Tensor): tf.Tensor4D {
  if (channelKernelsFor(x) && tf.getKernel(CHANNEL_AFFINE_RELU, tf.getBackend()))
    return tf.engine().runKernel(CHANNEL_AFFINE_RELU, { x, a: scale, b: shift }) as tf.Tensor4D;
  return tf.relu(gradientFreeAffine(x, scale, shift));
}

/** relu(norm(x)): fused where the norm is the built-in BatchNorm2d, else the two steps. */
export function normRelu(norm: NormLayer, x: tf.Tensor4D, training: boolean): tf.Tensor4D {
  return norm instanceof BatchNorm2d ? norm.applyRelu(x, training) : tf.relu(norm.apply(x, training));
}

/** The default NormFactory. */
export function batchNorm2d(numFeatures: number): NormLayer {
  return new BatchNorm2d(numFeatures);
}
