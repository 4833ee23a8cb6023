/**
 * GroupNorm: per-sample statistics over groups of channels; independent of the batch, so training
 * and evaluation compute exactly the same function and there are no running statistics.
 *
 * Formula (x [B,H,W,C], G groups of C/G contiguous channels; channel c is in group floor(c / (C/G))):
 *   per (sample, group): m = mean, v = biased variance over (H, W, the C/G channels of the group)
 *   y = weight * (x - m) / sqrt(v + EPS) + bias        (weight, bias per channel)
 * Groups: G = gcd(GROUPS, C): GROUPS whenever it divides C (C = 64, 96, 160, 320, 1280 -> 32), else
 *   the largest divisor of C that divides GROUPS (C = 16 -> 16, 144 -> 16, 24 -> 8), because the
 *   architectures here have channel counts that 32 does not divide.
 * Paper: Wu, He, "Group Normalization", ECCV 2018.
 * Hyperparameters: GROUPS = 32, EPS = 1e-5 (below; the same in groupnorm.py, see templates/README.md).
 * Parameters weight (1), bias (0).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NormLayer } from 'regbench';

const GROUPS = 32;
const EPS = 1e-5;

export class CustomNorm implements NormLayer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly groups: number;

  constructor(readonly numFeatures: number) {
    // No tf names: they must be unique model-wide; the engine names variables by property.
    this.weight = tf.variable(tf.ones([numFeatures]), true);
    this.bias = tf.variable(tf.zeros([numFeatures]), true);
    this.groups = gcd(GROUPS, numFeatures);
  }

  /** `training` does not matter: the statistics are the current sample's in both modes. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const [b, h, w, c] = x.shape;
    const grouped = tf.reshape(x, [b, h, w, this.groups, c / this.groups]);
    const { mean, variance } = tf.moments(grouped, [1, 2, 4], true);
    const normalized = tf.reshape(tf.div(tf.sub(grouped, mean), tf.sqrt(tf.add(variance, EPS))), [b, h, w, c]);
    return tf.add(tf.mul(normalized, this.weight), this.bias) as tf.Tensor4D;
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}
