/**
 * The TensorFlow.js training loop: SGD semantics (momentum, coupled weight decay, cosine lr),
 * no tensor leaks over epochs with a regularizer that reads feature maps and with a CustomNorm,
 * the variant checks, non-finite evaluation and tensor-leak detection.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';
import { buildModel } from '../src/engine/tfjs/models';
import { checkedNormFactory, DivergedError, train, type Batch, type BatchSource } from '../src/engine/tfjs/train';
import { LEAK_STREAK, LeakError, WARMUP_STEPS } from '../src/engine/tfjs/leak';
import { loadVariant, VariantError } from '../src/engine/tfjs/variant-loader';
import { cosineLr, RECIPE, type RunSpec } from '../src/protocol/benchmarks';
import type { EpochEvent, RunEvent } from '../src/protocol/events';
import type { Model, NamedVariable } from '../src/engine/tfjs/types';

const root = path.resolve(__dirname, '..', '..');

before(async () => {
  await initBackend('wasm');
});

function fakeData(n: number, batch: number, classes: number): BatchSource {
  const images = new Float32Array(n * 32 * 32 * 3).map((_, i) => Math.sin(i * 0.37));
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  const batches = (): Batch[] => {
    const out: Batch[] = [];
    for (let s = 0; s < n; s += batch) {
      const size = Math.min(batch, n - s);
      out.push({ images: images.subarray(s * 3072, (s + size) * 3072), labels: labels.subarray(s, s + size), size });
    }
    return out;
  };
  return { trainImages: n, testImages: n, trainBatches: batches, testBatches: batches };
}

function spec(epochs: number, batchSize: number, extra: Partial<RunSpec> = {}): RunSpec {
  return {
    runId: 't',
    bench: 'resnet20-cifar10',
    arch: 'resnet20',
    dataset: 'cifar10',
    numClasses: 10,
    budget: 'smoke',
    epochs,
    trainSubset: null,
    testSubset: null,
    seed: 0,
    recipe: { ...RECIPE, batchSize },
    engine: 'tfjs',
    variantPath: 'v.ts',
    variantHash: 'h',
    variantKind: { regularizer: false, norm: false },
    runDir: '/tmp',
    ...extra,
  };
}

/** A one-layer linear model on the mean pixel, small enough to check SGD by hand. */
function linearModel(): Model {
  const w = tf.variable(tf.tensor2d([[0.5, -0.25]]), true);
  const params: NamedVariable[] = [{ name: 'fc.weight', variable: w, trainable: true }];
  return {
    arch: 'resnet20',
    numClasses: 2,
    normLayers: [],
    forward: (x) => tf.tidy(() => tf.matMul(x.mean([1, 2, 3]).reshape([-1, 1]), w) as tf.Tensor2D),
    namedVariables: () => params,
    trainableVariables: () => [w],
    weights: () => params,
    dispose: () => w.dispose(),
  };
}

test('SGD matches torch.optim.SGD: momentum 0.9, coupled weight decay, cosine lr per step', async () => {
  const model = linearModel();
  const w0 = model.trainableVariables()[0].arraySync() as number[][];
  const x = new Float32Array(2 * 3072).fill(1); // mean pixel 1 for both images
  const labels = Int32Array.from([0, 1]);
  const data: BatchSource = {
    trainImages: 4,
    testImages: 2,
    trainBatches: () => [
      { images: x, labels, size: 2 },
      { images: x, labels, size: 2 },
    ],
    testBatches: () => [{ images: x, labels, size: 2 }],
  };
  await train({ spec: spec(1, 2, { numClasses: 2 }), model, data, emit: () => undefined });
  // By hand: logits = [w00, w01] for both samples; CE gradient wrt w = mean over samples of (softmax - onehot).
  const sm = (a: number, b: number) => [Math.exp(a) / (Math.exp(a) + Math.exp(b)), Math.exp(b) / (Math.exp(a) + Math.exp(b))];
  let w = [w0[0][0], w0[0][1]];
  let buf = [0, 0];
  for (let step = 0; step < 2; step++) {
    const p = sm(w[0], w[1]);
    const g = [(p[0] - 1 + p[0]) / 2, (p[1] + (p[1] - 1)) / 2];
    const lr = cosineLr(0.1, step, 2);
    buf = buf.map((b, i) => 0.9 * b + g[i] + 5e-4 * w[i]);
    w = w.map((v, i) => v - lr * buf[i]);
  }
  const got = model.trainableVariables()[0].arraySync() as number[][];
  assert.ok(Math.abs(got[0][0] - w[0]) < 1e-6 && Math.abs(got[0][1] - w[1]) < 1e-6, `got ${got[0]}, expected ${w}`);
  assert.equal(cosineLr(0.1, 1, 2), 0.05);
  model.dispose();
});

test('no tensor leak: the tensor count after epoch 3 equals the one after epoch 1 (regularizer on feature maps + CustomNorm)', async () => {
  const reg = await loadVariant(path.join(root, 'templates/regularizers/dropblock-penalty.ts'));
  const norm = await loadVariant(path.join(root, 'templates/norms/groupnorm.ts'));
  const model = buildModel('resnet20', 10, { seed: 1, normFactory: checkedNormFactory({ ...norm, CustomNorm: norm.CustomNorm! }) });
  const counts: number[] = [];
  const epochs: EpochEvent[] = [];
  await train({
    spec: spec(3, 16),
    model,
    data: fakeData(32, 16, 10),
    variant: reg,
    emit: (e) => void (e.type === 'epoch' && epochs.push(e)),
    onEpochEnd: (_e, n) => counts.push(n),
  });
  assert.equal(counts.length, 3);
  assert.equal(counts[2], counts[0], `tensors after each epoch: ${counts.join(', ')}`);
  assert.equal(epochs.length, 3);
  assert.ok(
    epochs.every((e) => Number.isFinite(e.trainLoss) && e.regTerm > 0),
    'the regularization term is reported',
  );
  assert.ok(epochs[2].lr < epochs[0].lr);
  model.dispose();
});

/** The linear model with an evaluation-mode forward of its own. */
function linearWithEval(evalForward: (x: tf.Tensor4D, w: tf.Variable) => tf.Tensor2D, extra?: tf.Variable): Model {
  const m = linearModel();
  const w = m.trainableVariables()[0];
  const named: NamedVariable[] = [...m.namedVariables(), ...(extra ? [{ name: 'fc.extra', variable: extra, trainable: true }] : [])];
  const train = m.forward;
  return {
    ...m,
    forward: (x, training) => (training ? train(x, true) : tf.tidy(() => evalForward(x, w))),
    namedVariables: () => named,
    trainableVariables: () => named.map((v) => v.variable),
  };
}

test('non-finite logits in evaluation mode with finite weights fail the run naming the variant file and "evaluation mode"', async () => {
  const reg = await loadVariant(path.join(root, 'templates/regularizers/confidence-penalty.ts'));
  const model = linearWithEval((x, w) => tf.matMul(x.mean([1, 2, 3]).reshape([-1, 1]), w).mul(Number.NaN) as tf.Tensor2D);
  const epochs: EpochEvent[] = [];
  await assert.rejects(
    train({ spec: spec(2, 2, { numClasses: 2 }), model, data: fakeData(4, 2, 2), variant: reg, emit: (e) => void (e.type === 'epoch' && epochs.push(e)) }),
    (err: Error) => err instanceof VariantError && err.file === reg.path && /evaluation mode/.test(err.message) && err.message.startsWith(reg.path),
  );
  assert.equal(epochs.length, 0, 'no epoch event with a NaN test loss');
});

test('non-finite test loss with a non-finite weight ends the run as diverged', async () => {
  // A weight the training forward never reads (gradient 0) but evaluation does: NaN stays NaN.
  const broken = tf.variable(tf.tensor2d([[Number.NaN, 0]]), true);
  const model = linearWithEval((x, w) => tf.matMul(x.mean([1, 2, 3]).reshape([-1, 1]), w.add(broken)) as tf.Tensor2D, broken);
  await assert.rejects(
    train({ spec: spec(1, 2, { numClasses: 2 }), model, data: fakeData(4, 2, 2), emit: () => undefined }),
    (err: Error) => err instanceof DivergedError && /fc\.extra is no longer finite/.test(err.message),
  );
});

test('a CustomNorm that returns NaN only in evaluation mode fails with its slot, its file and "evaluation mode"', async () => {
  const norm = await loadVariant(path.join(root, 'test/fixtures/variants/nan-in-eval.ts'));
  const model = buildModel('resnet20', 10, { seed: 1, normFactory: checkedNormFactory({ ...norm, CustomNorm: norm.CustomNorm! }) });
  await assert.rejects(
    train({ spec: spec(1, 4), model, data: fakeData(4, 4, 10), variant: norm, emit: () => undefined }),
    (err: Error) =>
      err instanceof VariantError &&
      err.file === norm.path &&
      /CustomNorm \(norm slot 0, 16 channels\) returned NaN or Inf in evaluation mode/.test(err.message),
  );
  model.dispose();
});

test('a variant that keeps a tensor every step fails after LEAK_STREAK steps, naming its file and the growth per step', async () => {
  const leaky = await loadVariant(path.join(root, 'test/fixtures/variants/leaks-tensors.ts'));
  const model = linearModel();
  let steps = 0;
  await assert.rejects(
    train({ spec: spec(4, 1, { numClasses: 2 }), model, data: fakeData(8, 1, 2), variant: leaky, emit: () => undefined, afterStep: () => void steps++ }),
    (err: Error) => err instanceof LeakError && err.file === leaky.path && /grew by 1\.0 per step/.test(err.message) && err.message.startsWith(leaky.path),
  );
  assert.equal(steps, WARMUP_STEPS + LEAK_STREAK, 'it stops as soon as the rule fires');
  model.dispose();
});

test('the worker reports a leaking variant as a warning log event and a failed run (kind variant) naming the file', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-leak-'));
  try {
    const data = path.join(tmp, 'data');
    const synth = spawnSync(
      process.execPath,
      [path.join(root, 'dist', 'cli.js'), 'data', 'synth', '--dataset', 'cifar10', '--out', data, '--train', '64', '--test', '16'],
      { encoding: 'utf8' },
    );
    assert.equal(synth.status, 0, synth.stderr);
    const variantPath = path.join(root, 'test/fixtures/variants/leaks-tensors.ts');
    const runSpec = spec(1, 2, {
      trainSubset: 32,
      testSubset: 4,
      dataDir: data,
      backend: 'wasm',
      variantPath,
      variantKind: { regularizer: true, norm: false },
      runDir: tmp,
    });
    const r = spawnSync('nice', ['-n', '5', process.execPath, path.join(root, 'dist', 'worker.js')], {
      input: JSON.stringify(runSpec) + '\n',
      encoding: 'utf8',
      env: { ...process.env, REGBENCH_OFFLINE: '1' },
      timeout: 300_000,
    });
    const events = r.stdout
      .split('\n')
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as RunEvent);
    const warning = events.find((e) => e.type === 'log' && e.level === 'warn');
    assert.ok(
      warning &&
        warning.type === 'log' &&
        warning.message.startsWith(`${variantPath}: the variant leaks tensors`) &&
        /grew by 1\.0 per step/.test(warning.message),
      JSON.stringify(warning),
    );
    const error = events.find((e) => e.type === 'error');
    assert.ok(error && error.type === 'error' && error.kind === 'variant' && error.file === variantPath && error.message === warning.message);
    const end = events.at(-1);
    assert.ok(end?.type === 'run-end' && end.status === 'failed', JSON.stringify(end));
    assert.equal(r.status, 1);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
