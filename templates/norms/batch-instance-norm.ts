/**
 * Batch-Instance Normalization: a learned per-channel gate between BatchNorm (keeps style/contrast
 * information) and InstanceNorm (removes it).
 *
 * Formula (x [B,H,W,C], per channel):
 *   x_bn = (x - m_B) / sqrt(v_B + EPS)   m_B, v_B over (B,H,W) in training (biased variance),
 *                                        running_mean / running_var in evaluation
 *   x_in = (x - m_I) / sqrt(v_I + EPS)   m_I, v_I over (H,W) per (sample, channel), in both modes
 *   r    = clamp(rho, 0, 1)
 *   y    = weight * (r * x_bn + (1 - r) * x_in) + bias
 *   running stats as BatchNorm2d: running <- (1 - MOMENTUM) running + MOMENTUM batch, with the
 *   unbiased variance (n = B*H*W) in running_var.
 * rho starts at 1 (pure BatchNorm). The paper clips rho into [0,1] after each optimizer step; a
 * variant cannot act after the step, so the clamp is applied in the forward pass. Its gradient
 * passes for 0 <= rho <= 1 and is 0 outside; a rho pushed out of range then stays at the boundary
 * (as clipping would keep it) until weight decay draws it back inside.
 * Paper: Nam, Kim, "Batch-Instance Normalization for Adaptively Style-Invariant Neural Networks",
 *        NeurIPS 2018.
 * Hyperparameters: EPS = 1e-5, MOMENTUM = 0.1, RHO_INIT = 1 (below; the same in batch_instance_norm.py).
 * Parameters weight (1), bias (0), rho (1); buffers running_mean (0), running_var (1).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NormLayer } from 'regbench';

const EPS = 1e-5;
const MOMENTUM = 0.1;
const RHO_INIT = 1;

export class CustomNorm implements NormLayer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly rho: tf.Variable;
  readonly running_mean: tf.Variable;
  readonly running_var: tf.Variable;

  constructor(readonly numFeatures: number) {
    // No tf names: they must be unique model-wide; the engine names variables by property.
    this.weight = tf.variable(tf.ones([numFeatures]), true);
    this.bias = tf.variable(tf.zeros([numFeatures]), true);
    this.rho = tf.variable(tf.fill([numFeatures], RHO_INIT), true);
    this.running_mean = tf.variable(tf.zeros([numFeatures]), false);
    this.running_var = tf.variable(tf.ones([numFeatures]), false);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let bnMean: tf.Tensor;
    let bnVariance: tf.Tensor;
    if (training) {
      ({ mean: bnMean, variance: bnVariance } = tf.moments(x, [0, 1, 2]));
      const [b, h, w] = x.shape;
      this.updateRunningStats(bnMean, bnVariance, b * h * w);
    } else {
      bnMean = this.running_mean;
      bnVariance = this.running_var;
    }
    const xBn = tf.div(tf.sub(x, bnMean), tf.sqrt(tf.add(bnVariance, EPS)));
    const inStats = tf.moments(x, [1, 2], true);
    const xIn = tf.div(tf.sub(x, inStats.mean), tf.sqrt(tf.add(inStats.variance, EPS)));
    const r = tf.clipByValue(this.rho, 0, 1);
    const mixed = tf.add(tf.mul(r, xBn), tf.mul(tf.sub(1, r), xIn));
    return tf.add(tf.mul(mixed, this.weight), this.bias) as tf.Tensor4D;
  }

  /**
   * running <- (1 - MOMENTUM) * running + MOMENTUM * batch. PyTorch keeps the unbiased variance
   * (n values per channel) although it normalizes with the biased one. assign() is not on the
   * gradient's path, so no gradient reaches the buffers; the tidy frees the intermediates at once.
   */
  private updateRunningStats(mean: tf.Tensor, variance: tf.Tensor, n: number): void {
    tf.tidy(() => {
      const unbiasedVariance = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
      this.running_mean.assign(tf.add(tf.mul(this.running_mean, 1 - MOMENTUM), tf.mul(mean, MOMENTUM)));
      this.running_var.assign(tf.add(tf.mul(this.running_var, 1 - MOMENTUM), tf.mul(unbiasedVariance, MOMENTUM)));
    });
  }
}
