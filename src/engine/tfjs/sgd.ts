/**
 * torch.optim.SGD's update (momentum, weight decay, no dampening, no Nesterov) over every
 * trainable variable: d = g + wd * w; buf = momentum * buf + d; w = w - lr * buf.
 *
 * Where the backend has the fused kernel `RegbenchSgdUpdate` (the native path registers it), the
 * whole update is one kernel call for all parameters, with the same float32 operations in the
 * same order as the tf-op formulation used everywhere else; per parameter that formulation
 * dispatches six kernels, which on ResNet-110 (330 parameters) is ~2,000 small kernel calls
 * a step.
 */
import * as tf from '@tensorflow/tfjs-core';

export const SGD_UPDATE = 'RegbenchSgdUpdate';

export interface SgdSettings {
  lr: number;
  momentum: number;
  weightDecay: number;
}

/** Updates `params` and their `momenta` in place (by assign) from `grads` (same order). */
export function applySgd(params: tf.Variable[], momenta: tf.Variable[], grads: tf.Tensor[], s: SgdSettings): void {
  tf.tidy(() => {
    if (fusedKernelFits(params, momenta, grads)) return fusedUpdate(params, momenta, grads, s);
    for (let i = 0; i < params.length; i++) {
      const p = params[i];
      const d = tf.add(grads[i], tf.mul(p, s.weightDecay));
      const buf = tf.add(tf.mul(momenta[i], s.momentum), d);
      momenta[i].assign(buf);
      p.assign(tf.sub(p, tf.mul(buf, s.lr)));
    }
  });
}

function fusedKernelFits(params: tf.Variable[], momenta: tf.Variable[], grads: tf.Tensor[]): boolean {
  if (params.length === 0 || tf.getKernel(SGD_UPDATE, tf.getBackend()) === undefined) return false;
  return params.every(
    (p, i) => p.dtype === 'float32' && momenta[i].dtype === 'float32' && grads[i].dtype === 'float32' && p.size === grads[i].size && p.size === momenta[i].size,
  );
}

function fusedUpdate(params: tf.Variable[], momenta: tf.Variable[], grads: tf.Tensor[], s: SgdSettings): void {
  const inputs: tf.NamedTensorMap = {};
  params.forEach((p, i) => {
    inputs[`p${i}`] = p;
    inputs[`m${i}`] = momenta[i];
    inputs[`g${i}`] = grads[i];
  });
  const attrs = { lr: s.lr, momentum: s.momentum, weightDecay: s.weightDecay, count: params.length };
  // Outputs alternate: new value of parameter i, then its new momentum buffer.
  const outs = tf.engine().runKernel(SGD_UPDATE, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor[];
  params.forEach((p, i) => {
    p.assign(outs[2 * i]);
    momenta[i].assign(outs[2 * i + 1]);
  });
}
