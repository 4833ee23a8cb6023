/**
 * Confidence penalty: rewards output distributions with high entropy, discouraging over-confident
 * predictions (a relative of label smoothing that acts on the model's own distribution).
 *
 * Formula: p_b = softmax(outputs_b), H_b = -sum_k p_bk * log p_bk (natural log),
 *          term = -BETA * mean_b H_b          (<= 0; -BETA * log K at uniform predictions)
 * Paper: Pereyra, Tucker, Chorowski, Kaiser, Hinton, "Regularizing Neural Networks by Penalizing
 *        Confident Output Distributions", ICLR workshop 2017.
 * Hyperparameters: BETA = 0.1 (the constant below). The PyTorch template confidence_penalty.py
 * uses the same value; see templates/README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RegConfig, RegModel } from 'regbench';

/** Strength of the entropy bonus. */
const BETA = 0.1;

export function computeRegularization(
  model: RegModel,
  inputs: tf.Tensor4D,
  outputs: tf.Tensor2D,
  targets: tf.Tensor1D,
  config: RegConfig,
): tf.Scalar {
  // log_softmax rather than log(softmax): finite even when a probability underflows to 0.
  const logP = tf.logSoftmax(outputs);
  const entropy = tf.neg(tf.sum(tf.mul(tf.exp(logP), logP), 1));
  return tf.mul(-BETA, tf.mean(entropy)) as tf.Scalar;
}
