/**
 * LayerNorm over channels: at every position (b, h, w), normalize the C channel values; the
 * statistics are the current sample's, so training and evaluation compute the same function and
 * there are no running statistics.
 *
 * Formula (x [B,H,W,C]):
 *   per (b, h, w): m = mean over C, v = biased variance over C
 *   y = weight * (x - m) / sqrt(v + EPS) + bias        (weight, bias per channel)
 * (the "LayerNorm2d" of ConvNeXt; not the original LayerNorm over (C,H,W) of a sample, which is
 * GroupNorm with one group).
 * Paper: Ba, Kiros, Hinton, "Layer Normalization", arXiv 2016; applied per position over channels
 *        as in Liu et al., "A ConvNet for the 2020s" (ConvNeXt), CVPR 2022.
 * Hyperparameters: EPS = 1e-5 (below; the same in layernorm_channels.py, see templates/README.md).
 * Parameters weight (1), bias (0).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NormLayer } from 'regbench';

const EPS = 1e-5;

export class CustomNorm implements NormLayer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(readonly numFeatures: number) {
    // No tf names: they must be unique model-wide; the engine names variables by property.
    this.weight = tf.variable(tf.ones([numFeatures]), true);
    this.bias = tf.variable(tf.zeros([numFeatures]), true);
  }

  /** `training` does not matter: the statistics are the current position's in both modes. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const { mean, variance } = tf.moments(x, 3, true);
    const normalized = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, EPS)));
    return tf.add(tf.mul(normalized, this.weight), this.bias) as tf.Tensor4D;
  }
}
