/**
 * The wasm training kernels of src/engine/tfjs/kernels against the pure-JS cpu backend.
 * Error measure: relative error = max|wasm - cpu| / max(1, max|cpu|), over all elements; every
 * case must stay <= 1e-4. The gradients are taken through the public ops (tf.grads of conv2d /
 * depthwiseConv2d, tf.conv2dTranspose), so the engine dispatches to the registered kernels.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';
import { WASM_TRAINING_KERNELS } from '../src/engine/tfjs/kernels/register';

const TOLERANCE = 1e-4;

type Pad = 'same' | 'valid' | number;

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: Pad;
}

/** Deterministic inputs: the same values go to both backends. */
function randomValues(shape: number[], seed: number): Float32Array {
  let s = seed * 2654435761 + 1;
  const n = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / Math.max(1, scale);
}

/** Runs `f` on both backends with the same inputs; returns the outputs of each. */
function onBothBackends(shapes: number[][], f: (...inputs: tf.Tensor[]) => tf.Tensor[]): { wasm: Float32Array[]; cpu: Float32Array[] } {
  const values = shapes.map((s, i) => randomValues(s, i + 1));
  const run = (backend: string): Float32Array[] => {
    assert.ok(tf.setBackend(backend));
    return tf.tidy(() => f(...values.map((v, i) => tf.tensor(v, shapes[i]))).map((t) => t.dataSync() as Float32Array));
  };
  const cpu = run('cpu');
  const wasm = run('wasm');
  return { wasm, cpu };
}

function assertClose(name: string, r: { wasm: Float32Array[]; cpu: Float32Array[] }): void {
  r.wasm.forEach((w, i) => {
    const err = relativeError(w, r.cpu[i]);
    assert.ok(err <= TOLERANCE, `${name} output ${i}: relative error ${err.toExponential(2)} > ${TOLERANCE}`);
  });
}

const CONV_CASES: ConvCase[] = [
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 5], stride: 1, pad: 'same' },
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 5], stride: 2, pad: 'same' },
  { x: [1, 8, 8, 4], filter: [3, 3, 4, 6], stride: 2, pad: 'valid' },
  { x: [2, 8, 8, 4], filter: [3, 3, 4, 4], stride: 2, pad: 'same' },
  { x: [2, 8, 8, 4], filter: [3, 3, 4, 4], stride: 2, pad: 1 },
  { x: [1, 7, 7, 4], filter: [3, 3, 4, 8], stride: 1, pad: 1 },
  { x: [2, 7, 7, 4], filter: [1, 1, 4, 6], stride: 2, pad: 'same' },
  { x: [2, 8, 8, 4], filter: [1, 1, 4, 6], stride: 2, pad: 0 },
  { x: [3, 6, 6, 4], filter: [1, 1, 4, 6], stride: 1, pad: 'valid' },
  { x: [1, 10, 11, 2], filter: [5, 5, 2, 3], stride: 2, pad: 'same' },
  { x: [1, 5, 5, 3], filter: [3, 3, 3, 2], stride: 1, pad: 'valid' },
];

const DEPTHWISE_CASES: ConvCase[] = [
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 1], stride: 1, pad: 'same' },
  { x: [2, 9, 9, 3], filter: [3, 3, 3, 1], stride: 2, pad: 'same' },
  { x: [2, 8, 8, 6], filter: [3, 3, 6, 1], stride: 2, pad: 1 },
  { x: [1, 8, 8, 4], filter: [3, 3, 4, 1], stride: 2, pad: 'valid' },
  { x: [1, 7, 7, 5], filter: [3, 3, 5, 1], stride: 1, pad: 1 },
  { x: [2, 8, 8, 3], filter: [3, 3, 3, 2], stride: 2, pad: 'same' },
  { x: [2, 7, 7, 3], filter: [3, 3, 3, 2], stride: 1, pad: 'valid' },
  { x: [2, 6, 6, 4], filter: [1, 1, 4, 1], stride: 1, pad: 'valid' },
];

function label(c: ConvCase): string {
  return `x ${c.x.join('x')} filter ${c.filter.join('x')} stride ${c.stride} pad ${c.pad}`;
}

function convLoss(c: ConvCase, depthwise: boolean): (x: tf.Tensor, w: tf.Tensor) => tf.Tensor {
  // A non-uniform weighting of the output, so that every output position matters differently.
  return (x, w) => {
    const y = depthwise ? tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad) : tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
    return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
  };
}

describe('wasm training kernels', () => {
  before(async () => {
    const info = await initBackend('wasm');
    assert.equal(info.backend, 'wasm');
  });

  test('every training kernel is registered for wasm', () => {
    for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), `${name} missing`);
  });

  for (const c of CONV_CASES) {
    test(`conv2d gradients (Conv2DBackpropInput, Conv2DBackpropFilter): ${label(c)}`, () => {
      assertClose(label(c), onBothBackends([c.x, c.filter], (x, w) => tf.grads(convLoss(c, false))([x, w])));
    });
  }

  test('conv2dTranspose (Conv2DBackpropInput directly), stride 2', () => {
    const dyShape = [2, 4, 4, 6];
    assertClose('conv2dTranspose', onBothBackends([dyShape, [3, 3, 5, 6]], (dy, w) => [tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 5], 2, 'same')]));
  });

  for (const c of DEPTHWISE_CASES) {
    test(`depthwise gradients (DepthwiseConv2dNativeBackpropInput/Filter): ${label(c)}`, () => {
      assertClose(label(c), onBothBackends([c.x, c.filter], (x, w) => tf.grads(convLoss(c, true))([x, w])));
    });
  }

  test('repeated gradient computations leak no tensors and no backend buffers', () => {
    tf.setBackend('wasm');
    const x = tf.tensor(randomValues([2, 8, 8, 4], 7), [2, 8, 8, 4]);
    const w = tf.tensor(randomValues([3, 3, 4, 6], 8), [3, 3, 4, 6]);
    const dw = tf.tensor(randomValues([3, 3, 4, 1], 9), [3, 3, 4, 1]);
    const gradsOnce = (): void => {
      const g = tf.tidy(() => [
        ...tf.grads(convLoss({ x: [2, 8, 8, 4], filter: [3, 3, 4, 6], stride: 2, pad: 1 }, false))([x, w]),
        ...tf.grads(convLoss({ x: [2, 8, 8, 4], filter: [1, 1, 4, 6], stride: 2, pad: 0 }, false))([x, tf.slice(w, [1, 1, 0, 0], [1, 1, 4, 6])]),
        ...tf.grads(convLoss({ x: [2, 8, 8, 4], filter: [3, 3, 4, 1], stride: 2, pad: 'same' }, true))([x, dw]),
      ]);
      g.forEach((t) => t.dataSync());
      tf.dispose(g);
    };
    gradsOnce();
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    for (let i = 0; i < 5; i++) gradsOnce();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.backend().numDataIds(), buffers);
    tf.dispose([x, w, dw]);
  });
});
