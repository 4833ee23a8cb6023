/**
 * The native path ('wasm+native', native/ over libtorch) beyond what kernels.test.ts and
 * gradients.test.ts check on both paths:
 *
 * - With REGBENCH_EXPECT_NATIVE=1 (set in CI, where g++ and libtorch-dev are installed) the addon
 *   must be built and load; elsewhere the native suites are skipped with the reason.
 * - The kernels only the native path replaces for training (matrix products, fused convolutions
 *   with bias and activation) against the cpu backend, tolerance as kernels.test.ts (1e-4).
 * - 'wasm' and 'wasm+native' switch the registrations back and forth.
 * - The fused SGD update gives the tf-op formulation's values bit for bit.
 * - Determinism: two identical short trainings (same seed, same thread count) end with
 *   bit-identical weights.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';
import { nativeKernelsActive, nativeStatus } from '../src/engine/tfjs/native/index';
import { buildModel } from '../src/engine/tfjs/models/index';
import { applySgd, SGD_UPDATE } from '../src/engine/tfjs/sgd';
import { relativeError } from './relative-error';
import { seededValues } from './seeded-values';

const TOLERANCE = 1e-4;
const status = nativeStatus();
const skip = status.available ? false : `native kernels unavailable: ${status.reason}`;



/** `f` on the native path and on the cpu backend with the same inputs; asserts they agree. */
function agreesWithCpu(name: string, shapes: number[][], f: (...inputs: tf.Tensor[]) => tf.Tensor[]): void {
  const inputs = shapes.map((s, i) => seededValues(s, i + 3));
  const run = (backend: string): Float32Array[] => {
    assert.ok(tf.setBackend(backend));
    return tf.tidy(() => f(...inputs.map((v, i) => tf.tensor(v, shapes[i]))).map((t) => t.dataSync() as Float32Array));
  };
  const cpu = run('cpu');
  const native = run('wasm');
  native.forEach((v, i) => {
    const err = relativeError(v, cpu[i]);
    assert.ok(err <= TOLERANCE, `${name} output ${i}: relative error ${err.toExponential(2)} > ${TOLERANCE}`);
  });
}

test('the native kernels load where they are expected (REGBENCH_EXPECT_NATIVE=1)', () => {
  if (process.env.REGBENCH_EXPECT_NATIVE === '1') assert.ok(status.available, `REGBENCH_EXPECT_NATIVE=1 but ${status.reason}`);
  else if (!status.available) console.log(`# ${skip}`);
});

describe('native kernels (wasm+native)', { skip }, () => {
  before(async () => {
    await initBackend('cpu');
    assert.equal((await initBackend('wasm+native')).backend, 'wasm+native');
  });

  test("'wasm' removes the native kernels and 'wasm+native' puts them back", async () => {
    assert.equal(nativeKernelsActive(), true);
    assert.equal((await initBackend('wasm')).backend, 'wasm');
    assert.equal(nativeKernelsActive(), false);
    const info = await initBackend('wasm+native');
    assert.equal(info.backend, 'wasm+native');
    assert.equal(nativeKernelsActive(), true);
    assert.ok(info.versions.libtorch, 'libtorch version in the run environment');
    // CI installs libdnnl-dev: there the convolutions must run on oneDNN, not on libtorch's fallback.
    if (process.env.REGBENCH_EXPECT_NATIVE === '1') assert.ok(info.versions.onednn, `convolutions on oneDNN (versions: ${JSON.stringify(info.versions)})`);
  });

  // The broadcast case is forward only: tfjs-core's BatchMatMul gradient does not reduce b's batch.
  const matmuls: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean; grads?: false }> = [
    { a: [5, 7], b: [7, 3], ta: false, tb: false },
    { a: [7, 5], b: [7, 3], ta: true, tb: false },
    { a: [5, 7], b: [3, 7], ta: false, tb: true },
    { a: [2, 7, 5], b: [2, 3, 7], ta: true, tb: true },
    { a: [4, 5, 7], b: [1, 7, 3], ta: false, tb: false, grads: false },
  ];
  for (const m of matmuls) {
    test(`matMul (BatchMatMul) a ${m.a.join('x')}${m.ta ? 'ᵀ' : ''} b ${m.b.join('x')}${m.tb ? 'ᵀ' : ''}${m.grads === false ? '' : ', and its gradients'}`, () => {
      const grads = (a: tf.Tensor, b: tf.Tensor): tf.Tensor[] => (m.grads === false ? [] : tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.sin(tf.matMul(x, y, m.ta, m.tb))))([a, b]));
      agreesWithCpu('matMul', [m.a, m.b], (a, b) => [tf.matMul(a, b, m.ta, m.tb), ...grads(a, b)]);
    });
  }

  for (const activation of ['linear', 'relu', 'relu6'] as const) {
    test(`fused matMul with bias, ${activation} (_FusedMatMul)`, () => {
      agreesWithCpu('fused matMul', [[6, 9], [9, 4], [4]], (a, b, bias) => [tf.fused.matMul({ a: tf.mul(a, 8), b, bias, activation })]);
    });
    test(`fused conv2d and depthwise conv2d with bias, ${activation} (FusedConv2D, FusedDepthwiseConv2D)`, () => {
      agreesWithCpu('fused conv', [[2, 7, 7, 4], [3, 3, 4, 6], [6], [3, 3, 4, 2], [8]], (x, w, bias, dw, dbias) => [
        tf.fused.conv2d({ x: tf.mul(x, 4) as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 2, pad: 1, bias, activation }),
        tf.fused.depthwiseConv2d({ x: tf.mul(x, 4) as tf.Tensor4D, filter: dw as tf.Tensor4D, strides: 1, pad: 'same', bias: dbias, activation }),
      ]);
    });
  }

  for (const [shape, filter, stride, pad] of [[[2, 8, 8, 4], 2, 2, 'valid'], [[2, 7, 9, 3], 3, 2, 'same'], [[1, 6, 6, 5], 3, 1, 1]] as const) {
    test(`maxPool gradient (MaxPoolGrad): x ${shape.join('x')} filter ${filter} stride ${stride} pad ${pad}`, () => {
      // Rounded to a few levels so that windows hold ties: the first maximum takes the gradient.
      agreesWithCpu('maxPoolGrad', [[...shape]], (x) => tf.grads((t: tf.Tensor) => tf.sum(tf.sin(tf.maxPool(t as tf.Tensor4D, filter, stride, pad))))([tf.round(tf.mul(x, 2))]));
    });
  }

  for (const axes of [[0, 1, 2], [0], [0, 1]]) {
    test(`sum over leading axes [${axes.join(', ')}] (Sum), and keepDims`, () => {
      agreesWithCpu('sum', [[3, 5, 4, 6]], (x) => [tf.sum(x, axes), tf.sum(x, axes, true), tf.sum(x, [2, 3])]);
    });
  }

  test('a fused activation the native kernels do not cover falls back to the wasm kernel', () => {
    agreesWithCpu('fused matMul elu', [[6, 9], [9, 4], [4]], (a, b, bias) => [tf.fused.matMul({ a, b, bias, activation: 'elu' })]);
  });

  test('the fused SGD update (RegbenchSgdUpdate) gives the tf-op formulation bit for bit', () => {
    assert.ok(tf.setBackend('wasm'));
    assert.ok(tf.getKernel(SGD_UPDATE, 'wasm'), 'the native path registers the fused SGD kernel');
    const shapes = [[3, 3, 16, 32], [32], [64, 10], [1]];
    const settings = { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 };
    const fresh = (): { params: tf.Variable[]; momenta: tf.Variable[]; grads: tf.Tensor[] } => ({
      params: shapes.map((s, i) => tf.variable(tf.tensor(seededValues(s, 20 + i), s))),
      momenta: shapes.map((s, i) => tf.variable(tf.tensor(seededValues(s, 30 + i), s))),
      grads: shapes.map((s, i) => tf.tensor(seededValues(s, 40 + i), s)),
    });
    const fused = fresh();
    for (let step = 0; step < 3; step++) applySgd(fused.params, fused.momenta, fused.grads, settings);
    const reference = fresh();
    for (let step = 0; step < 3; step++) {
      tf.tidy(() => reference.params.forEach((p, i) => {
        const buf = tf.add(tf.mul(reference.momenta[i], settings.momentum), tf.add(reference.grads[i], tf.mul(p, settings.weightDecay)));
        reference.momenta[i].assign(buf);
        p.assign(tf.sub(p, tf.mul(buf, settings.lr)));
      }));
    }
    shapes.forEach((_, i) => {
      assert.deepEqual(fused.params[i].dataSync(), reference.params[i].dataSync(), `parameter ${i}`);
      assert.deepEqual(fused.momenta[i].dataSync(), reference.momenta[i].dataSync(), `momentum ${i}`);
    });
    tf.dispose([...fused.params, ...fused.momenta, ...fused.grads, ...reference.params, ...reference.momenta, ...reference.grads]);
  });

  test('two identical short trainings give identical weights (same seed, same threads)', () => {
    assert.ok(tf.setBackend('wasm'));
    const train = (): Float32Array[] => {
      const model = buildModel('resnet20', 10, { seed: 5 });
      const params = model.trainableVariables();
      const x = tf.tensor(seededValues([8, 16, 16, 3], 11), [8, 16, 16, 3]) as tf.Tensor4D;
      const labels = tf.oneHot(tf.tensor1d([0, 1, 2, 3, 4, 5, 6, 7], 'int32'), 10);
      for (let step = 0; step < 3; step++) {
        const { grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.forward(x, true)) as tf.Scalar, params);
        tf.tidy(() => params.forEach((p) => p.assign(tf.sub(p, tf.mul(grads[p.name], 0.1)))));
        tf.dispose(Object.values(grads));
      }
      const weights = model.trainableVariables().map((v) => v.dataSync() as Float32Array);
      tf.dispose([x, labels]);
      model.dispose();
      return weights;
    };
    const first = train();
    const second = train();
    assert.equal(first.length, second.length);
    first.forEach((w, i) => assert.deepEqual(second[i], w, `parameter ${i} differs between two identical runs`));
  });
});
