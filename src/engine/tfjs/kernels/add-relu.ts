/**
 * relu(a + b) as one differentiable step, the end of a residual block. Where the native path
 * registers `RegbenchAddRelu` {a, b} (float32, same shapes) the sum and the ReLU are one pass and
 * the sum is never kept; the gradient masks dy by the output (y > 0, or NaN: PyTorch's rule)
 * and hands the same tensor to both inputs. Elsewhere it is tf.relu(tf.add(a, b)).
 * Values and gradients equal the two-step form's.
 */
import * as tf from '@tensorflow/tfjs-core';
import { maskedGradient } from './activation-grad';

export const ADD_RELU = 'RegbenchAddRelu';

const fused = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b] = args as tf.Tensor[];
  const save = args[2] as tf.GradSaveFunc;
  const y = tf.engine().runKernel(ADD_RELU, { a, b }) as tf.Tensor;
  save([y]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const dz = maskedGradient(dy, saved[0], Infinity);
      // Two tensors (the second shares the first's memory): each input gets its own gradient.
      return [dz, tf.clone(dz)];
    },
  };
}) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

export function addRelu<T extends tf.Tensor>(a: T, b: T): T {
  const fits = a.dtype === 'float32' && b.dtype === 'float32' && tf.util.arraysEqual(a.shape, b.shape) && tf.getKernel(ADD_RELU, tf.getBackend()) !== undefined;
  return (fits ? fused(a, b) : tf.relu(tf.add(a, b))) as T;
}
