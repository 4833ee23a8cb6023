/**
 * The freeing backward walk (src/engine/tfjs/freeing-backprop.ts): the same gradients as
 * TensorFlow.js's own walk, bit for bit (also with a gradient taken inside the step's), a smaller
 * wasm heap for the same step, and no tensor left behind.
 *
 * Memory is read where it is limited: the wasm heap, which grows to the step's peak and never
 * shrinks. The freeing walk runs first; the engine's walk, run after it on the same heap, must make
 * it grow well beyond that. (tfjs's own byte count is no measure here: it counts a buffer once per
 * tensor that shares it, and saved tensors share their buffers.)
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/engine/tfjs/backend';
import { installFreeingBackprop, uninstallFreeingBackprop } from '../src/engine/tfjs/freeing-backprop';
import { heapBuffer } from '../src/engine/tfjs/kernels/simd-loops';
import { buildModel } from '../src/engine/tfjs/models/index';
import type { Model } from '../src/engine/tfjs/types';

const BATCH = 64;
let model: Model;
let x: tf.Tensor4D;
let labels: tf.Tensor2D;

before(async () => {
  await initBackend('wasm');
  model = buildModel('resnet20', 10, { seed: 1 });
  x = tf.randomNormal([BATCH, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  labels = tf.cast(
    tf.oneHot(
      tf.tensor1d(
        Array.from({ length: BATCH }, (_, i) => i % 10),
        'int32',
      ),
      10,
    ) as tf.Tensor2D,
    'float32',
  );
});

const heapMB = (): number => heapBuffer(tf.backend() as BackendWasm).byteLength / 2 ** 20;

/** Gradients of the cross-entropy (plus, with `nested`, a term built from an inner tf.grad). */
function gradients(nested: boolean): Float32Array[] {
  const params = model.trainableVariables();
  const { value, grads } = tf.variableGrads(() => {
    const loss = tf.losses.softmaxCrossEntropy(labels, model.forward(x, true)) as tf.Scalar;
    if (!nested) return loss;
    // A variant may differentiate inside the step (here the first kernel's gradient of a smooth
    // function of itself): the inner walk must keep what the outer one still needs.
    const dw = tf.grad((w: tf.Tensor) => tf.sum(tf.sin(w)))(params[0]);
    return tf.add(loss, tf.mul(1e-3, tf.sum(tf.square(dw))));
  }, params);
  const values = params.map((p) => grads[p.name].dataSync() as Float32Array);
  tf.dispose([value, ...Object.values(grads)]);
  return values;
}

test('the freeing walk: the same gradients bit for bit, a smaller heap, nested gradients, no leak', (t) => {
  const start = heapMB();
  const tensors = tf.memory().numTensors;
  installFreeingBackprop();
  installFreeingBackprop(); // idempotent
  const freeing = gradients(false);
  const freeingHeap = heapMB();
  const freeingNested = gradients(true);
  assert.equal(tf.memory().numTensors, tensors, 'the freeing walk left tensors behind');
  uninstallFreeingBackprop();
  const engine = gradients(false);
  const engineHeap = heapMB();
  const engineNested = gradients(true);
  assert.equal(tf.memory().numTensors, tensors, "the engine's walk left tensors behind");
  for (const [i, g] of freeing.entries()) assert.deepEqual(g, engine[i], `parameter ${i} differs`);
  for (const [i, g] of freeingNested.entries()) assert.deepEqual(g, engineNested[i], `parameter ${i} differs with a nested gradient`);
  const ratio = (freeingHeap - start) / (engineHeap - start);
  t.diagnostic(
    `ResNet-20, batch ${BATCH}: the step grew the wasm heap by ${(engineHeap - start).toFixed(0)} MB with the engine's walk, ${(freeingHeap - start).toFixed(0)} MB freeing (${ratio.toFixed(2)}x)`,
  );
  assert.ok(ratio < 0.75, `heap ratio ${ratio.toFixed(2)}: the walk frees too little`);
});
