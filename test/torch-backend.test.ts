/**
 * The torch backend ('torch', src/engine/tfjs/torch/): tensors in libtorch, kernels mapped to
 * ATen, every other kernel through the CPU backend (counted).
 *
 * - With REGBENCH_EXPECT_TORCH=1 (CI, where g++ and libtorch-dev are installed) the addon must
 *   build and load; elsewhere the suites are skipped with the reason.
 * - Kernels against the cpu backend (values and gradients), relative error <= 1e-4: convolutions
 *   dense and depthwise ('same' with asymmetric pads, 'valid', strides, dilations, fused bias and
 *   activations), pooling and its gradients, matrix products, softmax, reductions, elementwise
 *   with broadcasting, shape ops.
 * - Memory: tensors freed when disposed (numDataIds), handles checked in the addon.
 * - A ResNet-20 training step's loss and gradients agree with the cpu backend, and no kernel of
 *   that step falls back to the CPU.
 * - `--device cuda` where libtorch has no CUDA: one-line refusal.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// Tensor methods (x.mul, x.sum) the cases use.
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import { initBackend } from '../src/engine/tfjs/backend';
import { loadTorchAddon } from '../src/engine/tfjs/torch/addon';
import { fallbackCounts, resetFallbackCounts } from '../src/engine/tfjs/torch/index';
import { buildModel } from '../src/engine/tfjs/models/index';
import { trainStep } from '../src/engine/tfjs/step';
import { relativeError } from './relative-error';

const TOLERANCE = 1e-4;
/** The device under test: cpu here; bench/gpu-check.sh sets cuda on a GPU machine. */
const DEVICE = process.env.REGBENCH_TEST_DEVICE ?? 'cpu';
const load = loadTorchAddon();
const skip = load.addon ? false : `torch backend unavailable: ${load.reason}`;

function values(shape: number[], seed: number): Float32Array {
  let s = seed * 2654435761 + 1;
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out[i] = (s / 2 ** 32) * 2 - 1;
  }
  return out;
}

/** `f` on 'torch' and on 'cpu' with the same inputs; asserts every output agrees. */
async function agreesWithCpu(name: string, shapes: number[][], f: (...inputs: tf.Tensor[]) => tf.Tensor[]): Promise<void> {
  const inputs = shapes.map((s, i) => values(s, i + 3));
  const run = async (backend: string): Promise<Array<{ v: ArrayLike<number>; shape: number[]; dtype: string }>> => {
    assert.ok(await tf.setBackend(backend));
    const outs = tf.tidy(() => f(...inputs.map((v, i) => tf.tensor(v, shapes[i]))));
    const read = outs.map((t) => ({ v: t.dataSync() as ArrayLike<number>, shape: t.shape, dtype: t.dtype as string }));
    tf.dispose(outs);
    return read;
  };
  const cpu = await run('cpu');
  const torch = await run('torch');
  assert.equal(torch.length, cpu.length);
  torch.forEach((t, i) => {
    assert.deepEqual(t.shape, cpu[i].shape, `${name} output ${i}: shape`);
    assert.equal(t.dtype, cpu[i].dtype, `${name} output ${i}: dtype`);
    const err = relativeError(Array.from(t.v, Number), Array.from(cpu[i].v, Number));
    assert.ok(err <= TOLERANCE, `${name} output ${i}: relative error ${err.toExponential(2)} > ${TOLERANCE}`);
  });
}

/** The value and the gradients of sum(f(inputs) * w) for a fixed random w. */
function withGrads(f: (...inputs: tf.Tensor[]) => tf.Tensor): (...inputs: tf.Tensor[]) => tf.Tensor[] {
  return (...inputs) => {
    const y = f(...inputs);
    const w = tf.tensor(values(y.shape, 99), y.shape);
    const g = tf.grads((...xs: tf.Tensor[]) =>
      f(...xs)
        .mul(w)
        .sum(),
    );
    return [y, ...g(inputs)];
  };
}

test('the torch backend loads where it is expected (REGBENCH_EXPECT_TORCH=1)', () => {
  if (process.env.REGBENCH_EXPECT_TORCH === '1') assert.ok(load.addon, `REGBENCH_EXPECT_TORCH=1 but ${load.reason}`);
  else if (!load.addon) console.log(`# ${skip}`);
});

describe('torch backend kernels against the cpu backend', { skip }, () => {
  before(async () => {
    await initBackend('cpu');
    const info = await initBackend('torch', { device: DEVICE });
    assert.equal(info.backend, 'torch');
    assert.equal(info.device, DEVICE === 'cuda' ? 'cuda' : DEVICE);
    assert.match(info.versions.libtorch, /^\d+\.\d+/);
    resetFallbackCounts();
  });

  const convs: Array<{ x: number[]; f: number[]; s: number | [number, number]; pad: 'same' | 'valid' | number }> = [
    { x: [2, 8, 8, 3], f: [3, 3, 3, 5], s: 1, pad: 'same' },
    { x: [2, 8, 8, 4], f: [3, 3, 4, 6], s: 2, pad: 'same' },
    { x: [2, 9, 7, 4], f: [3, 3, 4, 6], s: 2, pad: 'same' },
    { x: [2, 8, 8, 4], f: [1, 1, 4, 8], s: 2, pad: 'valid' },
    { x: [1, 7, 7, 2], f: [2, 2, 2, 3], s: 2, pad: 1 },
    // tfjs sizes this one with the height's stride in both directions; the CPU kernel runs it.
    { x: [1, 7, 7, 2], f: [2, 2, 2, 3], s: [1, 2], pad: 1 },
  ];
  for (const c of convs) {
    test(`conv2d x=${c.x} f=${c.f} stride ${c.s} pad ${c.pad}, with gradients`, async () => {
      await agreesWithCpu(
        'conv2d',
        [c.x, c.f],
        withGrads((x, f) => tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad)),
      );
    });
  }
  test('conv2d with dilation 2 (forward: tfjs has no dilated gradients)', async () => {
    await agreesWithCpu(
      'dilated',
      [
        [1, 9, 9, 2],
        [3, 3, 2, 3],
      ],
      (x, f) => [tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'same', 'NHWC', 2), tf.conv2d(x as tf.Tensor4D, f as tf.Tensor4D, 1, 'valid', 'NHWC', 2)],
    );
  });
  const dws: Array<{ x: number[]; f: number[]; s: number; pad: 'same' | 'valid' }> = [
    { x: [2, 8, 8, 4], f: [3, 3, 4, 1], s: 1, pad: 'same' },
    { x: [2, 8, 8, 4], f: [3, 3, 4, 1], s: 2, pad: 'same' },
    { x: [2, 7, 7, 3], f: [3, 3, 3, 2], s: 1, pad: 'valid' },
  ];
  for (const c of dws) {
    test(`depthwiseConv2d x=${c.x} f=${c.f} stride ${c.s} pad ${c.pad}, with gradients`, async () => {
      await agreesWithCpu(
        'depthwise',
        [c.x, c.f],
        withGrads((x, f) => tf.depthwiseConv2d(x as tf.Tensor4D, f as tf.Tensor4D, c.s, c.pad)),
      );
    });
  }
  test('fused conv2d with bias and relu6 / relu, fused depthwise, fused matMul with bias and relu', async () => {
    await agreesWithCpu('fused', [[2, 8, 8, 4], [3, 3, 4, 6], [6], [3, 3, 4, 1], [4], [5, 7], [7, 3], [3]], (x, f, b, df, db, a, m, mb) => [
      tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 1, pad: 'same', bias: b, activation: 'relu6' }),
      tf.fused.conv2d({ x: x as tf.Tensor4D, filter: f as tf.Tensor4D, strides: 2, pad: 'same', bias: b, activation: 'relu' }),
      tf.fused.depthwiseConv2d({ x: x as tf.Tensor4D, filter: df as tf.Tensor4D, strides: 1, pad: 'same', bias: db, activation: 'relu6' }),
      tf.fused.matMul({ a: a as tf.Tensor2D, b: m as tf.Tensor2D, bias: mb, activation: 'relu' }),
    ]);
  });
  for (const pad of ['same', 'valid'] as const) {
    test(`maxPool / avgPool 3x3 stride 2 '${pad}' and 2x2 stride 2, with gradients`, async () => {
      await agreesWithCpu(
        'maxPool',
        [[2, 9, 9, 3]],
        withGrads((x) => tf.maxPool(x as tf.Tensor4D, 3, 2, pad)),
      );
      await agreesWithCpu(
        'avgPool',
        [[2, 9, 9, 3]],
        withGrads((x) => tf.avgPool(x as tf.Tensor4D, 3, 2, pad)),
      );
      await agreesWithCpu(
        'pool 2x2',
        [[2, 8, 8, 3]],
        withGrads((x) => tf.maxPool(x as tf.Tensor4D, 2, 2, pad).add(tf.avgPool(x as tf.Tensor4D, 2, 2, pad))),
      );
    });
  }
  test('matMul with transposes and batchMatMul, with gradients', async () => {
    await agreesWithCpu(
      'matMul',
      [
        [5, 7],
        [7, 3],
      ],
      withGrads((a, b) => tf.matMul(a, b)),
    );
    await agreesWithCpu(
      'matMul tA tB',
      [
        [7, 5],
        [3, 7],
      ],
      withGrads((a, b) => tf.matMul(a, b, true, true)),
    );
    await agreesWithCpu(
      'batchMatMul',
      [
        [2, 5, 7],
        [2, 7, 3],
      ],
      withGrads((a, b) => tf.matMul(a, b)),
    );
  });
  test('softmax, logSoftmax, cross-entropy, with gradients', async () => {
    await agreesWithCpu(
      'softmax',
      [[6, 10]],
      withGrads((x) => tf.softmax(x)),
    );
    await agreesWithCpu(
      'logSoftmax',
      [[6, 10]],
      withGrads((x) => tf.logSoftmax(x)),
    );
    await agreesWithCpu(
      'cross-entropy',
      [[6, 10]],
      withGrads((x) => tf.losses.softmaxCrossEntropy(tf.oneHot(tf.tensor1d([1, 0, 3, 9, 2, 2], 'int32'), 10), x)),
    );
  });
  test('reductions over one, several and all axes, keepDims, argMax, int32 and bool sums', async () => {
    await agreesWithCpu('reductions', [[3, 4, 5]], (x) => [
      x.sum(),
      x.sum(1),
      x.sum([0, 2], true),
      x.mean([1, 2]),
      x.max(2),
      x.min([0, 1]),
      x.prod(0),
      x.argMax(1),
      x.argMin(-1),
      x.greater(0).sum(1),
      x.greater(0).all(1).cast('float32'),
      x.greater(0).any(2).cast('float32'),
      x.mul(10).cast('int32').sum(0),
    ]);
  });
  test('elementwise unary and binary ops with broadcasting, with gradients', async () => {
    await agreesWithCpu('unary', [[4, 6]], (x) => [
      x.abs(),
      x.neg(),
      x.exp(),
      x.abs().log(),
      x.abs().sqrt(),
      x.abs().add(0.5).rsqrt(),
      x.square(),
      x.relu(),
      x.relu6(),
      x.sigmoid(),
      x.tanh(),
      x.floor(),
      x.ceil(),
      x.mul(3).round(),
      x.sign(),
      x.elu(),
      x.selu(),
      x.softplus(),
      x.erf(),
      tf.leakyRelu(x, 0.2),
      x.clipByValue(-0.3, 0.4),
      tf.step(x, 0.1),
      x.isNaN().cast('float32'),
      x.reciprocal(),
      x.log1p(),
      x.expm1(),
      x.sin(),
      x.cos(),
      x.asinh(),
      x.atan(),
    ]);
    await agreesWithCpu('binary', [[4, 6], [6], [4, 1]], (a, b, c) => [
      a.add(b),
      a.sub(c),
      a.mul(b),
      a.div(b.abs().add(0.5)),
      a.maximum(c),
      a.minimum(b),
      a.abs().pow(b),
      tf.squaredDifference(a, c),
      a.mod(b.abs().add(0.5)),
      a.floorDiv(b.abs().add(0.3)),
      a.greater(b).cast('float32'),
      a.lessEqual(c).cast('float32'),
      a.equal(a).cast('float32'),
      tf.logicalAnd(a.greater(0), b.greater(0)).cast('float32'),
      tf.atan2(a, b),
    ]);
    await agreesWithCpu(
      'binary grads',
      [[4, 6], [6], [4, 1]],
      withGrads((a, b, c) =>
        a
          .mul(b)
          .add(c)
          .div(b.abs().add(1))
          .sub(tf.maximum(a, a.mul(0.5))),
      ),
    );
  });
  test('shape ops: reshape, transpose, slice, concat, stack, unstack, split, pad, tile, reverse, gather, where, oneHot, cast, fill', async () => {
    await agreesWithCpu(
      'shape',
      [
        [2, 3, 4],
        [2, 3, 4],
      ],
      (x, y) => [
        x.reshape([6, 4]),
        x.transpose([2, 0, 1]),
        x.slice([0, 1, 1], [2, 2, -1]),
        tf.concat([x, y], 1),
        tf.stack([x, y], 2),
        ...tf.unstack(x, 1),
        ...tf.split(x, [1, 3], 2),
        tf.pad(
          x,
          [
            [0, 1],
            [2, 0],
            [1, 1],
          ],
          0.5,
        ),
        tf.tile(x, [1, 2, 1]),
        tf.reverse(x, [0, 2]),
        tf.gather(x, tf.tensor1d([2, 0, 2], 'int32'), 1),
        tf.where(x.greater(y), x, y),
        tf.oneHot(tf.tensor1d([0, 3, 1], 'int32'), 4),
        x.mul(5).cast('int32'),
        tf.fill([2, 2], 3.5),
        tf.zerosLike(x),
        tf.onesLike(y),
        x.expandDims(1),
        tf.addN([x, y, x]),
      ],
    );
  });
  test('FusedBatchNorm (tf.batchNorm) with and without offset and scale, with gradients', async () => {
    await agreesWithCpu(
      'batchNorm',
      [[2, 4, 4, 3], [3], [3], [3], [3]],
      withGrads((x, m, v, o, s) => tf.batchNorm(x as tf.Tensor4D, m, v.abs().add(0.1), o, s, 1e-3)),
    );
    await agreesWithCpu('batchNorm bare', [[2, 4, 4, 3], [3], [3]], (x, m, v) => [tf.batchNorm(x as tf.Tensor4D, m, v.abs().add(0.1))]);
  });
  test('disposed tensors free their libtorch tensors; a released handle is refused', async () => {
    assert.ok(await tf.setBackend('torch'));
    const before = tf.engine().backend.numDataIds();
    tf.tidy(() => {
      tf.conv2d(tf.ones([2, 8, 8, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 4]) as tf.Tensor4D, 1, 'same')
        .relu()
        .sum();
    });
    assert.equal(tf.engine().backend.numDataIds(), before);
    const addon = load.addon!;
    const h = addon.fromArray(new Float32Array([1, 2]), [2], 'float32');
    addon.release(h);
    assert.throws(() => addon.toArray(h), /released/);
    assert.throws(() => addon.fromArray(new Float32Array(3), [2], 'float32'), /3 values, shape needs 2/);
    assert.throws(() => addon.run('Add', [{} as never, h], new Float64Array()), /not a torch tensor handle/);
    assert.throws(() => addon.run('Conv2D', [], new Float64Array()), /expected 2 inputs/);
  });
  test('a ResNet-20 training step: loss and gradients as on the cpu backend, no kernel through the CPU', async () => {
    const step = async (backend: string): Promise<{ loss: number; grads: Float32Array[] }> => {
      assert.ok(await tf.setBackend(backend));
      const model = buildModel('resnet20', 10, { seed: 3 });
      const x = tf.tensor(values([2, 16, 16, 3], 5), [2, 16, 16, 3]);
      const labels = tf.oneHot(tf.tensor1d([1, 7], 'int32'), 10);
      const vars = model.trainableVariables();
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.forward(x as tf.Tensor4D, true)) as tf.Scalar, vars);
      const out = { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync() as Float32Array) };
      tf.dispose([x, labels, value, ...Object.values(grads)]);
      model.dispose();
      return out;
    };
    const cpu = await step('cpu');
    resetFallbackCounts();
    const torch = await step('torch');
    assert.deepEqual([...fallbackCounts().keys()], [], 'kernels that ran through the CPU backend');
    assert.ok(Math.abs(torch.loss - cpu.loss) <= 1e-4 * Math.max(1, Math.abs(cpu.loss)), `loss ${torch.loss} vs ${cpu.loss}`);
    torch.grads.forEach((g, i) => {
      const err = relativeError(g, cpu.grads[i]);
      assert.ok(err <= 1e-3, `gradient ${i}: relative error ${err.toExponential(2)}`);
    });
  });
  test('two identical short trainings (engine step, fused SGD) end with bit-identical weights', async () => {
    assert.ok(await tf.setBackend('torch'));
    const train = (): Float32Array[] => {
      const model = buildModel('resnet20', 10, { seed: 5 });
      const params = model.trainableVariables();
      const momenta = params.map((v) => tf.variable(tf.zerosLike(v), false));
      const batch = { images: values([8, 32, 32, 3], 11), labels: Int32Array.from([0, 1, 2, 3, 4, 5, 6, 7]), size: 8 };
      const config = { numClasses: 10, epoch: 0, totalEpochs: 1, step: 0, stepsPerEpoch: 1 };
      for (let step = 0; step < 3; step++) trainStep({ model, params, momenta, batch, lr: 0.1, momentum: 0.9, weightDecay: 5e-4, numClasses: 10, config });
      const weights = params.map((v) => v.dataSync() as Float32Array);
      tf.dispose(momenta);
      model.dispose();
      return weights;
    };
    const a = train();
    const b = train();
    a.forEach((w, i) =>
      assert.deepEqual(Buffer.from(w.buffer, w.byteOffset, w.byteLength), Buffer.from(b[i].buffer, b[i].byteOffset, b[i].byteLength), `parameter ${i} differs`),
    );
  });
  test(
    "device 'cuda' where this libtorch has no CUDA: a one-line refusal",
    { skip: load.addon && load.addon.info().cudaDevices > 0 ? 'this machine has a CUDA device' : false },
    async () => {
      await assert.rejects(initBackend('torch', { device: 'cuda' }), (e: Error) => /device 'cuda' unavailable/.test(e.message) && !e.message.includes('\n'));
      await assert.rejects(initBackend('torch', { device: 'gpu0' }), /not one of cpu, cuda, cuda:N/);
      assert.equal((await initBackend('torch', { device: DEVICE })).device, DEVICE);
    },
  );
});
