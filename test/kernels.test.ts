/**
 * The wasm training kernels of src/engine/tfjs/kernels against the pure-JS cpu backend.
 * Error measure: relative error = max|wasm - cpu| / max(1, max|cpu|), over all elements; every
 * case must stay <= 1e-4. The gradients are taken through the public ops (tf.grads of conv2d /
 * depthwiseConv2d, tf.conv2dTranspose), so the engine dispatches to the registered kernels.
 * The SIMD loops (BatchNorm statistics and input gradient, ReLU/ReLU6 gradients) are checked the
 * same way: wasm uses them, the cpu backend computes tfjs-core's / the tf-op formulas.
 * Every suite runs once per wasm training path: pure wasm, and wasm+native (the native kernels
 * of native/ registered over the wasm ones) where the addon is built; same cases, same tolerance.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';
import { wasmTrainingPaths } from '../src/engine/tfjs/native/index';
import { WASM_TRAINING_KERNELS } from '../src/engine/tfjs/kernels/register';
import { channelKernelsFor } from '../src/engine/tfjs/kernels/channel-stats';
import { BatchNorm2d } from '../src/engine/tfjs/models/batchnorm';
import { heapAddress } from '../src/engine/tfjs/kernels/simd-loops';
import { simdPool } from '../src/engine/tfjs/kernels/simd-pool';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { relativeError } from './relative-error';
import { seededValues } from './seeded-values';

const TOLERANCE = 1e-4;

type Pad = 'same' | 'valid' | number;

interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  stride: number;
  pad: Pad;
}

/** Runs `f` on both backends with the same inputs; returns the outputs of each. */
function onBothBackends(shapes: number[][], f: (...inputs: tf.Tensor[]) => tf.Tensor[]): { wasm: Float32Array[]; cpu: Float32Array[] } {
  const values = shapes.map((s, i) => seededValues(s, i + 1));
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
  { x: [2, 5, 5, 8], filter: [1, 1, 8, 3], stride: 1, pad: 0 }, // 1x1 matrix product, Cin > Cout
  // 1x1, Cin % 4 == 0, Cout % 8 == 0: the SIMD outer-product loop (several row blocks and
  // float32 chunks in the last two).
  { x: [2, 5, 5, 8], filter: [1, 1, 8, 16], stride: 1, pad: 'valid' },
  { x: [3, 6, 6, 12], filter: [1, 1, 12, 8], stride: 1, pad: 0 },
  { x: [4, 20, 20, 4], filter: [1, 1, 4, 24], stride: 1, pad: 'same' },
  { x: [2, 16, 16, 64], filter: [1, 1, 64, 40], stride: 1, pad: 'valid' },
  // Cin % 4 == 0, Cout % 8 == 0, any filter: the outer-product loop along image rows (the last
  // one folds its float32 sums twice).
  { x: [2, 9, 9, 4], filter: [3, 3, 4, 8], stride: 1, pad: 'same' },
  { x: [2, 8, 8, 8], filter: [3, 3, 8, 16], stride: 2, pad: 'same' },
  { x: [1, 9, 10, 4], filter: [3, 3, 4, 8], stride: 2, pad: 1 },
  { x: [1, 7, 7, 8], filter: [3, 3, 8, 8], stride: 1, pad: 'valid' },
  { x: [1, 10, 11, 4], filter: [5, 5, 4, 8], stride: 2, pad: 'same' },
  { x: [2, 7, 7, 4], filter: [1, 1, 4, 8], stride: 2, pad: 'same' },
  { x: [3, 40, 40, 4], filter: [3, 3, 4, 8], stride: 1, pad: 'same' },
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
  // C % 4 == 0, multiplier 1: the direct SIMD filter gradient (fused 3- and 5-tap rows, edges
  // tap by tap; other widths tap by tap; images too small for any interior column).
  { x: [2, 9, 9, 8], filter: [3, 3, 8, 1], stride: 1, pad: 'same' },
  { x: [3, 10, 10, 12], filter: [3, 3, 12, 1], stride: 2, pad: 'same' },
  { x: [2, 9, 8, 4], filter: [3, 3, 4, 1], stride: 2, pad: 1 },
  { x: [1, 7, 9, 8], filter: [3, 3, 8, 1], stride: 1, pad: 'valid' },
  { x: [2, 11, 10, 4], filter: [5, 5, 4, 1], stride: 2, pad: 'same' },
  { x: [1, 9, 9, 4], filter: [7, 7, 4, 1], stride: 1, pad: 'same' },
  { x: [2, 4, 4, 8], filter: [2, 2, 8, 1], stride: 2, pad: 'valid' },
  { x: [2, 2, 2, 4], filter: [3, 3, 4, 1], stride: 1, pad: 'same' },
];

function label(c: ConvCase): string {
  return `x ${c.x.join('x')} filter ${c.filter.join('x')} stride ${c.stride} pad ${c.pad}`;
}

function convLoss(c: ConvCase, depthwise: boolean): (x: tf.Tensor, w: tf.Tensor) => tf.Tensor {
  // A non-uniform weighting of the output, so that every output position matters differently.
  return (x, w) => {
    const y = depthwise
      ? tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad)
      : tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad);
    return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
  };
}

/** `describe` once per wasm training path, with that path's kernels registered first. */
function describePerPath(name: string, body: () => void): void {
  for (const path of wasmTrainingPaths()) {
    describe(`${name} (${path})`, () => {
      before(async () => {
        const info = await initBackend(path);
        assert.equal(info.backend, path);
      });
      body();
    });
  }
}

describePerPath('wasm training kernels', () => {
  test('every training kernel is registered for wasm', () => {
    for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), `${name} missing`);
  });

  for (const c of CONV_CASES) {
    test(`conv2d gradients (Conv2DBackpropInput, Conv2DBackpropFilter): ${label(c)}`, () => {
      assertClose(
        label(c),
        onBothBackends([c.x, c.filter], (x, w) => tf.grads(convLoss(c, false))([x, w])),
      );
    });
  }

  for (const c of CONV_CASES) {
    test(`conv2d forward (Conv2D): ${label(c)}`, () => {
      assertClose(
        label(c),
        onBothBackends([c.x, c.filter], (x, w) => [tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad)]),
      );
    });
  }

  test('conv2dTranspose (Conv2DBackpropInput directly), stride 2', () => {
    const dyShape = [2, 4, 4, 6];
    assertClose(
      'conv2dTranspose',
      onBothBackends([dyShape, [3, 3, 5, 6]], (dy, w) => [tf.conv2dTranspose(dy as tf.Tensor4D, w as tf.Tensor4D, [2, 8, 8, 5], 2, 'same')]),
    );
  });

  // tfjs-core's Conv2D gradient drops the forward op's dimRoundingMode, so the gradient kernels
  // get a dy of the 'ceil' / 'round' output size with attributes that imply the floor size; the
  // cpu kernels then read the first outH x outW positions of dy, and so must these.
  for (const mode of ['ceil', 'round'] as const) {
    for (const [xs, fs, stride, pad] of [
      [[2, 8, 8, 4], [3, 3, 4, 8], 2, 0], // SIMD filter gradient
      [[2, 8, 8, 3], [3, 3, 3, 5], 2, 1], // convolution formulation
      [[1, 7, 7, 8], [2, 2, 8, 8], 2, 0],
    ] as Array<[[number, number, number, number], [number, number, number, number], number, number]>) {
      test(`conv2d gradients with dimRoundingMode '${mode}': x ${xs.join('x')} filter ${fs.join('x')} stride ${stride} pad ${pad}`, () => {
        const loss = (x: tf.Tensor, w: tf.Tensor): tf.Tensor => {
          const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad, 'NHWC', 1, mode);
          return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
        };
        assertClose(
          `${mode} conv2d`,
          onBothBackends([xs, fs], (x, w) => tf.grads(loss)([x, w])),
        );
        const dwShape: [number, number, number, number] = [fs[0], fs[1], fs[2], 1];
        const dwLoss = (x: tf.Tensor, w: tf.Tensor): tf.Tensor => {
          const y = tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad, 'NHWC', 1, mode);
          return tf.sum(tf.mul(y, tf.sin(tf.reshape(tf.range(0, y.size), y.shape))));
        };
        assertClose(
          `${mode} depthwise`,
          onBothBackends([xs, dwShape], (x, w) => tf.grads(dwLoss)([x, w])),
        );
      });
    }
  }

  test('conv2dTranspose with a dy larger than the output reads its first positions, as the cpu kernel does', () => {
    // An 8x8 dy for a 4x4 output (stride 2 'same' maps 4x4 to 2x2); tfjs-core's own spec
    // "input=8x8x8,output=4x4x8" expects these numbers too (test/tfjs-op-specs.test.ts).
    for (const [dyShape, w] of [
      [
        [2, 8, 8, 6],
        [3, 3, 5, 6],
      ],
      [
        [2, 8, 8, 8],
        [3, 3, 8, 8],
      ],
    ]) {
      assertClose(
        'conv2dTranspose',
        onBothBackends([dyShape, w], (dy, f) => [tf.conv2dTranspose(dy as tf.Tensor4D, f as tf.Tensor4D, [2, 4, 4, w[2]], 2, 'same')]),
      );
    }
  });

  test('an output gradient smaller than the output, or of another batch or depth, is an error', () => {
    assert.ok(tf.setBackend('wasm'));
    tf.tidy(() => {
      assert.throws(
        () => tf.conv2dTranspose(tf.ones([2, 1, 2, 6]) as tf.Tensor4D, tf.ones([3, 3, 5, 6]) as tf.Tensor4D, [2, 4, 4, 5], 2, 'same').dataSync(),
        /Conv2DBackpropInput: dy has shape \[2,1,2,6\].*gives \[2,2,2,6\]/,
      );
      const x = tf.ones([2, 8, 8, 8]);
      const run = (kernel: string, inputs: Record<string, tf.Tensor>, attrs: object): void =>
        void (tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor).dataSync();
      for (const [dyShape, why] of [
        [[2, 8, 7, 8], 'columns'],
        [[2, 4, 4, 8], 'smaller'],
        [[1, 8, 8, 8], 'batch'],
        [[2, 8, 8, 16], 'channels'],
      ] as const) {
        const dy = tf.ones(dyShape as unknown as number[]);
        assert.throws(
          () => run('Conv2DBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 8, 8] }),
          /Conv2DBackpropFilter: dy has shape/,
          why,
        );
        assert.throws(
          () => run('Conv2DBackpropInput', { dy, filter: tf.ones([3, 3, 8, 8]) }, { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [2, 8, 8, 8] }),
          /Conv2DBackpropInput: dy has shape/,
          why,
        );
        assert.throws(
          () => run('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides: 1, pad: 'same', dilations: 1, filterShape: [3, 3, 8, 1] }),
          /DepthwiseConv2dNativeBackpropFilter: dy has shape/,
          why,
        );
        assert.throws(
          () =>
            run(
              'DepthwiseConv2dNativeBackpropInput',
              { dy, filter: tf.ones([3, 3, 8, 1]) },
              { strides: 1, pad: 'same', dilations: 1, inputShape: [2, 8, 8, 8] },
            ),
          /DepthwiseConv2dNativeBackpropInput: dy has shape/,
          why,
        );
      }
    });
  });

  for (const c of DEPTHWISE_CASES) {
    test(`depthwise gradients (DepthwiseConv2dNativeBackpropInput/Filter): ${label(c)}`, () => {
      assertClose(
        label(c),
        onBothBackends([c.x, c.filter], (x, w) => tf.grads(convLoss(c, true))([x, w])),
      );
    });
  }

  test('repeated gradient computations leak no tensors and no backend buffers', () => {
    tf.setBackend('wasm');
    const x = tf.tensor(seededValues([2, 8, 8, 4], 7), [2, 8, 8, 4]);
    const w = tf.tensor(seededValues([3, 3, 4, 6], 8), [3, 3, 4, 6]);
    const dw = tf.tensor(seededValues([3, 3, 4, 1], 9), [3, 3, 4, 1]);
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

/** Training-mode BatchNorm2d: output, gradients of a non-uniform loss, updated running stats. */
function batchNormRun(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor): tf.Tensor[] {
  const c = x.shape[3] as number;
  const bn = new BatchNorm2d(c);
  bn.weight.assign(gamma);
  bn.bias.assign(beta);
  const xv = tf.variable(x);
  const lossWeights = tf.sin(tf.reshape(tf.range(0, x.size), x.shape));
  const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(bn.apply(xv as tf.Variable<tf.Rank.R4>, true), lossWeights)), [xv, bn.weight, bn.bias]);
  const out = [value, grads[xv.name], grads[bn.weight.name], grads[bn.bias.name], tf.clone(bn.running_mean), tf.clone(bn.running_var)];
  tf.dispose([xv, bn.weight, bn.bias, bn.running_mean, bn.running_var]);
  return out;
}

const BN_SHAPES: Array<[number, number, number, number]> = [
  [4, 6, 6, 8], // one block of rows
  [8, 16, 16, 12], // 2048 rows: several float32 partial-sum blocks
  [2, 5, 5, 6], // C % 4 != 0: the tf-op fallback on wasm too
];

/** Activations with exact 0 and 6 (the mask edges) among negative, inner and above-6 values. */
function activationInput(shape: number[]): tf.Tensor {
  const v = seededValues(shape, 11).map((u) => u * 8 - 1);
  for (let i = 0; i < v.length; i += 5) v[i] = i % 2 === 0 ? 0 : 6;
  return tf.tensor(v, shape);
}

describePerPath('wasm SIMD training loops', () => {
  for (const shape of BN_SHAPES) {
    test(`BatchNorm2d training output, gradients and running stats: x ${shape.join('x')}`, () => {
      assert.ok(tf.setBackend('wasm'));
      assert.equal(channelKernelsFor({ shape, dtype: 'float32' }), shape[3] % 4 === 0);
      // A mean far from zero against the spread: the one-pass moments must not cancel.
      assertClose(
        `batchnorm ${shape.join('x')}`,
        onBothBackends([shape, [shape[3]], [shape[3]]], (x, g, b) => batchNormRun(tf.add(tf.mul(x, 3), 50), tf.add(g, 1.5), b)),
      );
    });
  }

  for (const [name, cap] of [
    ['relu', undefined],
    ['relu6', 6],
  ] as const) {
    for (const shape of [[2, 4, 4, 8], [7]]) {
      test(`${name} gradient (one masked pass on wasm) equals tfjs-core's: x ${shape.join('x')}`, () => {
        const r = onBothBackends([shape], (dy) => {
          const x = activationInput(shape);
          return [tf.grad((t: tf.Tensor) => (cap === 6 ? tf.relu6(t) : tf.relu(t)))(x, dy)];
        });
        assertClose(name, r);
        // The mask edges: zero gradient at x = 0, passed through at x = 6 (both engines agree above).
        assert.equal(r.wasm[0][0], 0);
        assert.notEqual(r.wasm[0][5], 0);
      });
    }
  }

  test('the loops run on two threads: both parts of a split run, and a helper-thread trap is an error', () => {
    assert.ok(tf.setBackend('wasm'));
    const be = tf.backend() as BackendWasm;
    const pool = simdPool(be);
    assert.ok(pool, 'SIMD pool unavailable');
    assert.equal(pool.threaded, true, 'expected a helper thread (threaded wasm build, SharedArrayBuffer)');
    const n = 64;
    const [dy, x] = [tf.range(1, n + 1), tf.fill([n], 1)];
    const out = tf.zeros([n]);
    const [dyPtr, xPtr, outPtr] = [dy, x, out].map((t) => heapAddress(be, t));
    const parts: number[] = [];
    pool.split((part, call) => {
      parts.push(part);
      const from = part === 0 ? 0 : n / 2;
      call('maskedCopy', dyPtr + from * 4, xPtr + from * 4, outPtr + from * 4, (n / 2) * 4, Infinity);
    });
    assert.deepEqual(parts, [1, 0], 'part 1 is planned first (for the helper), then part 0 runs here');
    assert.deepEqual(Array.from(out.dataSync()), Array.from(dy.dataSync()));
    // An address past the 4 GiB heap traps inside the helper; the caller gets the error, and the
    // pool keeps working afterwards.
    assert.throws(
      () => pool.split((part, call) => call('maskedCopy', part === 1 ? 0xfffffff0 : dyPtr, xPtr, outPtr, 32, Infinity)),
      /SIMD helper thread failed: .*out of bounds/,
    );
    pool.split((part, call) => call('maskedCopy', dyPtr + part * 128, xPtr + part * 128, outPtr + part * 128, 128, Infinity));
    // More calls than the first call list holds (it is replaced by larger ones, twice here).
    const big = 100_000;
    const [bigDy, bigOut] = [tf.range(0, big * 4), tf.zeros([big * 4])];
    const ones = tf.fill([big * 4], 1);
    const [bigDyPtr, onesPtr, bigOutPtr] = [bigDy, ones, bigOut].map((t) => heapAddress(be, t));
    pool.split((part, call) => {
      if (part === 0) return;
      for (let i = 0; i < big; i++) call('maskedCopy', bigDyPtr + i * 16, onesPtr + i * 16, bigOutPtr + i * 16, 16, Infinity);
    });
    assert.deepEqual(Array.from(bigOut.dataSync().slice(-4)), [big * 4 - 4, big * 4 - 3, big * 4 - 2, big * 4 - 1]);
    assert.equal(tf.sum(tf.sub(bigOut, bigDy)).dataSync()[0], 0);
    tf.dispose([dy, x, out, bigDy, bigOut, ones]);
  });

  test('Identity and same-dtype Cast share the buffer; Cast to int32 converts', () => {
    assert.ok(tf.setBackend('wasm'));
    const x = tf.tensor([1.5, -2.25, 3, 4.75]);
    const buffers = tf.backend().numDataIds();
    const copy = tf.engine().runKernel('Identity', { x }) as tf.Tensor;
    const same = tf.cast(x, 'float32');
    assert.equal(tf.backend().numDataIds(), buffers);
    const asInt = tf.cast(x, 'int32');
    assert.equal(tf.backend().numDataIds(), buffers + 1);
    x.dispose();
    assert.deepEqual([...copy.dataSync()], [1.5, -2.25, 3, 4.75]);
    assert.deepEqual([...same.dataSync()], [1.5, -2.25, 3, 4.75]);
    assert.deepEqual([...asInt.dataSync()], [1, -2, 3, 4]);
    tf.dispose([copy, same, asInt]);
    assert.equal(tf.backend().numDataIds(), buffers - 1);
  });

  test('BatchNorm and activation gradients leak no tensors and no backend buffers', () => {
    assert.ok(tf.setBackend('wasm'));
    const x = tf.tensor(seededValues([2, 4, 4, 8], 3), [2, 4, 4, 8]);
    const once = (): void => {
      const r = tf.tidy(() => [...batchNormRun(x, tf.ones([8]), tf.zeros([8])), tf.grad((t: tf.Tensor) => tf.relu6(tf.relu(t)))(x)]);
      r.forEach((t) => t.dataSync());
      tf.dispose(r);
    };
    once();
    const tensors = tf.memory().numTensors;
    const buffers = tf.backend().numDataIds();
    for (let i = 0; i < 3; i++) once();
    assert.equal(tf.memory().numTensors, tensors);
    assert.equal(tf.backend().numDataIds(), buffers);
    x.dispose();
  });
});
