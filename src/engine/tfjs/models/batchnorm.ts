/**
 * BatchNorm2d with PyTorch's semantics on NHWC tensors: in training, normalize with the batch mean
 * and the biased batch variance and move the running statistics by `momentum` towards the batch
 * mean and the UNBIASED variance (n / (n - 1)); in evaluation, normalize with the running
 * statistics. The default NormLayer of every architecture.
 *
 * Training uses a closed-form gradient (tf.customGrad): autodiff through the statistics records a
 * dozen full-size ops per layer, the closed form needs five passes over the tensor. Measured
 * figures are in docs/architectures.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import { RECIPE } from '../../../protocol/benchmarks';
import type { NormLayer } from '../types';
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

  constructor(readonly numFeatures: number, options: BatchNormOptions = {}) {
    this.weight = constantVariable([numFeatures], 1);
    this.bias = constantVariable([numFeatures], 0);
    this.running_mean = constantVariable([numFeatures], 0, false);
    this.running_var = constantVariable([numFeatures], 1, false);
    this.momentum = options.momentum ?? RECIPE.bnMomentum;
    this.eps = options.eps ?? RECIPE.bnEpsilon;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    if (x.shape[3] !== this.numFeatures) {
      throw new Error(`BatchNorm2d(${this.numFeatures}) got ${x.shape[3]} channels (input [${x.shape.join(', ')}])`);
    }
    if (!training) {
      return tf.tidy(() => {
        const scale = tf.mul(this.weight, tf.rsqrt(tf.add(this.running_var, this.eps)));
        return channelAffine(x, scale, tf.sub(this.bias, tf.mul(this.running_mean, scale)));
      });
    }
    return this.trainingNorm(x, this.weight as tf.Tensor1D, this.bias as tf.Tensor1D);
  }

  // customGrad passes the inputs and then the save function in one rest parameter.
  private readonly trainingNorm = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [x, gamma, beta] = args as tf.Tensor[];
    const save = args[3] as tf.GradSaveFunc;
    const [b, h, w] = x.shape as [number, number, number, number];
    const n = b * h * w;
    if (n < 2) throw new Error(`BatchNorm2d needs more than one value per channel in training, got input [${x.shape.join(', ')}]`);
    const mean = channelMeans(x as tf.Tensor4D);
    // Two passes (mean, then squared deviations) cost as much as mean and mean of squares here
    // and stay accurate when the mean is large against the spread.
    const variance = channelMeans(tf.squaredDifference(x, mean) as tf.Tensor4D);
    const invStd = tf.rsqrt(tf.add(variance, this.eps));
    const scale = tf.mul(gamma, invStd);
    const y = channelAffine(x as tf.Tensor4D, scale, tf.sub(beta, tf.mul(mean, scale)));
    this.updateRunningStats(mean, variance, n);
    save([x, mean, invStd, scale]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor4D, saved: tf.Tensor[]) => {
        const [sx, sMean, sInvStd, sScale] = saved;
        const meanDy = channelMeans(dy);
        // mean(dy * xhat) = invStd * (mean(dy * x) - mean * mean(dy))
        const meanDyXhat = tf.mul(sInvStd, tf.sub(channelMeans(tf.mul(dy, sx) as tf.Tensor4D), tf.mul(sMean, meanDy)));
        // dx = scale * (dy - mean(dy) - xhat * mean(dy * xhat)) = scale * dy + k * x + offset,
        // with scale = gamma * invStd, k = -scale * invStd * mean(dy * xhat).
        const k = tf.neg(tf.mul(tf.mul(sScale, sInvStd), meanDyXhat));
        const offset = tf.sub(tf.neg(tf.mul(sScale, meanDy)), tf.mul(k, sMean));
        const dx = tf.add(channelAffine(dy, sScale), channelAffine(sx as tf.Tensor4D, k, offset));
        return [dx, tf.mul(meanDyXhat, n), tf.mul(meanDy, n)];
      },
    };
  });

  private updateRunningStats(mean: tf.Tensor, biasedVar: tf.Tensor, n: number): void {
    const m = this.momentum;
    this.running_mean.assign(tf.add(tf.mul(this.running_mean, 1 - m), tf.mul(mean, m)));
    this.running_var.assign(tf.add(tf.mul(this.running_var, 1 - m), tf.mul(biasedVar, (m * n) / (n - 1))));
  }
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

/** The default NormFactory. */
export function batchNorm2d(numFeatures: number): NormLayer {
  return new BatchNorm2d(numFeatures);
}
