/**
 * DropBlock-style co-activation penalty: a deterministic, differentiable stand-in for DropBlock.
 * DropBlock drops contiguous blocks because neighbouring activations carry redundant information;
 * this term penalizes that redundancy directly: the co-activation of distinct positions that share a
 * BLOCK_SIZE x BLOCK_SIZE window.
 *
 * Formula, for each selected feature map A [B,H,W,C]:
 *   n  = A / sqrt(mean_{h,w} A^2 + EPS)          per (sample, channel): scale-free, so shrinking the
 *                                                activations cannot lower the term
 *   over every k x k window (k = BLOCK_SIZE, stride 1, no padding; (H-k+1) x (W-k+1) windows):
 *   s  = sum_window n,   q = sum_window n^2
 *   c  = (s^2 - q) / (k^2 (k^2 - 1))            the mean of n_i * n_j over ordered pairs i != j
 *                                                (all local products minus the self terms)
 *   P(A) = mean over (sample, window, channel) of relu(c)
 *   term = LAMBDA * mean over selected maps of P(A)
 * Selected maps: walking model.features in forward order, a map is selected when H >= k, W >= k and
 * it is the last map of its run of equal spatial size (the end of a stage: ResNet-56 'layer1.8',
 * 'layer2.8', 'layer3.8').
 * Properties: term >= 0; a constant positive map gives c = 1, a +/-1 checkerboard c = -1/9 (P = 0),
 * zero-mean i.i.d. noise P ~ 0; c <= q / k^2, so P is about 1 at most.
 * Cost: two average pools per selected map.
 * Paper: the idea of Ghiasi, Lin, Le, "DropBlock: A regularization method for convolutional
 *        networks", NeurIPS 2018; the penalty form is this template's (see templates/README.md).
 * Hyperparameters: BLOCK_SIZE = 3, LAMBDA = 0.1, EPS = 1e-5 (below); the same in dropblock_penalty.py.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RegConfig, RegModel } from 'regbench';

const BLOCK_SIZE = 3;
const LAMBDA = 0.1;
const EPS = 1e-5;

export function computeRegularization(
  model: RegModel,
  inputs: tf.Tensor4D,
  outputs: tf.Tensor2D,
  targets: tf.Tensor1D,
  config: RegConfig,
): tf.Scalar {
  const maps = stageEnds([...model.features.values()], BLOCK_SIZE);
  if (maps.length === 0) {
    throw new Error(`dropblock-penalty: no feature map of at least ${BLOCK_SIZE}x${BLOCK_SIZE} in model.features (${model.features.size} recorded)`);
  }
  return tf.mul(LAMBDA, tf.mean(tf.stack(maps.map((a) => coActivation(a, BLOCK_SIZE))))) as tf.Scalar;
}

/** The last map of each run of equal spatial size, keeping maps of at least k x k. */
function stageEnds(maps: tf.Tensor4D[], k: number): tf.Tensor4D[] {
  return maps.filter((a, i) => {
    const [, h, w] = a.shape;
    const next = maps[i + 1];
    const endOfRun = next === undefined || next.shape[1] !== h || next.shape[2] !== w;
    return endOfRun && h >= k && w >= k;
  });
}

/** P(A): mean positive co-activation of distinct positions within k x k windows. */
export function coActivation(a: tf.Tensor4D, k: number): tf.Scalar {
  const rms = tf.sqrt(tf.add(tf.mean(tf.square(a), [1, 2], true), EPS));
  const n = tf.div(a, rms) as tf.Tensor4D;
  const area = k * k;
  const s = tf.mul(tf.avgPool(n, k, 1, 'valid'), area);
  const q = tf.mul(tf.avgPool(tf.square(n) as tf.Tensor4D, k, 1, 'valid'), area);
  const c = tf.div(tf.sub(tf.square(s), q), area * (area - 1));
  return tf.mean(tf.relu(c)) as tf.Scalar;
}
