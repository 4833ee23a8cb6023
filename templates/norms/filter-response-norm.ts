/**
 * Filter Response Normalization with a Thresholded Linear Unit (FRN + TLU): per (sample, channel),
 * divide by the root mean square over the spatial positions (no mean subtraction, no batch
 * dependence), then an affine map and a learned lower threshold tau. Training and evaluation
 * compute the same function; there are no running statistics.
 *
 * Formula (x [B,H,W,C]):
 *   nu2 = mean over (H, W) of x^2, per (b, c)
 *   x_hat = x / sqrt(nu2 + EPS)
 *   y = max(weight * x_hat + bias, tau)               (weight = gamma, bias = beta, tau per channel)
 * EPS is a fixed constant (1e-5, the convention of every template here). Not learned: the paper
 *   adds a learned |eps_l| only for 1x1 feature maps, where nu2 = x^2 and x_hat degenerates to
 *   sign(x); the smallest maps a norm sees here are 2x2 (VGG's last stage), 4x4 or larger elsewhere.
 *   The paper's default EPS is 1e-6.
 * Differences from the paper: FRN+TLU is meant to replace a BatchNorm AND the ReLU after it; a
 *   CustomNorm only replaces the BatchNorm, so the architecture's ReLU stays after the TLU
 *   (relu(max(y, tau)) = max(y, tau, 0): the same as TLU while tau >= 0), and the TLU is also applied
 *   at norm slots with no activation after them (ResNet's bn2 before the residual sum, MobileNetV2's
 *   projection), where it adds a nonlinearity the paper does not have. Set USE_TLU = false to get
 *   y = weight * x_hat + bias (plain FRN) and keep only the architecture's activations.
 *   The paper also warms up the learning rate; the protocol's schedule is not changed.
 * Paper: Singh, Krishnan, "Filter Response Normalization Layer: Eliminating Batch Dependence in the
 *        Training of Deep Neural Networks", CVPR 2020.
 * Hyperparameters: EPS = 1e-5, USE_TLU = true (below; the same in filter_response_norm.py, see
 * templates/README.md). Parameters weight (1), bias (0), tau (0).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NormLayer } from 'regbench';

const EPS = 1e-5;
const USE_TLU = true;

export class CustomNorm implements NormLayer {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  readonly tau: tf.Variable;

  constructor(readonly numFeatures: number) {
    // No tf names: they must be unique model-wide; the engine names variables by property.
    this.weight = tf.variable(tf.ones([numFeatures]), true);
    this.bias = tf.variable(tf.zeros([numFeatures]), true);
    this.tau = tf.variable(tf.zeros([numFeatures]), true);
  }

  /** `training` does not matter: the statistics are the current sample's in both modes. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const nu2 = tf.mean(tf.square(x), [1, 2], true);
    const xHat = tf.mul(x, tf.rsqrt(tf.add(nu2, EPS)));
    const y = tf.add(tf.mul(xHat, this.weight), this.bias);
    if (!USE_TLU) return y as tf.Tensor4D;
    // max(y, tau) written relu(y - tau) + tau: tf.maximum's gradient does not sum a broadcast tau
    // back to its shape [C] (sub and add do). Ties get the gradient to tau, as relu'(0) = 0.
    return tf.add(tf.relu(tf.sub(y, this.tau)), this.tau) as tf.Tensor4D;
  }
}
