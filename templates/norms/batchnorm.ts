/**
 * BatchNorm written from scratch: the reference every normalization variant is compared with
 * (numerically the same as torch.nn.BatchNorm2d).
 *
 * Formula (x [B,H,W,C], per channel c):
 *   training:   m = mean over (B,H,W),  v = biased variance over (B,H,W)
 *               y = weight * (x - m) / sqrt(v + EPS) + bias
 *               running_mean <- (1 - MOMENTUM) * running_mean + MOMENTUM * m
 *               running_var  <- (1 - MOMENTUM) * running_var  + MOMENTUM * v * n / (n - 1),  n = B*H*W
 *   evaluation: y = weight * (x - running_mean) / sqrt(running_var + EPS) + bias
 * Paper: Ioffe, Szegedy, "Batch Normalization: Accelerating Deep Network Training by Reducing
 *        Internal Covariate Shift", ICML 2015.
 * Hyperparameters: EPS = 1e-5, MOMENTUM = 0.1 (below; PyTorch's defaults, the same in batchnorm.py).
 * Parameters weight (1), bias (0); buffers running_mean (0), running_var (1). Property names are
 * snake_case to match the PyTorch template's state_dict keys.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NormLayer } from 'regbench';

const EPS = 1e-5;
const MOMENTUM = 0.1;

export class CustomNorm implements NormLayer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly running_mean: tf.Variable;
  readonly running_var: tf.Variable;

  constructor(readonly numFeatures: number) {
    // No tf names: they must be unique model-wide; the engine names variables by property.
    this.weight = tf.variable(tf.ones([numFeatures]), true);
    this.bias = tf.variable(tf.zeros([numFeatures]), true);
    this.running_mean = tf.variable(tf.zeros([numFeatures]), false);
    this.running_var = tf.variable(tf.ones([numFeatures]), false);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    let mean: tf.Tensor;
    let variance: tf.Tensor;
    if (training) {
      ({ mean, variance } = tf.moments(x, [0, 1, 2]));
      const [b, h, w] = x.shape;
      this.updateRunningStats(mean, variance, b * h * w);
    } else {
      mean = this.running_mean;
      variance = this.running_var;
    }
    // weight * (x - m) / sqrt(v + EPS) + bias, folded into one scale and one shift per channel so
    // that only two ops (and their gradients) run over the whole tensor.
    const scale = tf.mul(this.weight, tf.rsqrt(tf.add(variance, EPS)));
    const shift = tf.sub(this.bias, tf.mul(mean, scale));
    return tf.add(tf.mul(x, scale), shift) as tf.Tensor4D;
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

