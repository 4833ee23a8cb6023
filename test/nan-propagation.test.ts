/**
 * NaN through the activations and BatchNorm2d on the wasm backend (with Regbench's kernels) and on
 * the cpu backend, against PyTorch's semantics:
 *   relu(NaN) = relu6(NaN) = NaN (torch.relu / F.relu6 = hardtanh(0, 6) propagate NaN);
 *   their gradients at x = NaN pass dy through (threshold_backward: `x <= 0 ? 0 : dy`;
 *   hardtanh_backward: `x <= 0 || x >= 6 ? 0 : dy`), so a NaN dy is never zeroed there;
 *   BatchNorm in training: a NaN makes its channel's batch statistics, outputs and running
 *   statistics NaN, the other channels stay finite; in evaluation only that element is NaN, and
 *   NaN running statistics make their channel NaN.
 * The values at the mask edges stay tfjs-core's (gradient 0 at x = 0, dy at x = 6).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';
import { BatchNorm2d } from '../src/engine/tfjs/models/batchnorm';
import { nativeStatus } from '../src/engine/tfjs/native/index';

const BACKENDS = ['wasm', 'cpu'] as const;

// 9 values: the SIMD loops take the first 8, the last goes through the scalar tail.
const X = [NaN, -1, 0, 3, 6, 7, NaN, 2, NaN];
const DY = [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, NaN, NaN, 0.25];
const RELU = [NaN, 0, 0, 3, 6, 7, NaN, 2, NaN];
const RELU6 = [NaN, 0, 0, 3, 6, 6, NaN, 2, NaN];
// Gradients: NaN inputs pass dy (0.5, NaN, 0.25); x <= 0 gives 0; x = 6 passes dy (tfjs-core).
const RELU_GRAD = [0.5, 0, 0, 0.5, 0.5, 0.5, NaN, NaN, 0.25];
const RELU6_GRAD = [0.5, 0, 0, 0.5, 0.5, 0, NaN, NaN, 0.25];

function same(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  const a = Array.from(actual);
  const e = Array.from(expected);
  assert.equal(a.length, e.length, what);
  a.forEach((v, i) => {
    const ok = Number.isNaN(e[i]) ? Number.isNaN(v) : Math.abs(v - e[i]) <= 1e-5 * Math.max(1, Math.abs(e[i]));
    assert.ok(ok, `${what}[${i}]: got ${v}, expected ${e[i]} (all: ${a.join(', ')})`);
  });
}

/** Whether each channel of an NHWC result holds a NaN. */
function nanChannels(values: ArrayLike<number>, c: number): boolean[] {
  const out = new Array<boolean>(c).fill(false);
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) out[i % c] = true;
  return out;
}

function countNaN(values: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (Number.isNaN(values[i])) n++;
  return n;
}

describe('NaN propagation (PyTorch semantics) on wasm and cpu', () => {
  before(async () => {
    const info = await initBackend('wasm');
    assert.equal(info.backend, 'wasm');
  });

  for (const backend of BACKENDS) {
    for (const [name, f, forward, grad] of [
      ['relu', tf.relu, RELU, RELU_GRAD],
      ['relu6', tf.relu6, RELU6, RELU6_GRAD],
    ] as const) {
      // [9]: two SIMD vectors and a scalar tail; [8, 9]: 72 values, split over both threads.
      for (const shape of [[9], [8, 9]]) {
        test(`${backend}: ${name} and its gradient keep NaN, x ${shape.join('x')}`, () => {
          assert.ok(tf.setBackend(backend));
          const reps = shape.length === 1 ? 1 : shape[0];
          const tile = (v: number[]): number[] => Array.from({ length: reps }, () => v).flat();
          tf.tidy(() => {
            const x = tf.tensor(tile(X), shape);
            const dy = tf.tensor(tile(DY), shape);
            same(f(x).dataSync(), tile(forward), `${name}(x)`);
            same(
              tf
                .grad((t: tf.Tensor) => f(t))(x, dy)
                .dataSync(),
              tile(grad),
              `${name}'(x) * dy`,
            );
          });
        });
      }
    }

    test(`${backend}: relu keeps a NaN whose sign bit is set (the NaN x86 arithmetic makes)`, () => {
      assert.ok(tf.setBackend(backend));
      // 9 values: both SIMD halves and the scalar tail see the negative NaN.
      const bits = new Uint32Array(9).fill(0xffc00000);
      bits[1] = 0x3f800000; // 1.0
      const y = tf.tidy(() => tf.relu(tf.tensor(new Float32Array(bits.buffer), [9])).dataSync());
      assert.equal(countNaN(y), 8, `relu of 8 negative NaNs and a 1: ${Array.from(y).join(', ')}`);
    });

    test(`${backend}: BatchNorm2d in training mode: a NaN poisons its channel only (output, gradients, running stats)`, () => {
      assert.ok(tf.setBackend(backend));
      for (const c of [8, 6]) {
        const shape: [number, number, number, number] = [2, 3, 3, c];
        const nanChannel = 1;
        tf.tidy(() => {
          const values = Array.from({ length: 2 * 3 * 3 * c }, (_, i) => Math.sin(i) * 3 + 1);
          values[4 * c + nanChannel] = NaN; // one pixel in the middle of the first sample
          const x = tf.variable(tf.tensor(values, shape));
          const bn = new BatchNorm2d(c);
          const weights = tf.cos(tf.reshape(tf.range(0, x.size), shape));
          const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.apply(x as tf.Variable<tf.Rank.R4>, true), weights)), [x, bn.weight, bn.bias]);
          assert.ok(Number.isNaN(value.dataSync()[0]), 'loss');
          const y = tf.tidy(() => bn.apply(x as tf.Variable<tf.Rank.R4>, true));
          const expected = Array.from({ length: c }, (_, i) => i === nanChannel);
          assert.deepEqual(nanChannels(y.dataSync(), c), expected, `C=${c} training output: NaN channels`);
          assert.equal(countNaN(y.dataSync()), 2 * 3 * 3, `C=${c}: the whole NaN channel and nothing else`);
          assert.deepEqual(nanChannels(grads[bn.weight.name].dataSync(), c), expected, `C=${c} weight gradient`);
          // The bias gradient is sum(dy): finite, as in PyTorch.
          assert.equal(countNaN(grads[bn.bias.name].dataSync()), 0, `C=${c} bias gradient`);
          assert.deepEqual(nanChannels(grads[x.name].dataSync(), c), expected, `C=${c} input gradient`);
          assert.deepEqual(nanChannels(bn.running_mean.dataSync(), c), expected, `C=${c} running mean`);
          assert.deepEqual(nanChannels(bn.running_var.dataSync(), c), expected, `C=${c} running var`);
          // Evaluation with the NaN running statistics: that channel is NaN everywhere.
          const clean = tf.tensor(
            values.map((v) => (Number.isNaN(v) ? 0 : v)),
            shape,
          ) as tf.Tensor4D;
          assert.deepEqual(nanChannels(bn.apply(clean, false).dataSync(), c), expected, `C=${c} evaluation with NaN running stats`);
          // NaN through ReLU6 after it stays NaN (the MobileNetV2 path of issue 13).
          assert.equal(countNaN(tf.relu6(bn.apply(clean, false)).dataSync()), 2 * 3 * 3, `C=${c} relu6 after evaluation-mode BatchNorm`);
          tf.dispose([x, bn.weight, bn.bias, bn.running_mean, bn.running_var]);
        });
      }
    });

    test(`${backend}: BatchNorm2d in evaluation mode: a NaN stays in its element`, () => {
      assert.ok(tf.setBackend(backend));
      for (const c of [8, 6]) {
        tf.tidy(() => {
          const shape: [number, number, number, number] = [2, 2, 2, c];
          const values = Array.from({ length: 8 * c }, (_, i) => Math.cos(i));
          values[3 * c + 2] = NaN;
          const bn = new BatchNorm2d(c);
          const y = bn.apply(tf.tensor(values, shape) as tf.Tensor4D, false).dataSync();
          assert.equal(countNaN(y), 1, `C=${c}`);
          assert.ok(Number.isNaN(y[3 * c + 2]));
          assert.equal(countNaN(tf.relu6(tf.tensor(y, shape)).dataSync()), 1, `C=${c} relu6`);
          assert.equal(countNaN(tf.relu(tf.tensor(y, shape)).dataSync()), 1, `C=${c} relu`);
          // The networks' global average pool before the classifier: NaN, not -Infinity.
          const pooled = tf.avgPool(tf.tensor(y, shape) as tf.Tensor4D, [2, 2], 1, 'valid').dataSync();
          assert.deepEqual(
            Array.from(pooled, (v) => Number.isNaN(v)),
            Array.from({ length: 2 * c }, (_, i) => i === 2),
            `C=${c} global average pool`,
          );
          assert.equal(countNaN(tf.clipByValue(tf.tensor(y, shape), -1, 1).dataSync()), 1, `C=${c} clipByValue`);
          tf.dispose([bn.weight, bn.bias, bn.running_mean, bn.running_var]);
        });
      }
    });
  }
});

// The native path replaces the ReLU / ReLU6 gradient mask with its own loop: same contract.
const native = nativeStatus();
describe(
  'NaN propagation through the activations on the native path (wasm+native)',
  { skip: native.available ? false : `native kernels unavailable: ${native.reason}` },
  () => {
    before(async () => {
      assert.equal((await initBackend('wasm+native')).backend, 'wasm+native');
    });
    for (const [name, f, forward, grad] of [
      ['relu', tf.relu, RELU, RELU_GRAD],
      ['relu6', tf.relu6, RELU6, RELU6_GRAD],
    ] as const) {
      test(`wasm+native: ${name} and its gradient keep NaN`, () => {
        tf.tidy(() => {
          const x = tf.tensor(X);
          same(f(x).dataSync(), forward, `${name}(x)`);
          same(
            tf
              .grad((t: tf.Tensor) => f(t))(x, tf.tensor(DY))
              .dataSync(),
            grad,
            `${name}'(x) * dy`,
          );
        });
      });
    }
  },
);
