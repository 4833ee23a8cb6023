/**
 * L1 weight penalty: lambda times the sum of absolute values of every conv and linear weight; it
 * pushes small weights to exactly zero (sparsity), where L2 only shrinks them proportionally.
 *
 * Formula: term = LAMBDA * sum over conv and linear weights of sum |w|
 *   (model.weights(): conv HWIO and linear [in,out] weights, depthwise convolutions included;
 *   no bias, no norm parameter). Gradient LAMBDA * sign(w), 0 at w = 0 as in PyTorch: |w| is
 *   written w * sign(w) because tf.abs's gradient at 0 is -1.
 * Weight decay 5e-4 (coupled L2 on every parameter) is already applied by the optimizer; this term
 * is additional, so the weights get L1 + L2 (an elastic-net penalty).
 * Paper: Tibshirani, "Regression Shrinkage and Selection via the Lasso", J. R. Stat. Soc. B 1996
 *        (the classic L1 penalty, here on network weights).
 * Hyperparameters: LAMBDA = 1e-5 (below); the same in l1_penalty.py, see templates/README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RegConfig, RegModel } from 'regbench';

/** Strength of the L1 penalty. */
const LAMBDA = 1e-5;

export function computeRegularization(
  model: RegModel,
  inputs: tf.Tensor4D,
  outputs: tf.Tensor2D,
  targets: tf.Tensor1D,
  config: RegConfig,
): tf.Scalar {
  // w * sign(w) = |w|; its gradient is sign(w) (sign's own gradient is 0), 0 at w = 0.
  const sums = model.weights().map(({ variable }) => tf.sum(tf.mul(variable, tf.sign(variable))) as tf.Scalar);
  if (sums.length === 0) return tf.scalar(0);
  return tf.mul(LAMBDA, tf.addN(sums)) as tf.Scalar;
}
