/**
 * The native path's second way of computing convolutions: through libtorch (`at::convolution`),
 * as where oneDNN's headers are absent (pip's torch). This machine builds the addon with oneDNN,
 * so this file (its own process) asks for libtorch's path with REGBENCH_NATIVE_CONV=libtorch and
 * checks every convolution kernel against the cpu backend: forward, input and filter gradients;
 * dense 3x3 at stride 1 and 2 with explicit and 'same' (asymmetric) padding, 1x1, depthwise with
 * multipliers 1 and 2. Tolerance as the other kernel tests (1e-4 relative to the largest value).
 */
process.env.REGBENCH_NATIVE_CONV = 'libtorch';

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';
import { nativeStatus } from '../src/engine/tfjs/native/index';
import { relativeError } from './relative-error';
import { seededValues } from './seeded-values';

const TOLERANCE = 1e-4;
const status = nativeStatus();

type Case = {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: 'same' | 'valid' | number;
  depthwise: boolean;
};

const CASES: Case[] = [
  { name: '3x3 stride 1, pad 1', x: [2, 6, 6, 4], filter: [3, 3, 4, 8], stride: 1, pad: 1, depthwise: false },
  { name: "3x3 stride 2, 'same' (asymmetric)", x: [2, 8, 8, 4], filter: [3, 3, 4, 8], stride: 2, pad: 'same', depthwise: false },
  { name: '1x1 stride 2', x: [2, 7, 7, 8], filter: [1, 1, 8, 4], stride: 2, pad: 'valid', depthwise: false },
  { name: 'depthwise 3x3, multiplier 1', x: [2, 6, 6, 8], filter: [3, 3, 8, 1], stride: 1, pad: 1, depthwise: true },
  { name: "depthwise 3x3 stride 2, multiplier 2, 'same'", x: [2, 7, 7, 4], filter: [3, 3, 4, 2], stride: 2, pad: 'same', depthwise: true },
];

/** Output, input gradient and filter gradient of one convolution on the active backend. */
function convAndGrads(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.tensor4d(seededValues(c.x, 1), c.x);
    const w = tf.tensor4d(seededValues(c.filter, 2), c.filter);
    const f = (a: tf.Tensor4D, b: tf.Tensor4D): tf.Tensor4D => (c.depthwise ? tf.depthwiseConv2d(a, b, c.stride, c.pad) : tf.conv2d(a, b, c.stride, c.pad));
    const y = f(x, w);
    const weights = tf.cos(tf.reshape(tf.range(0, y.size), y.shape));
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(f(a as tf.Tensor4D, b as tf.Tensor4D), weights)))([x, w]);
    return [y, dx, dw].map((t) => t.dataSync() as Float32Array);
  });
}

describe(
  'native convolutions through libtorch (REGBENCH_NATIVE_CONV=libtorch)',
  { skip: status.available ? false : `native kernels unavailable: ${status.reason}` },
  () => {
    before(async () => {
      await initBackend('cpu');
      const info = await initBackend('wasm+native');
      assert.equal(info.backend, 'wasm+native');
      assert.equal(info.versions.onednn, undefined, 'the run record names oneDNN only when the convolutions run on it');
    });

    for (const c of CASES) {
      test(`${c.name}: output, input and filter gradients match the cpu backend`, () => {
        assert.ok(tf.setBackend('cpu'));
        const cpu = convAndGrads(c);
        assert.ok(tf.setBackend('wasm'));
        const native = convAndGrads(c);
        ['output', 'input gradient', 'filter gradient'].forEach((what, i) => {
          const err = relativeError(native[i], cpu[i]);
          assert.ok(err <= TOLERANCE, `${c.name} ${what}: relative error ${err.toExponential(2)} > ${TOLERANCE}`);
        });
      });
    }
  },
);
