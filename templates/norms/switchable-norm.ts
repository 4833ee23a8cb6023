/**
 * Switchable Normalization: learns how much of InstanceNorm, LayerNorm and BatchNorm statistics to
 * use, with separate softmax weights for the means and for the variances.
 *
 * Formula (x [B,H,W,C]; all variances biased):
 *   IN: m_in, v_in over (H,W) per (sample, channel)
 *   LN: m_ln, v_ln over (H,W,C) per sample
 *   BN: m_bn, v_bn over (B,H,W) per channel in training; running_mean / running_var in evaluation
 *   w_m = softmax(mean_weight), w_v = softmax(var_weight), each over [IN, LN, BN]
 *   m = w_m[0] m_in + w_m[1] m_ln + w_m[2] m_bn,   v = w_v[0] v_in + w_v[1] v_ln + w_v[2] v_bn
 *   y = weight * (x - m) / sqrt(v + EPS) + bias
 *   running stats as BatchNorm2d: running <- (1 - MOMENTUM) running + MOMENTUM batch, with the
 *   unbiased BN variance (n = B*H*W) in running_var.
 * mean_weight and var_weight start at ones (equal thirds) and are shared by all channels. The
 * official code derives LN/BN from the IN moments with an unbiased IN variance and keeps running
 * stats with momentum 0.997 in the other convention; this template uses biased variances
 * throughout and PyTorch's BatchNorm convention for the running stats.
 * Paper: Luo, Ren, Peng, Zhang, Li, "Differentiable Learning-to-Normalize via Switchable
 *        Normalization", ICLR 2019.
 * Hyperparameters: EPS = 1e-5, MOMENTUM = 0.1 (below; the same in switchable_norm.py).
 * Parameters weight (1), bias (0), mean_weight (1,1,1), var_weight (1,1,1);
 * buffers running_mean (0), running_var (1).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NormLayer } from 'regbench';

const EPS = 1e-5;
const MOMENTUM = 0.1;

export class CustomNorm implements NormLayer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  /** Logits of the [IN, LN, BN] mixture of means. */
  readonly mean_weight: tf.Variable;
  /** Logits of the [IN, LN, BN] mixture of variances. */
  readonly var_weight: tf.Variable;
  readonly running_mean: tf.Variable;
  readonly running_var: tf.Variable;

  constructor(readonly numFeatures: number) {
    // No tf names: they must be unique model-wide; the engine names variables by property.
    this.weight = tf.variable(tf.ones([numFeatures]), true);
    this.bias = tf.variable(tf.zeros([numFeatures]), true);
    this.mean_weight = tf.variable(tf.ones([3]), true);
    this.var_weight = tf.variable(tf.ones([3]), true);
    this.running_mean = tf.variable(tf.zeros([numFeatures]), false);
    this.running_var = tf.variable(tf.ones([numFeatures]), false);
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const inStats = tf.moments(x, [1, 2], true); // [B,1,1,C]
    const lnStats = tf.moments(x, [1, 2, 3], true); // [B,1,1,1]
    let bnMean: tf.Tensor;
    let bnVariance: tf.Tensor;
    if (training) {
      ({ mean: bnMean, variance: bnVariance } = tf.moments(x, [0, 1, 2])); // [C]
      const [b, h, w] = x.shape;
      this.updateRunningStats(bnMean, bnVariance, b * h * w);
    } else {
      bnMean = this.running_mean;
      bnVariance = this.running_var;
    }
    const mean = mix(this.mean_weight, inStats.mean, lnStats.mean, bnMean);
    const variance = mix(this.var_weight, inStats.variance, lnStats.variance, bnVariance);
    const normalized = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPS)));
    return tf.add(tf.mul(normalized, this.weight), this.bias) as tf.Tensor4D;
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

/** softmax(logits) . [inStat, lnStat, bnStat], broadcast to [B,1,1,C]. */
function mix(logits: tf.Tensor, inStat: tf.Tensor, lnStat: tf.Tensor, bnStat: tf.Tensor): tf.Tensor {
  const [wIn, wLn, wBn] = tf.unstack(tf.softmax(logits));
  return tf.add(tf.add(tf.mul(wIn, inStat), tf.mul(wLn, lnStat)), tf.mul(wBn, bnStat));
}
