/**
 * The native path ('wasm+native', native/ over libtorch) beyond what kernels.test.ts and
 * gradients.test.ts check on both paths:
 *
 * - Where the addon is expected (g++ and libtorch-dev installed, or REGBENCH_EXPECT_NATIVE=1; see
 *   native-expected.ts) it must be built and load: a missing addon fails here. Elsewhere the
 *   native suites are skipped with the reason.
 * - The addon checks every offset and size it gets from JavaScript: for every kernel, a valid call
 *   passes, each tensor moved partly outside the heap and each parameter made NaN is refused with
 *   a JS error naming the parameter; negative, fractional, too large, misaligned, overflowing and
 *   inconsistent values likewise. test/native-sanitizer.test.ts runs this file against the
 *   AddressSanitizer + UndefinedBehaviorSanitizer build (REGBENCH_EXPECT_SANITIZERS=1).
 * - The kernels only the native path replaces for training (matrix products, fused convolutions
 *   with bias and activation) against the cpu backend, tolerance as kernels.test.ts (1e-4).
 * - 'wasm' and 'wasm+native' switch the registrations back and forth, and which kernel ran (the
 *   addon's or the wasm one it replaced) is observed, as for a configuration the addon does not
 *   cover (it falls back to the wasm kernel).
 * - The fused SGD update gives the tf-op formulation's values bit for bit.
 * - Determinism: two identical short trainings (same seed, same thread count) end with
 *   bit-identical weights.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { KernelConfig } from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';
import { loadAddon, type NativeAddon } from '../src/engine/tfjs/native/addon';
import { nativeKernelsActive, nativeStatus } from '../src/engine/tfjs/native/index';
import { buildModel } from '../src/engine/tfjs/models/index';
import { applySgd, SGD_UPDATE } from '../src/engine/tfjs/sgd';
import { nativeExpectation } from './native-expected';
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

const expectation = nativeExpectation();

test('the native kernels load where they are expected (g++ and libtorch-dev, or REGBENCH_EXPECT_NATIVE=1)', (t) => {
  if (!expectation.expected) {
    t.skip(`the addon is not expected here: ${expectation.why}${status.available ? '' : `; ${skip}`}`);
    return;
  }
  assert.ok(status.available, `the addon is expected here (${expectation.why}) but ${status.reason}`);
});

test('the sanitizer build is the one loaded where it is asked for (REGBENCH_EXPECT_SANITIZERS=1)', (t) => {
  if (process.env.REGBENCH_EXPECT_SANITIZERS !== '1') {
    t.skip('not asked for (test/native-sanitizer.test.ts sets REGBENCH_EXPECT_SANITIZERS=1)');
    return;
  }
  const addon = loadAddon().addon;
  assert.ok(addon, `no addon: ${status.reason}`);
  assert.deepEqual([...addon.info().sanitizers].sort(), ['address', 'undefined'], `sanitizers of ${loadAddon().path}`);
});

/**
 * One valid call per kernel on a small plain heap (every tensor in a slot of its own), with the
 * indices of its tensor offsets and of its real-valued (non-integer) parameters.
 */
const SLOT = 1024;
const at = (i: number): number => SLOT * (i + 1);
const GEOMETRY = [1, 4, 4, 2, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 4, 4, 1];
type KernelName = Exclude<keyof NativeAddon, 'setThreads' | 'info' | 'sanitizerProbe'>;
const KERNEL_CALLS: Array<{ name: KernelName; params: number[]; tensors: number[]; reals?: number[] }> = [
  { name: 'conv2d', params: [at(0), at(1), at(2), at(3), 1, ...GEOMETRY], tensors: [0, 1, 2, 3] },
  { name: 'conv2dBackpropInput', params: [at(0), at(1), at(2), ...GEOMETRY], tensors: [0, 1, 2] },
  { name: 'conv2dBackpropFilter', params: [at(0), at(1), at(2), ...GEOMETRY], tensors: [0, 1, 2] },
  { name: 'batchMatMul', params: [at(0), at(1), at(2), at(3), 1, 1, 1, 2, 3, 4, 0, 1, 4], tensors: [0, 1, 2, 3] },
  { name: 'channelMoments', params: [at(0), at(1), at(2), 4, 2], tensors: [0, 1, 2] },
  { name: 'channelGradSums', params: [at(0), at(1), at(2), at(3), at(4), 4, 2, at(5)], tensors: [0, 1, 2, 3, 4, 7] },
  { name: 'channelAffine', params: [at(0), at(1), at(2), at(3), 4, 2, 1], tensors: [0, 1, 2, 3] },
  { name: 'channelAffine2', params: [at(0), at(1), at(2), at(3), at(4), at(5), 4, 2, at(6)], tensors: [0, 1, 2, 3, 4, 5, 8] },
  { name: 'maskedGrad', params: [at(0), at(1), at(2), 8, 6], tensors: [0, 1, 2], reals: [4] },
  { name: 'addRelu', params: [at(0), at(1), at(2), 8], tensors: [0, 1, 2] },
  { name: 'leadingSum', params: [at(0), at(1), 4, 2], tensors: [0, 1] },
  { name: 'maxPoolGrad', params: [at(0), at(1), at(2), 1, 4, 4, 2, 2, 2, 2, 2, 0, 0, 2, 2], tensors: [0, 1, 2] },
  { name: 'sgdUpdate', params: [1, 0.1, 0.9, 5e-4, at(0), at(1), at(2), at(3), at(4), 8], tensors: [4, 5, 6, 7, 8], reals: [1, 2, 3] },
];

describe('the addon checks every offset and size from JavaScript', { skip }, () => {
  const heap = new Uint8Array(SLOT * 10);
  const addon = (): NativeAddon => {
    const a = loadAddon().addon;
    assert.ok(a);
    return a;
  };
  const kernel =
    (name: KernelName): ((params: number[]) => void) =>
    (params) =>
      addon()[name](heap, Float64Array.from(params));

  for (const { name, params, tensors, reals = [] } of KERNEL_CALLS) {
    test(`${name}: a valid call passes; each tensor partly outside the heap, and each parameter NaN, is refused naming it`, () => {
      const run = kernel(name);
      assert.doesNotThrow(() => run(params), `${name}: the valid call`);
      for (const k of tensors) {
        const moved = params.slice();
        moved[k] = heap.length - 4;
        assert.throws(
          () => run(moved),
          new RegExp(`${name}: parameter ${k} \\(\\w+\\) lies outside the heap`),
          `${name} with parameter ${k} at the heap's last float`,
        );
      }
      for (let k = 0; k < params.length; k++) {
        if (reals.includes(k)) continue;
        const bad = params.slice();
        bad[k] = NaN;
        assert.throws(() => run(bad), new RegExp(`${name}: parameter ${k} \\(\\w+\\) is not a finite number`), `${name} with parameter ${k} NaN`);
      }
    });
  }

  test("a tensor ending at the heap's last byte is computed; one float further is refused", () => {
    const floats = new Float32Array(heap.buffer);
    const end = heap.length - 8 * 4;
    floats.set([1, -2, 3, -4, 5, -6, 7, -8], at(0) / 4);
    floats.set([1, 1, 1, 1, 1, 1, 1, 1], at(1) / 4);
    kernel('addRelu')([at(0), at(1), end, 8]);
    assert.deepEqual([...floats.subarray(end / 4)], [2, 0, 4, 0, 6, 0, 8, 0]);
    assert.throws(
      () => kernel('addRelu')([at(0), at(1), end + 4, 8]),
      /addRelu: parameter 2 \(out\) lies outside the heap: 8 floats at byte 10212, heap 10240 bytes/,
    );
  });

  for (const [value, reason] of [
    [Infinity, 'is not a finite number'],
    [-1, 'is negative'],
    [2.5, 'is not an integer'],
    [2 ** 31, 'is too large'],
  ] as const) {
    test(`a size of ${value} is refused: ${reason}`, () => {
      assert.throws(() => kernel('addRelu')([at(0), at(1), at(2), value]), new RegExp(`addRelu: parameter 3 \\(size\\) ${reason}`));
    });
  }

  test('offsets: negative, fractional, beyond 2^53 or misaligned are refused', () => {
    const run = kernel('addRelu');
    assert.throws(() => run([-4, at(1), at(2), 8]), /parameter 0 \(a\) is negative/);
    assert.throws(() => run([at(0) + 0.5, at(1), at(2), 8]), /parameter 0 \(a\) is not an integer/);
    assert.throws(() => run([2 ** 60, at(1), at(2), 8]), /parameter 0 \(a\) is too large/);
    assert.throws(() => run([at(0) + 2, at(1), at(2), 8]), /parameter 0 \(a\) is not 4-byte aligned/);
  });

  test('sizes whose product overflows, and an inconsistent convolution, are refused', () => {
    const huge = 2 ** 31 - 1;
    assert.throws(
      () => kernel('conv2d')([at(0), at(1), 0, at(3), 0, huge, huge, huge, huge, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, huge, huge, 1]),
      /conv2d: tensor size overflows/,
    );
    const geometry = GEOMETRY.slice();
    geometry[15] = 5;
    assert.throws(() => kernel('conv2d')([at(0), at(1), 0, at(3), 0, ...geometry]), /conv2d: parameter 20 \(outH\) is 5, the geometry gives 4/);
    geometry[15] = 4;
    geometry[17] = 2;
    geometry[6] = 3;
    assert.throws(() => kernel('conv2d')([at(0), at(1), 0, at(3), 0, ...geometry]), /conv2d: parameter 22 \(groups\) must divide/);
    assert.throws(() => kernel('batchMatMul')([at(0), at(1), 0, at(3), 0, 2, 3, 1, 1, 1, 0, 0, 0]), /batchMatMul: parameter 6 \(batchB\) must equal batchA/);
    assert.throws(
      () => kernel('sgdUpdate')([2, 0.1, 0.9, 0, at(0), at(1), at(2), at(3), at(4), 8]),
      /sgdUpdate: parameter 0 \(count\) needs 16 parameters, got 10/,
    );
  });

  test('arguments that are not (Uint8Array, Float64Array) are a TypeError', () => {
    const fn = addon().addRelu;
    assert.throws(() => fn(heap, Float32Array.from([at(0), at(1), at(2), 8]) as unknown as Float64Array), TypeError);
    assert.throws(() => fn(new Float32Array(16) as unknown as Uint8Array, Float64Array.from([0, 16, 32, 2])), TypeError);
    assert.throws(() => fn(heap, Float64Array.from([at(0), at(1), at(2)])), /addRelu: expected 4 parameters, got 3/);
  });
});

describe('native kernels (wasm+native)', { skip }, () => {
  // The wasm kernel the native _FusedMatMul replaces (its fallback), as registered before it.
  let wasmFusedMatMul: KernelConfig | undefined;

  before(async () => {
    await initBackend('cpu');
    await initBackend('wasm');
    wasmFusedMatMul = tf.getKernel('_FusedMatMul', 'wasm');
    assert.equal((await initBackend('wasm+native')).backend, 'wasm+native');
  });

  /** Runs `f` counting the calls of the addon's matrix product and of the wasm _FusedMatMul. */
  function countMatMuls(f: () => void): { native: number; wasm: number } {
    const addon = loadAddon().addon;
    const wasm = wasmFusedMatMul;
    assert.ok(addon && wasm, 'the addon and the wasm _FusedMatMul');
    const counts = { native: 0, wasm: 0 };
    const [nativeFn, wasmFn] = [addon.batchMatMul, wasm.kernelFunc];
    addon.batchMatMul = (heap, params) => {
      counts.native++;
      nativeFn(heap, params);
    };
    wasm.kernelFunc = (args) => {
      counts.wasm++;
      return wasmFn(args);
    };
    try {
      f();
    } finally {
      addon.batchMatMul = nativeFn;
      wasm.kernelFunc = wasmFn;
    }
    return counts;
  }

  const fusedMatMul =
    (activation: tf.fused.Activation) =>
    (a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor): tf.Tensor[] => [tf.fused.matMul({ a, b, bias, activation })];

  test("'wasm' removes the native kernels and 'wasm+native' puts them back", async () => {
    assert.equal(nativeKernelsActive(), true);
    assert.deepEqual(
      countMatMuls(() => agreesWithCpu('fused matMul relu (native)', [[6, 9], [9, 4], [4]], fusedMatMul('relu'))),
      { native: 1, wasm: 0 },
      'wasm+native: the addon computes it',
    );
    assert.equal((await initBackend('wasm')).backend, 'wasm');
    assert.equal(nativeKernelsActive(), false);
    assert.deepEqual(
      countMatMuls(() => agreesWithCpu('fused matMul relu (wasm)', [[6, 9], [9, 4], [4]], fusedMatMul('relu'))),
      { native: 0, wasm: 1 },
      "'wasm': the wasm kernel computes it",
    );
    const info = await initBackend('wasm+native');
    assert.equal(info.backend, 'wasm+native');
    assert.equal(nativeKernelsActive(), true);
    assert.ok(info.versions.libtorch, 'libtorch version in the run environment');
    // Where libdnnl-dev is installed the convolutions must run on oneDNN, not on libtorch's fallback.
    if (expectation.onednn) assert.ok(info.versions.onednn, `convolutions on oneDNN (versions: ${JSON.stringify(info.versions)})`);
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
      const grads = (a: tf.Tensor, b: tf.Tensor): tf.Tensor[] =>
        m.grads === false ? [] : tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.sin(tf.matMul(x, y, m.ta, m.tb))))([a, b]);
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

  for (const [shape, filter, stride, pad] of [
    [[2, 8, 8, 4], 2, 2, 'valid'],
    [[2, 7, 9, 3], 3, 2, 'same'],
    [[1, 6, 6, 5], 3, 1, 1],
  ] as const) {
    test(`maxPool gradient (MaxPoolGrad): x ${shape.join('x')} filter ${filter} stride ${stride} pad ${pad}`, () => {
      // Rounded to a few levels so that windows hold ties: the first maximum takes the gradient.
      agreesWithCpu('maxPoolGrad', [[...shape]], (x) =>
        tf.grads((t: tf.Tensor) => tf.sum(tf.sin(tf.maxPool(t as tf.Tensor4D, filter, stride, pad))))([tf.round(tf.mul(x, 2))]),
      );
    });
  }

  for (const axes of [[0, 1, 2], [0], [0, 1]]) {
    test(`sum over leading axes [${axes.join(', ')}] (Sum), and keepDims`, () => {
      agreesWithCpu('sum', [[3, 5, 4, 6]], (x) => [tf.sum(x, axes), tf.sum(x, axes, true), tf.sum(x, [2, 3])]);
    });
  }

  test('a fused activation the native kernels do not cover falls back to the wasm kernel', () => {
    assert.ok(tf.setBackend('wasm'));
    assert.equal(nativeKernelsActive(), true);
    const counts = countMatMuls(() => agreesWithCpu('fused matMul elu', [[6, 9], [9, 4], [4]], fusedMatMul('elu')));
    assert.deepEqual(counts, { native: 0, wasm: 1 }, 'elu: the wasm kernel ran, the addon did not');
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
      tf.tidy(() =>
        reference.params.forEach((p, i) => {
          const buf = tf.add(tf.mul(reference.momenta[i], settings.momentum), tf.add(reference.grads[i], tf.mul(p, settings.weightDecay)));
          reference.momenta[i].assign(buf);
          p.assign(tf.sub(p, tf.mul(buf, settings.lr)));
        }),
      );
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
