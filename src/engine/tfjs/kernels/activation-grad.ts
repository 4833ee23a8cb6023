/**
 * ReLU and ReLU6 gradients in one pass on wasm. tfjs-core's gradients build the mask from
 * scalar kernels (ReLU6: LessEqual, Step, Mul, Cast, Mul; ReLU: Step, Cast, Mul), each a full
 * pass over the activation. `RegbenchMaskedGrad` {dy, x}, attr `cap`, computes
 * `(x <= 0 || x > cap) ? 0 : dy` (cap = Infinity for ReLU) in one SIMD loop: tfjs-core's mask for
 * numbers (step(0) = 0; ReLU6 passes the gradient at x = 6), and PyTorch's at x = NaN, where dy
 * passes (threshold_backward / hardtanh_backward: `x <= 0 ? 0 : dy`), so a NaN dy is never
 * zeroed there. (tfjs-core's formula gives NaN there on cpu, the old mask 0.)
 *
 * The gradient configs replace tfjs-core's for every backend, but use the kernel only where it
 * is registered (wasm); elsewhere they compute the same mask with tf ops.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import type { GradConfig, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';
import { heapAddress, heapFloats } from './simd-loops';
import { simdPool } from './simd-pool';

export const MASKED_GRAD = 'RegbenchMaskedGrad';

const maskedGrad: KernelFunc = ({ inputs, backend, attrs }) => {
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  const cap = (attrs as { cap: number }).cap;
  const be = backend as BackendWasm;
  const pool = simdPool(be);
  if (!pool) throw new Error('wasm SIMD loops unavailable');
  const size = x.shape.reduce((p, d) => p * d, 1);
  const out = be.makeOutput(x.shape, 'float32');
  const [dyPtr, xPtr, outPtr] = [heapAddress(be, dy), heapAddress(be, x), heapAddress(be, out)];
  const vectorized = size - (size % 4);
  if (vectorized > 0) {
    // Two halves of whole vectors, one per thread.
    const half = Math.ceil(vectorized / 8) * 4;
    pool.split((part, call) => {
      const [from, to] = part === 0 ? [0, half] : [half, vectorized];
      if (to > from) call('maskedCopy', dyPtr + from * 4, xPtr + from * 4, outPtr + from * 4, (to - from) * 4, cap);
    });
  }
  if (vectorized < size) {
    // The last 1-3 elements, which do not fill a SIMD vector.
    const tail = size - vectorized;
    const [d, v, o] = [
      heapFloats(be, dyPtr + vectorized * 4, tail),
      heapFloats(be, xPtr + vectorized * 4, tail),
      heapFloats(be, outPtr + vectorized * 4, tail),
    ];
    for (let i = 0; i < tail; i++) o[i] = v[i] <= 0 || v[i] > cap ? 0 : d[i];
  }
  return out;
};

export const maskedGradConfig: KernelConfig = { kernelName: MASKED_GRAD, backendName: 'wasm', kernelFunc: maskedGrad };

/** dy where x is in (0, cap] or NaN, else 0 (the ReLU / ReLU6 gradient). */
export function maskedGradient(dy: tf.Tensor, x: tf.Tensor, cap: number): tf.Tensor {
  if (x.dtype === 'float32' && dy.dtype === 'float32' && tf.getKernel(MASKED_GRAD, tf.getBackend())) {
    return tf.engine().runKernel(MASKED_GRAD, { dy, x }, { cap }) as tf.Tensor;
  }
  // The same mask with tf ops (NaN passes dy).
  const zero = cap === Infinity ? tf.lessEqual(x, 0) : tf.logicalOr(tf.lessEqual(x, 0), tf.greater(x, cap));
  return tf.where(zero, tf.zerosLike(dy), dy);
}

export const reluGradConfig: GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => ({ x: () => maskedGradient(dy as tf.Tensor, saved[0], Infinity) }),
};

export const relu6GradConfig: GradConfig = {
  kernelName: 'Relu6',
  inputsToSave: ['x'],
  gradFunc: (dy, saved) => ({ x: () => maskedGradient(dy as tf.Tensor, saved[0], 6) }),
};
