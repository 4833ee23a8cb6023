/**
 * The five TensorFlow.js architectures against the PyTorch reference facts: parameter and norm-slot
 * counts, state_dict names and layouts, initialization, BatchNorm2d semantics, norm replacement,
 * feature maps and tensor hygiene. Runs on the cpu backend (exact and always available).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
// A named import: the bundler drops a bare import of this package (sideEffects), and with it the
// registration of the cpu backend.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { BENCHMARKS, NORM_COUNTS, PARAM_COUNTS, RECIPE } from '../src/protocol/benchmarks';
import type { ArchId } from '../src/protocol/benchmarks';
import type { Model, NormLayer } from '../src/engine/tfjs/types';
import { BatchNorm2d, buildModel } from '../src/engine/tfjs/models/index';

const ready = (async () => {
  assert.ok(version_cpu);
  await tf.setBackend('cpu');
})();

function shapeOf(model: Model, name: string): number[] | undefined {
  return model.namedVariables().find((v) => v.name === name)?.variable.shape;
}

function stats(values: Float32Array | Int32Array | Uint8Array): { mean: number; std: number } {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let sq = 0;
  for (const v of values) sq += (v - mean) ** 2;
  return { mean, std: Math.sqrt(sq / values.length) };
}

/** Block outputs each architecture records, in order. */
function expectedFeatureNames(arch: ArchId): string[] {
  const resnet = (n: number) => ['conv1', ...[1, 2, 3].flatMap((s) => Array.from({ length: n }, (_, i) => `layer${s}.${i}`))];
  switch (arch) {
    case 'resnet20':
      return resnet(3);
    case 'resnet56':
      return resnet(9);
    case 'resnet110':
      return resnet(18);
    case 'vgg16bn': {
      // conv, bn, relu per conv; pools at 6, 13, 23, 33, 43.
      const names: string[] = [];
      let i = 0;
      for (const item of [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M']) {
        if (item === 'M') names.push(`features.${i++}`);
        else {
          names.push(`features.${i + 2}`);
          i += 3;
        }
      }
      return names;
    }
    case 'mobilenetv2':
      return Array.from({ length: 19 }, (_, i) => `features.${i}`);
  }
}

for (const bench of BENCHMARKS) {
  test(`${bench.id}: PyTorch parameter and norm counts, unique names, logits, features, no leak`, async () => {
    await ready;
    const model = buildModel(bench.arch, bench.numClasses, { seed: 1 });
    try {
      const params = model.trainableVariables().reduce((n, v) => n + v.size, 0);
      assert.equal(params, PARAM_COUNTS[bench.id]);
      assert.equal(model.normLayers.length, NORM_COUNTS[bench.id]);
      assert.ok(model.normLayers.every((l) => l instanceof BatchNorm2d));
      const names = model.namedVariables().map((v) => v.name);
      assert.equal(new Set(names).size, names.length, 'names are unique');
      // Each BatchNorm2d contributes two parameters and two buffers.
      assert.equal(model.namedVariables().filter((v) => !v.trainable).length, 2 * NORM_COUNTS[bench.id]);
      for (const w of model.weights()) assert.match(w.name, /\.weight$/);

      const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
      const before = tf.memory().numTensors;
      const features = new Map<string, tf.Tensor4D>();
      const logits = tf.tidy(() => {
        const y = model.forward(x, true, features);
        assert.deepEqual([...features.keys()], expectedFeatureNames(bench.arch));
        for (const f of features.values()) assert.equal(f.shape[0], 2);
        return y;
      });
      assert.deepEqual(logits.shape, [2, bench.numClasses]);
      assert.ok((await logits.data()).every(Number.isFinite));
      // Only the logits survive the tidy; running-statistics updates leave no stray tensor.
      assert.equal(tf.memory().numTensors, before + 1);
      logits.dispose();
      x.dispose();
    } finally {
      model.dispose();
    }
  });
}

test('names and layouts follow the PyTorch state_dict (HWIO convs, [in, out] linears)', async () => {
  await ready;
  const resnet = buildModel('resnet20', 10);
  const vgg = buildModel('vgg16bn', 100);
  const mobile = buildModel('mobilenetv2', 10);
  try {
    const expected: Array<[Model, string, number[] | undefined]> = [
      [resnet, 'conv1.weight', [3, 3, 3, 16]],
      [resnet, 'bn1.running_var', [16]],
      [resnet, 'layer1.0.conv1.weight', [3, 3, 16, 16]],
      [resnet, 'layer1.0.downsample.0.weight', undefined],
      [resnet, 'layer2.0.conv1.weight', [3, 3, 16, 32]],
      [resnet, 'layer2.0.downsample.0.weight', [1, 1, 16, 32]],
      [resnet, 'layer2.0.downsample.1.running_mean', [32]],
      [resnet, 'layer3.2.bn2.bias', [64]],
      [resnet, 'fc.weight', [64, 10]],
      [resnet, 'fc.bias', [10]],
      [vgg, 'features.0.weight', [3, 3, 3, 64]],
      [vgg, 'features.0.bias', [64]],
      [vgg, 'features.1.running_mean', [64]],
      [vgg, 'features.7.weight', [3, 3, 64, 128]],
      [vgg, 'features.40.weight', [3, 3, 512, 512]],
      [vgg, 'features.41.weight', [512]],
      [vgg, 'classifier.0.weight', [512, 512]],
      [vgg, 'classifier.3.bias', [512]],
      [vgg, 'classifier.6.weight', [512, 100]],
      [mobile, 'features.0.0.weight', [3, 3, 3, 32]],
      [mobile, 'features.0.1.weight', [32]],
      [mobile, 'features.1.conv.0.0.weight', [3, 3, 32, 1]],
      [mobile, 'features.1.conv.1.weight', [1, 1, 32, 16]],
      [mobile, 'features.1.conv.2.running_var', [16]],
      [mobile, 'features.2.conv.0.0.weight', [1, 1, 16, 96]],
      [mobile, 'features.2.conv.1.0.weight', [3, 3, 96, 1]],
      [mobile, 'features.2.conv.2.weight', [1, 1, 96, 24]],
      [mobile, 'features.2.conv.3.bias', [24]],
      [mobile, 'features.17.conv.1.0.weight', [3, 3, 960, 1]],
      [mobile, 'features.18.0.weight', [1, 1, 320, 1280]],
      [mobile, 'features.18.1.running_mean', [1280]],
      [mobile, 'classifier.1.weight', [1280, 10]],
    ];
    for (const [model, name, shape] of expected) assert.deepEqual(shapeOf(model, name), shape, name);
    assert.equal(resnet.namedVariables().find((v) => v.name === 'layer1.0.bn1.running_mean')?.trainable, false);
    assert.equal(resnet.namedVariables().find((v) => v.name === 'layer1.0.bn1.weight')?.trainable, true);
    // state_dict order: module registration order, weight/bias/running_mean/running_var per BN.
    assert.deepEqual(
      resnet
        .namedVariables()
        .slice(0, 6)
        .map((v) => v.name),
      ['conv1.weight', 'bn1.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'layer1.0.conv1.weight'],
    );
    // weights(): conv and linear weights only (19 convs + 2 shortcuts + fc; 13 convs + 3 linears).
    assert.equal(resnet.weights().length, 22);
    assert.equal(vgg.weights().length, 16);
    assert.ok(!vgg.weights().some((w) => w.name.endsWith('bias') || w.name === 'features.1.weight'));
  } finally {
    resnet.dispose();
    vgg.dispose();
    mobile.dispose();
  }
});

test('initialization: He normal fan_out for convs (depthwise too), N(0, 0.01) linears, zero biases, BN 1/0', async () => {
  await ready;
  const vgg = buildModel('vgg16bn', 100, { seed: 5 });
  const mobile = buildModel('mobilenetv2', 10, { seed: 5 });
  try {
    const data = async (m: Model, name: string) => {
      const v = m.namedVariables().find((x) => x.name === name);
      assert.ok(v, name);
      return v.variable.data();
    };
    const big = stats(await data(vgg, 'features.40.weight')); // 2.4M values
    const heStd = Math.sqrt(2 / (3 * 3 * 512));
    assert.ok(Math.abs(big.std / heStd - 1) < 0.01, `std ${big.std} vs ${heStd}`);
    assert.ok(Math.abs(big.mean) < heStd * 0.01);
    // PyTorch's fan_out of a depthwise weight [960, 1, 3, 3] is 960 * 9.
    const dw = stats(await data(mobile, 'features.17.conv.1.0.weight'));
    const dwStd = Math.sqrt(2 / (3 * 3 * 960));
    assert.ok(Math.abs(dw.std / dwStd - 1) < 0.05, `depthwise std ${dw.std} vs ${dwStd}`);
    const lin = stats(await data(vgg, 'classifier.0.weight'));
    assert.ok(Math.abs(lin.std / 0.01 - 1) < 0.02, `linear std ${lin.std}`);
    for (const name of ['features.0.bias', 'classifier.0.bias', 'features.1.bias', 'features.1.running_mean']) {
      assert.ok(
        (await data(vgg, name)).every((v) => v === 0),
        name,
      );
    }
    for (const name of ['features.1.weight', 'features.1.running_var'])
      assert.ok(
        (await data(vgg, name)).every((v) => v === 1),
        name,
      );
  } finally {
    vgg.dispose();
    mobile.dispose();
  }
});

test('seeds: the same seed gives identical weights, another seed different ones', async () => {
  await ready;
  const [a, b, c] = [buildModel('resnet20', 10, { seed: 42 }), buildModel('resnet20', 10, { seed: 42 }), buildModel('resnet20', 10, { seed: 43 })];
  try {
    const all = async (m: Model) => Promise.all(m.weights().map(async (w) => Array.from(await w.variable.data())));
    const [wa, wb, wc] = await Promise.all([all(a), all(b), all(c)]);
    assert.deepEqual(wa, wb);
    assert.equal(wa.length, wc.length);
    assert.ok(
      wa.every((w, i) => w.some((v, j) => v !== wc[i][j])),
      'every weight differs under another seed',
    );
  } finally {
    a.dispose();
    b.dispose();
    c.dispose();
  }
});

test('dropout is seeded, active in training only', async () => {
  await ready;
  const a = buildModel('mobilenetv2', 10, { seed: 9 });
  const b = buildModel('mobilenetv2', 10, { seed: 9 });
  try {
    // 8x8 inputs keep the cpu backend quick; the networks pool globally, so any size works.
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const evalA = await tf.tidy(() => a.forward(x, false)).array();
    const evalA2 = await tf.tidy(() => a.forward(x, false)).array();
    assert.deepEqual(evalA, evalA2, 'evaluation is deterministic');
    const trainA = await tf.tidy(() => a.forward(x, true)).array();
    const trainB = await tf.tidy(() => b.forward(x, true)).array();
    assert.deepEqual(trainA, trainB, 'same seed, same dropout masks');
    const trainA2 = await tf.tidy(() => a.forward(x, true)).array();
    assert.notDeepEqual(trainA, trainA2, 'a new mask on every training step');
    x.dispose();
  } finally {
    a.dispose();
    b.dispose();
  }
});

test('BatchNorm2d: batch statistics and momentum-0.1 running statistics with unbiased variance in training, running statistics in evaluation', async () => {
  await ready;
  const bn = new BatchNorm2d(2);
  // 2 x 2 x 1 x 2: channel 0 = [1, 2, 3, 6], channel 1 = [-1, -1, 0, 10].
  const x = tf.tensor4d([1, -1, 2, -1, 3, 0, 6, 10], [2, 2, 1, 2]);
  const channels = [
    [1, 2, 3, 6],
    [-1, -1, 0, 10],
  ];
  const eps = RECIPE.bnEpsilon;
  bn.weight.assign(tf.tensor1d([2, 0.5]));
  bn.bias.assign(tf.tensor1d([1, -1]));
  const y = (await tf.tidy(() => bn.apply(x, true)).data()) as Float32Array;
  const expectedMean: number[] = [];
  const expectedVar: number[] = [];
  channels.forEach((vals, c) => {
    const mean = vals.reduce((s, v) => s + v, 0) / 4;
    const biased = vals.reduce((s, v) => s + (v - mean) ** 2, 0) / 4;
    vals.forEach((v, i) => {
      const expected = ((v - mean) / Math.sqrt(biased + eps)) * [2, 0.5][c] + [1, -1][c];
      assert.ok(Math.abs(y[i * 2 + c] - expected) < 1e-5, `y[${i},${c}] ${y[i * 2 + c]} vs ${expected}`);
    });
    expectedMean.push(0.9 * 0 + 0.1 * mean);
    expectedVar.push(0.9 * 1 + 0.1 * biased * (4 / 3));
  });
  const rm = await bn.running_mean.data();
  const rv = await bn.running_var.data();
  for (let c = 0; c < 2; c++) {
    assert.ok(Math.abs(rm[c] - expectedMean[c]) < 1e-6, `running_mean ${rm[c]} vs ${expectedMean[c]}`);
    assert.ok(Math.abs(rv[c] - expectedVar[c]) < 1e-5, `running_var ${rv[c]} vs ${expectedVar[c]}`);
  }
  // Evaluation normalizes with the running statistics and leaves them alone.
  const e = (await tf.tidy(() => bn.apply(x, false)).data()) as Float32Array;
  channels.forEach((vals, c) => {
    vals.forEach((v, i) => {
      const expected = ((v - expectedMean[c]) / Math.sqrt(expectedVar[c] + eps)) * [2, 0.5][c] + [1, -1][c];
      assert.ok(Math.abs(e[i * 2 + c] - expected) < 1e-5, `eval y[${i},${c}] ${e[i * 2 + c]} vs ${expected}`);
    });
  });
  assert.deepEqual(Array.from(await bn.running_mean.data()), Array.from(rm));
  tf.dispose([x, bn.weight, bn.bias, bn.running_mean, bn.running_var]);
});

test('BatchNorm2d: the closed-form gradient equals autodiff of the textbook formula; running stats update inside variableGrads', async () => {
  await ready;
  const bn = new BatchNorm2d(3);
  bn.weight.assign(tf.tensor1d([1.5, -0.5, 2]));
  bn.bias.assign(tf.tensor1d([0.1, 0.2, -0.3]));
  const x = tf.variable(tf.randomNormal([4, 3, 5, 3], 2, 3, 'float32', 11));
  const r = tf.randomNormal([4, 3, 5, 3], 0, 1, 'float32', 12);
  const loss = (norm: (t: tf.Tensor4D) => tf.Tensor) => () => tf.sum(tf.mul(norm(x as tf.Tensor4D), r)) as tf.Scalar;
  const reference = (t: tf.Tensor4D) => {
    const { mean, variance } = tf.moments(t, [0, 1, 2]);
    return tf.add(tf.mul(tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, RECIPE.bnEpsilon))), bn.weight), bn.bias);
  };
  const vars = [x, bn.weight, bn.bias];
  const before = tf.memory().numTensors;
  const ours = tf.variableGrads(
    loss((t) => bn.apply(t, true)),
    vars,
  );
  const ref = tf.variableGrads(loss(reference), vars);
  assert.equal(Object.keys(ours.grads).length, 3, 'no gradient for running statistics');
  for (const v of vars) {
    const a = await ours.grads[v.name].data();
    const b = await ref.grads[v.name].data();
    const scale = Math.max(...Array.from(b, Math.abs));
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) < 1e-4 * scale, `${v.name}[${i}] ${a[i]} vs ${b[i]}`);
  }
  assert.ok(Math.abs((await ours.value.data())[0] - (await ref.value.data())[0]) < 1e-3);
  // The running mean moved inside the gradient tape: 0.1 * batch mean (about 2).
  const rm = await bn.running_mean.data();
  assert.ok(
    rm.every((v) => v > 0.1 && v < 0.3),
    `running_mean ${Array.from(rm)}`,
  );
  tf.dispose([ours.value, ref.value, ...Object.values(ours.grads), ...Object.values(ref.grads)]);
  assert.equal(tf.memory().numTensors, before, 'the saved tensors of the custom gradient are released');
  tf.dispose([x, r, bn.weight, bn.bias, bn.running_mean, bn.running_var]);
});

test('a CustomNorm factory replaces every BatchNorm2d slot; its variables take the slot names', async () => {
  await ready;
  class TinyNorm implements NormLayer {
    readonly gamma: tf.Variable;
    constructor(numFeatures: number) {
      this.gamma = tf.variable(tf.ones([numFeatures]));
    }
    apply(x: tf.Tensor4D): tf.Tensor4D {
      return tf.mul(x, this.gamma) as tf.Tensor4D;
    }
  }
  for (const bench of BENCHMARKS) {
    let created = 0;
    const model = buildModel(bench.arch, bench.numClasses, {
      normFactory: (n) => {
        created++;
        return new TinyNorm(n);
      },
    });
    try {
      assert.equal(created, NORM_COUNTS[bench.id], bench.id);
      assert.equal(model.normLayers.length, NORM_COUNTS[bench.id]);
      assert.ok(model.normLayers.every((l) => l instanceof TinyNorm && !(l instanceof BatchNorm2d)));
      const named = model.namedVariables();
      assert.ok(!named.some((v) => /running_|\.bn\d\.weight$/.test(v.name)), 'no BatchNorm2d variable left');
      const gammas = named.filter((v) => v.name.endsWith('.gamma'));
      assert.equal(gammas.length, NORM_COUNTS[bench.id]);
      // Trainable count: the reference minus BN's weight+bias, plus one gamma per channel.
      const bnParams = model.normLayers.reduce((n, l) => n + (l as TinyNorm).gamma.size, 0);
      assert.equal(
        model.trainableVariables().reduce((n, v) => n + v.size, 0),
        PARAM_COUNTS[bench.id] - bnParams,
      );
      if (bench.arch === 'resnet20') {
        assert.deepEqual(shapeOf(model, 'layer1.0.bn1.gamma'), [16]);
        assert.deepEqual(shapeOf(model, 'layer2.0.downsample.1.gamma'), [32]);
        const y = tf.tidy(() => model.forward(tf.ones([2, 32, 32, 3]), true));
        assert.deepEqual(y.shape, [2, 10]);
        y.dispose();
      }
      if (bench.arch === 'mobilenetv2') assert.deepEqual(shapeOf(model, 'features.2.conv.1.1.gamma'), [96]);
    } finally {
      model.dispose();
    }
  }
});

test('every trainable variable gets a gradient through a training forward', async () => {
  await ready;
  const model = buildModel('resnet20', 10, { seed: 2 });
  try {
    // 8x8 inputs: the cpu backend's filter gradient is slow at 32x32 (about 20 s here).
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
    const labels = tf.oneHot(tf.tensor1d([3, 7], 'int32'), 10);
    const before = tf.memory().numTensors;
    const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(labels, model.forward(x, true)) as tf.Scalar, model.trainableVariables());
    assert.equal(Object.keys(grads).length, model.trainableVariables().length);
    const fcGrad = await grads[model.weights().find((w) => w.name === 'fc.weight')!.variable.name].data();
    assert.ok(fcGrad.some((v) => v !== 0) && fcGrad.every(Number.isFinite));
    tf.dispose([value, ...Object.values(grads)]);
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, labels]);
  } finally {
    model.dispose();
  }
});
