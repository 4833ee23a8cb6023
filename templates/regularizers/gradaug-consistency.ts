/**
 * GradAug-style consistency: the network's predictions on a transformed view of the batch are
 * pulled towards its (fixed) predictions on the batch itself, by a second training-mode forward
 * pass of the view.
 *
 * Formula (logits z = outputs [B,K]; z' = model.forward(view(inputs), training) [B,K]):
 *   view(x)  = nearest 2x upsampling of the 2x2 average pooling of the horizontally flipped x:
 *              a half-resolution copy shown at the full 32x32 size (x [B,H,W,C], H and W even)
 *   q_b = softmax(stop_gradient(z_b) / T),  log r_b = log_softmax(z'_b / T)
 *   term = LAMBDA * mean_b KL(q_b || r_b) = LAMBDA * mean_b sum_k q_bk (log q_bk - log r_bk)   (>= 0)
 * The full batch's predictions are the teacher (no gradient through them), as GradAug's full network
 * is for its sub-networks; the gradient reaches the weights through the view's forward pass only.
 * The view's forward runs in training mode (its own batch statistics, its own dropout masks) and
 * every buffer (running statistics) gets its value from before that forward back, so running
 * statistics follow the real batches only, as without the term. It costs a second forward and backward pass per step.
 * Differences from GradAug: GradAug samples several width-reduced sub-networks per step (channels
 * cut from the full network), each fed the batch at a random lower resolution, and distills the
 * full network's soft predictions into each. The variant API has no width-sampled sub-networks
 * (model.forward runs the whole network), and VGG's five max-pools need 32x32 inputs, so here one
 * view per step, through the full network: a fixed half-resolution content (2x2 means) at full
 * size, flipped so that the view differs from the batch on every image. Both engines do the same.
 * Paper: Yang, Wang, Zhu, Yuan, "GradAug: A New Regularization Method for Deep Neural Networks",
 *        NeurIPS 2020.
 * Hyperparameters: LAMBDA = 1, T = 1 (below); the same in gradaug_consistency.py, see
 * templates/README.md.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RegConfig, RegModel } from 'regbench';

/** Weight of the consistency term. */
const LAMBDA = 1;
/** Softmax temperature of both distributions. */
const T = 1;

/** The half-resolution, flipped copy of `x` [B,H,W,C] at full size. */
export function view(x: tf.Tensor4D): tf.Tensor4D {
  const [, h, w] = x.shape;
  const flipped = tf.reverse(x, 2);
  const pooled = tf.avgPool(flipped, 2, 2, 'valid');
  return tf.image.resizeNearestNeighbor(pooled, [h, w]); // pixel (i, j) <- (floor(i/2), floor(j/2))
}

/** The identity whose gradient is 0. */
const stopGradient = tf.customGrad((...args) => ({ value: tf.clone(args[0] as tf.Tensor), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) }));

/** LAMBDA * mean_b KL(softmax(teacher / T) || softmax(student / T)), no gradient to the teacher. */
export function consistency(teacher: tf.Tensor2D, student: tf.Tensor2D): tf.Scalar {
  const logQ = tf.logSoftmax(tf.div(stopGradient(teacher) as tf.Tensor2D, T));
  const logR = tf.logSoftmax(tf.div(student, T));
  const kl = tf.sum(tf.mul(tf.exp(logQ), tf.sub(logQ, logR)), 1);
  return tf.mul(LAMBDA, tf.mean(kl)) as tf.Scalar;
}

export function computeRegularization(
  model: RegModel,
  inputs: tf.Tensor4D,
  outputs: tf.Tensor2D,
  targets: tf.Tensor1D,
  config: RegConfig,
): tf.Scalar {
  const buffers = model.namedVariables().filter((v) => !v.trainable).map((v) => v.variable);
  // Copies of the values (not tf.clone, which may share the buffer's memory).
  const saved = buffers.map((v) => tf.tensor(v.dataSync().slice(), v.shape, v.dtype));
  // No features map: the recorded block outputs of the batch stay as they are.
  const viewLogits = model.forward(view(inputs), true);
  buffers.forEach((v, i) => v.assign(saved[i]));
  return consistency(outputs, viewLogits);
}
