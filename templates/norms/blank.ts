/**
 * Blank normalization layer: a runnable skeleton that only applies a per-channel affine map
 * (no statistics at all, so expect training to be unstable until you add some).
 *
 * Formula: y = weight * x + bias, per channel; x and y are [B,H,W,C].
 * Paper: none. Hyperparameters: none (EPS and MOMENTUM below are the PyTorch defaults, for when you
 * add statistics). Templates to start from: batchnorm.ts, groupnorm.ts, batch-instance-norm.ts,
 * switchable-norm.ts.
 *
 * Every tf.Variable held in an own property (or an array / plain object of them) is a parameter of
 * the model, named after the property: `tf.variable(init, true)` is trained, `tf.variable(init, false)`
 * is a buffer (running statistics: no gradient, no weight decay). Give the variables no tf name:
 * tf names must be unique across the whole model, and the engine names them by property.
 * Property names are snake_case to match the PyTorch template's attribute names (state can then be
 * compared across engines by name).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NormLayer } from 'regbench';

const EPS = 1e-5;
const MOMENTUM = 0.1;

export class CustomNorm implements NormLayer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  // TODO: buffers, e.g. this.running_mean = tf.variable(tf.zeros([numFeatures]), false);

  constructor(readonly numFeatures: number) {
    this.weight = tf.variable(tf.ones([numFeatures]), true);
    this.bias = tf.variable(tf.zeros([numFeatures]), true);
  }

  /** `training` is true in training steps and false in evaluation; x is [B,H,W,C]. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    // TODO: normalize x here, e.g. with tf.moments(x, axes, true) and EPS. Batch statistics belong
    // to training only: when `training` is false use running statistics, which you update during
    // training with buffer.assign(...) (momentum MOMENTUM, PyTorch's convention).
    return tf.add(tf.mul(x, this.weight), this.bias) as tf.Tensor4D;
  }
}
