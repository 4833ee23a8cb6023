/**
 * ReLU and ReLU6 gradients in one pass on wasm. tfjs-core's gradients build the mask from
 * scalar kernels (ReLU6: LessEqual, Step, Mul, Cast, Mul; ReLU: Step, Cast, Mul), each a full
 * pass over the activation. `RegbenchMaskedGrad` {dy, x}, attr `cap`, computes
 * `(0 < x <= cap) ? dy : 0` (cap = Infinity for ReLU) in one SIMD loop, which is exactly the
 * mask tfjs-core uses (step(0) = 0; ReLU6 passes the gradient at x = 6).
 *
 * The gradient configs replace tfjs-core's for every backend, but use the kernel only where it
 * is registered (wasm); elsewhere they compute tfjs-core's formula.
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
    const [d, v, o] = [heapFloats(be, dyPtr + vectorized * 4, tail), heapFloats(be, xPtr + vectorized * 4, tail), heapFloats(be, outPtr + vectorized * 4, tail)];
    for (let i = 0; i < tail; i++) o[i] = v[i] > 0 && v[i] <= cap ? d[i] : 0;
  }
  return out;
};

export const maskedGradConfig: KernelConfig = { kernelName: MASKED_GRAD, backendName: 'wasm', kernelFunc: maskedGrad };

function maskedGradient(dy: tf.Tensor, x: tf.Tensor, cap: number): tf.Tensor {
  if (x.dtype === 'float32' && dy.dtype === 'float32' && tf.getKernel(MASKED_GRAD, tf.getBackend())) {
    return tf.engine().runKernel(MASKED_GRAD, { dy, x }, { cap }) as tf.Tensor;
  }
  // tfjs-core's own formulas.
  const mask = cap === 6 ? tf.mul(tf.lessEqual(x, 6), tf.step(x)) : tf.step(x);
  return tf.mul(dy, tf.cast(mask, 'float32'));
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
