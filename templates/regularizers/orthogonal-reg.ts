/**
 * Orthogonal regularization: pushes every conv and linear weight towards an orthonormal matrix.
 *
 * Formula: for each weight take M with one column per output unit (conv HWIO [kh,kw,in,out] ->
 *   [kh*kw*in, out]; linear [in,out] as is); f = rows (fan-in), o = columns (outputs).
 *   G = M^T M (o x o, PyTorch's W W^T) when o <= f, else G = M M^T (f x f, PyTorch's W^T W):
 *   the smaller Gram side, so that the optimum (orthonormal columns, resp. rows) is reachable.
 *   term = LAMBDA * sum over weights ||G - I||_F^2
 * Depthwise convolutions ([kh,kw,C,1]) are skipped: each filter sees one channel, so orthogonality
 * across channels has no meaning. Biases and norm parameters are not included.
 * Paper: Brock, Lim, Ritchie, Weston, "Neural Photo Editing with Introspective Adversarial
 *        Networks", ICLR 2017 (used again in BigGAN, Brock et al. 2019).
 * Hyperparameters: LAMBDA = 1e-4 (below); the same in orthogonal_reg.py, see templates/README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RegConfig, RegModel } from 'regbench';

const LAMBDA = 1e-4;

export function computeRegularization(
  model: RegModel,
  inputs: tf.Tensor4D,
  outputs: tf.Tensor2D,
  targets: tf.Tensor1D,
  config: RegConfig,
): tf.Scalar {
  const terms: tf.Scalar[] = [];
  for (const { variable } of model.weights()) {
    const shape = variable.shape;
    if (shape.length === 4 && shape[3] === 1) continue; // depthwise [kh,kw,C,1]
    const outUnits = shape[shape.length - 1];
    const fanIn = variable.size / outUnits;
    const m = tf.reshape(variable, [fanIn, outUnits]) as tf.Tensor2D;
    const gram = outUnits <= fanIn ? tf.matMul(m, m, true, false) : tf.matMul(m, m, false, true);
    const side = Math.min(outUnits, fanIn);
    terms.push(tf.sum(tf.square(tf.sub(gram, tf.eye(side)))));
  }
  if (terms.length === 0) return tf.scalar(0);
  return tf.mul(LAMBDA, tf.addN(terms)) as tf.Scalar;
}
