/**
 * The fused ReLUs against the two-step forms on every training path: BatchNorm2d.applyRelu
 * (BatchNorm2d and ReLU as one differentiable step: the output activated in the same pass, the
 * gradient masked by the activated output) against relu(apply()), and addRelu (a residual sum and
 * its ReLU) against relu(add()). For the norm: outputs, the gradients of input, weight and bias, and the running statistics
 * must be the same numbers (+0 and -0 count as equal, NaN as NaN), for channel counts that take
 * the per-channel kernels (8) and the tf-op formulation (6), with a NaN in one channel.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';
import { addRelu } from '../src/engine/tfjs/kernels/add-relu';
import { BatchNorm2d } from '../src/engine/tfjs/models/batchnorm';
import { nativeStatus } from '../src/engine/tfjs/native/index';
import type { BackendId } from '../src/protocol/benchmarks';

const native = nativeStatus();
const PATHS: Array<{ id: BackendId; skip: string | false }> = [
  { id: 'cpu', skip: false },
  { id: 'wasm', skip: false },
  { id: 'wasm+native', skip: native.available ? false : `native kernels unavailable: ${native.reason}` },
];

function sameNumbers(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) {
    const ok = Number.isNaN(expected[i]) ? Number.isNaN(actual[i]) : actual[i] === expected[i];
    assert.ok(ok, `${what}[${i}]: fused ${actual[i]}, separate ${expected[i]}`);
  }
}

/** One training forward + backward through BatchNorm2d and ReLU, fused or not. */
function run(values: number[], shape: [number, number, number, number], fused: boolean): Record<string, Float32Array> {
  const c = shape[3];
  return tf.tidy(() => {
    const x = tf.variable(tf.tensor(values, shape));
    const bn = new BatchNorm2d(c);
    bn.weight.assign(tf.linspace(0.5, 1.5, c));
    bn.bias.assign(tf.linspace(-0.3, 0.3, c));
    const weights = tf.sin(tf.reshape(tf.range(0, x.size), shape));
    const f = (): tf.Scalar => {
      const y = fused ? bn.applyRelu(x as tf.Variable<tf.Rank.R4>, true) : tf.relu(bn.apply(x as tf.Variable<tf.Rank.R4>, true));
      return tf.sum(tf.mul(y, weights));
    };
    const y = fused ? bn.applyRelu(x as tf.Variable<tf.Rank.R4>, true) : tf.relu(bn.apply(x as tf.Variable<tf.Rank.R4>, true));
    const { grads } = tf.variableGrads(f, [x, bn.weight, bn.bias]);
    const out = {
      y: y.dataSync() as Float32Array,
      dx: grads[x.name].dataSync() as Float32Array,
      dweight: grads[bn.weight.name].dataSync() as Float32Array,
      dbias: grads[bn.bias.name].dataSync() as Float32Array,
      runningMean: bn.running_mean.dataSync() as Float32Array,
      runningVar: bn.running_var.dataSync() as Float32Array,
      evaluation: bn.applyRelu(x as tf.Variable<tf.Rank.R4>, false).dataSync() as Float32Array,
    };
    tf.dispose([x, bn.weight, bn.bias, bn.running_mean, bn.running_var]);
    return out;
  });
}

for (const path of PATHS) {
  describe(`fused ReLUs = the two steps (${path.id})`, { skip: path.skip }, () => {
    for (const c of [8, 6]) {
      test(`C=${c}: outputs, gradients and running statistics are the same numbers`, async () => {
        assert.equal((await initBackend(path.id)).backend, path.id);
        const shape: [number, number, number, number] = [4, 5, 5, c];
        const values = Array.from({ length: 4 * 5 * 5 * c }, (_, i) => Math.sin(i * 1.7) * 2 + 0.3);
        values[7 * c + 2] = NaN;
        const fused = run(values, shape, true);
        const separate = run(values, shape, false);
        for (const key of Object.keys(separate)) sameNumbers(fused[key], separate[key], `${path.id} C=${c} ${key}`);
        // Not vacuous: the ReLU zeroed part of the output and the gradient reached the input.
        assert.ok(fused.y.some((v) => v === 0) && fused.y.some((v) => v > 0), 'the output has both zeros and positives');
        assert.ok(
          fused.dx.some((v) => Number.isFinite(v) && v !== 0),
          'a nonzero input gradient',
        );
      });
    }

    test('relu(a + b): output and both gradients are the same numbers, NaN of either sign included', async () => {
      assert.equal((await initBackend(path.id)).backend, path.id);
      const shape = [2, 3, 3, 8];
      const n = 2 * 3 * 3 * 8;
      const a = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.9));
      const b = Float32Array.from({ length: n }, (_, i) => Math.cos(i * 1.3) * 0.8);
      new Uint32Array(a.buffer)[5] = 0xffc00000; // the NaN x86 arithmetic makes (sign bit set)
      a[11] = NaN;
      const run = (fused: boolean): Float32Array[] =>
        tf.tidy(() => {
          const [ta, tb] = [tf.tensor(a, shape), tf.tensor(b, shape)];
          const weights = tf.sin(tf.reshape(tf.range(0, n), shape));
          const f = (x: tf.Tensor, z: tf.Tensor): tf.Tensor => tf.sum(tf.mul(fused ? addRelu(x, z) : tf.relu(tf.add(x, z)), weights));
          const [ga, gb] = tf.grads(f)([ta, tb]);
          return [fused ? addRelu(ta, tb) : tf.relu(tf.add(ta, tb)), ga, gb].map((t) => t.dataSync() as Float32Array);
        });
      const [fused, separate] = [run(true), run(false)];
      ['y', 'da', 'db'].forEach((what, i) => sameNumbers(fused[i], separate[i], `${path.id} relu(a + b) ${what}`));
      assert.ok(Number.isNaN(fused[0][5]) && Number.isNaN(fused[0][11]), 'NaN of either sign stays NaN');
      assert.ok(
        fused[0].some((v) => v === 0) && fused[1].some((v) => v === 0) && fused[1].some((v) => v !== 0 && Number.isFinite(v)),
        'the mask both passes and stops',
      );
    });
  });
}
