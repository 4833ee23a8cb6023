/**
 * Label smoothing written as a regularization term: the engine's cross-entropy plus this term is
 * the cross-entropy against smoothed targets.
 *
 * Formula (logits [B,K], p_b = softmax(outputs_b), y_b the label, EPS the smoothing):
 *   smoothed target q_bk = (1 - EPS) * [k = y_b] + EPS / K
 *   CE_smooth_b = -sum_k q_bk log p_bk = (1 - EPS) * CE_b + EPS * U_b,
 *     with CE_b = -log p_b,y_b and U_b = mean_k(-log p_bk) = -(1/K) sum_k log p_bk
 *   The engine adds mean_b CE_b already, so the term is the difference:
 *   term = mean_b (CE_smooth_b - CE_b) = EPS * mean_b (U_b - CE_b)
 * so that CE + term = mean_b CE_smooth_b exactly (PyTorch's cross_entropy(label_smoothing=EPS)).
 * Per sample, U_b - CE_b = log p_b,y_b - mean_k log p_bk: positive when the label is more likely than
 * the geometric mean of the probabilities (a right, confident prediction is penalized), 0 at uniform
 * predictions, negative for a confident wrong one. Its logit gradient is the constant
 * EPS * ([k = y_b] - 1/K) / B: it lowers the label's logit and raises the others'.
 * Paper: Szegedy, Vanhoucke, Ioffe, Shlens, Wojna, "Rethinking the Inception Architecture for
 *        Computer Vision", CVPR 2016 (section 7).
 * Hyperparameters: EPS = 0.1 (below); the same in label_smoothing.py, see templates/README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RegConfig, RegModel } from 'regbench';

/** Smoothing: the probability mass spread uniformly over the K classes. */
const EPS = 0.1;

export function computeRegularization(
  model: RegModel,
  inputs: tf.Tensor4D,
  outputs: tf.Tensor2D,
  targets: tf.Tensor1D,
  config: RegConfig,
): tf.Scalar {
  const logP = tf.logSoftmax(outputs);
  const oneHot = tf.oneHot(tf.cast(targets, 'int32'), outputs.shape[1]);
  const ce = tf.neg(tf.sum(tf.mul(oneHot, logP), 1)); // -log p_b,y_b
  const uniform = tf.neg(tf.mean(logP, 1)); // mean_k(-log p_bk)
  return tf.mul(EPS, tf.mean(tf.sub(uniform, ce))) as tf.Scalar;
}
