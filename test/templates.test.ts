/**
 * The variant templates compute the formulas templates/README.md states: each regularizer against a
 * hand computation (plain JS, float64), each norm against its defining statistics, in training and
 * evaluation, with its running statistics, its gradients and its variable names; and the Python
 * templates (when a Python with torch is found) to the TypeScript ones on the same data.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core ships its gradient definitions separately (the tfjs union package registers them).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
// A named import: esbuild drops a bare import of the package, whose sideEffects list omits its node bundle.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { collectVariables } from '../src/engine/tfjs/variables';
import type { NamedVariable, NormLayer, RegConfig, RegModel } from '../src/engine/tfjs/types';
import * as blankRegularizer from '../templates/regularizers/blank';
import * as confidencePenalty from '../templates/regularizers/confidence-penalty';
import * as dropblockPenalty from '../templates/regularizers/dropblock-penalty';
import * as orthogonalReg from '../templates/regularizers/orthogonal-reg';
import * as l1Penalty from '../templates/regularizers/l1-penalty';
import * as l2Penalty from '../templates/regularizers/l2-penalty';
import * as labelSmoothing from '../templates/regularizers/label-smoothing';
import * as gradaugConsistency from '../templates/regularizers/gradaug-consistency';
import { buildModel } from '../src/engine/tfjs/models';
import { CustomNorm as BlankNorm } from '../templates/norms/blank';
import { CustomNorm as BatchNorm } from '../templates/norms/batchnorm';
import { CustomNorm as GroupNorm } from '../templates/norms/groupnorm';
import { CustomNorm as BatchInstanceNorm } from '../templates/norms/batch-instance-norm';
import { CustomNorm as SwitchableNorm } from '../templates/norms/switchable-norm';
import { CustomNorm as LayerNormChannels } from '../templates/norms/layernorm-channels';
import { CustomNorm as FilterResponseNorm } from '../templates/norms/filter-response-norm';

const EPS = 1e-5;
const MOMENTUM = 0.1;

before(async () => {
  assert.ok(version_cpu, 'cpu backend loaded');
  await tf.setBackend('cpu');
});

// ---------------------------------------------------------------- helpers

function randomNormal(n: number, seed: number): number[] {
  const next = seededRandom(seed);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next()));
  return out;
}

/** NHWC input whose channel c has mean `c - C/2` and std `1 + c % 3`, so every statistic differs. */
function channelShiftedInput(shape: [number, number, number, number], seed: number, sampleShift = 0): tf.Tensor4D {
  const [b, h, w, c] = shape;
  const noise = randomNormal(b * h * w * c, seed);
  const values = noise.map((z, i) => {
    const ch = i % c;
    const sample = Math.floor(i / (h * w * c));
    return c / 2 - ch + (1 + (ch % 3)) * z + sample * sampleShift;
  });
  return tf.tensor4d(values, shape);
}

interface Stats {
  mean: number;
  variance: number;
  count: number;
}

/** Biased mean/variance of NHWC data grouped by `key(b, h, w, c)`, in float64. */
function groupStats(data: ArrayLike<number>, shape: number[], key: (b: number, h: number, w: number, c: number) => string): Map<string, Stats> {
  const [B, H, W, C] = shape;
  const sums = new Map<string, { s: number; s2: number; n: number }>();
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++)
        for (let c = 0; c < C; c++) {
          const v = data[((b * H + h) * W + w) * C + c];
          const k = key(b, h, w, c);
          const acc = sums.get(k) ?? { s: 0, s2: 0, n: 0 };
          acc.s += v;
          acc.s2 += v * v;
          acc.n += 1;
          sums.set(k, acc);
        }
  const out = new Map<string, Stats>();
  for (const [k, { s, s2, n }] of sums) {
    const mean = s / n;
    out.set(k, { mean, variance: s2 / n - mean * mean, count: n });
  }
  return out;
}

const perChannel = (_b: number, _h: number, _w: number, c: number): string => `${c}`;
const perSampleChannel = (b: number, _h: number, _w: number, c: number): string => `${b}/${c}`;
const perSample = (b: number): string => `${b}`;

function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Number.isFinite(actual), `${what}: ${actual} is not finite`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs expected ${expected} (tol ${tol})`);
}

function assertAllClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) assertClose(actual[i], expected[i], tol, `${what}[${i}]`);
}

/** Every statistic in `stats` has mean ~0 and biased variance ~1. */
function assertStandardized(stats: Map<string, Stats>, tol: number, what: string): void {
  assert.ok(stats.size > 0);
  for (const [k, s] of stats) {
    assertClose(s.mean, 0, tol, `${what} ${k} mean`);
    assertClose(s.variance, 1, tol, `${what} ${k} variance`);
  }
}

const CONFIG: RegConfig = { numClasses: 10, epoch: 0, totalEpochs: 1, step: 0, stepsPerEpoch: 1 };

/** The parts of a model a regularizer reads; the rest throws if touched. */
function fakeModel(parts: { weights?: tf.Variable[]; features?: Map<string, tf.Tensor4D> }): RegModel {
  const named: NamedVariable[] = (parts.weights ?? []).map((variable, i) => ({ name: `w${i}.weight`, variable, trainable: true }));
  const unused = (): never => {
    throw new Error('not part of the fake model');
  };
  return {
    arch: 'resnet20',
    numClasses: 10,
    forward: unused,
    namedVariables: () => named,
    trainableVariables: () => named.map((n) => n.variable),
    normLayers: [],
    weights: () => named,
    dispose: () => named.forEach((n) => n.variable.dispose()),
    features: parts.features ?? new Map(),
  };
}

type Regularizer = typeof blankRegularizer.computeRegularization;

function regularize(fn: Regularizer, model: RegModel, outputs?: tf.Tensor2D): tf.Scalar {
  const logits = outputs ?? tf.zeros([2, 10]);
  return fn(model, tf.zeros([logits.shape[0], 4, 4, 3]), logits as tf.Tensor2D, tf.tensor1d([0, 1], 'int32'), CONFIG) as tf.Scalar;
}

function value(fn: Regularizer, model: RegModel, outputs?: tf.Tensor2D): number {
  return tf
    .tidy(() => {
      const t = regularize(fn, model, outputs);
      assert.equal(t.rank, 0, 'the term is a scalar');
      return t;
    })
    .arraySync() as number;
}

// ---------------------------------------------------------------- regularizers

describe('regularizer templates', () => {
  test('blank returns a zero scalar', () => {
    assert.equal(value(blankRegularizer.computeRegularization, fakeModel({})), 0);
  });

  test('confidence penalty is -0.1 * mean entropy of softmax(logits)', () => {
    const logits = [
      [1, 2, 3, 0],
      [0, 0, 0, 0],
      [5, -1, 0.5, 2],
      [30, -30, 0, 1],
    ];
    const entropies = logits.map((row) => {
      const max = Math.max(...row);
      const z = row.reduce((s, v) => s + Math.exp(v - max), 0);
      return -row.reduce((s, v) => {
        const p = Math.exp(v - max) / z;
        return s + (p > 0 ? p * Math.log(p) : 0);
      }, 0);
    });
    const expected = (-0.1 * entropies.reduce((a, b) => a + b, 0)) / entropies.length;
    const got = value(confidencePenalty.computeRegularization, fakeModel({}), tf.tensor2d(logits));
    assertClose(got, expected, 1e-6, 'confidence penalty');
    assertClose(value(confidencePenalty.computeRegularization, fakeModel({}), tf.zeros([3, 10])), -0.1 * Math.log(10), 1e-6, 'uniform logits');
    // A confident row has near-zero entropy, so the term barely moves from 0.
    assertClose(value(confidencePenalty.computeRegularization, fakeModel({}), tf.tensor2d([[100, 0, 0]])), 0, 1e-6, 'confident logits');
  });

  test('confidence penalty pushes logits towards higher entropy', () => {
    const logits = tf.tensor2d([[2, 0, -1]]);
    const grad = tf.grad((l: tf.Tensor) => regularize(confidencePenalty.computeRegularization, fakeModel({}), l as tf.Tensor2D))(logits);
    const g = grad.dataSync();
    // Gradient descent lowers the largest logit and raises the smallest one.
    assert.ok(g[0] > 0 && g[2] < 0, `gradient ${Array.from(g)}`);
  });
});

describe('weight penalty templates (L1, L2)', () => {
  const conv = randomNormal(3 * 3 * 2 * 4, 61);
  const depthwise = randomNormal(3 * 3 * 5, 62);
  const linear = [1, -2, 0, 0.5, -0.25, 3];
  const make = () =>
    fakeModel({
      weights: [
        tf.variable(tf.tensor4d(conv, [3, 3, 2, 4])),
        tf.variable(tf.tensor4d(depthwise, [3, 3, 5, 1])), // depthwise: included
        tf.variable(tf.tensor2d(linear, [3, 2])),
      ],
    });
  const all = [...conv, ...depthwise, ...linear];

  test('L1 is 1e-5 * sum |w| over every conv and linear weight', () => {
    const model = make();
    const expected = 1e-5 * all.reduce((s, w) => s + Math.abs(w), 0);
    assertClose(value(l1Penalty.computeRegularization, model), expected, 1e-6 * expected, 'L1 penalty');
    assert.equal(value(l1Penalty.computeRegularization, fakeModel({})), 0, 'no weights: 0');
    // Gradient 1e-5 * sign(w), 0 at w = 0.
    const vars = model.weights().map((n) => n.variable);
    const { grads } = tf.variableGrads(() => regularize(l1Penalty.computeRegularization, model), vars);
    assertAllClose(
      grads[vars[2].name].dataSync(),
      linear.map((w) => 1e-5 * Math.sign(w)),
      1e-12,
      'L1 gradient',
    );
    tf.dispose(grads);
    model.dispose();
  });

  test('L2 is 5e-4 / 2 * sum w^2, with gradient 5e-4 * w (an extra weight decay)', () => {
    const model = make();
    const expected = (5e-4 / 2) * all.reduce((s, w) => s + w * w, 0);
    assertClose(value(l2Penalty.computeRegularization, model), expected, 1e-6 * expected, 'L2 penalty');
    const vars = model.weights().map((n) => n.variable);
    const { grads } = tf.variableGrads(() => regularize(l2Penalty.computeRegularization, model), vars);
    assertAllClose(
      grads[vars[0].name].dataSync(),
      conv.map((w) => 5e-4 * w),
      1e-9,
      'L2 gradient (conv)',
    );
    assertAllClose(
      grads[vars[2].name].dataSync(),
      linear.map((w) => 5e-4 * w),
      1e-9,
      'L2 gradient (linear)',
    );
    tf.dispose(grads);
    model.dispose();
  });
});

/** log softmax of one row in float64. */
function logSoftmaxRow(row: number[]): number[] {
  const max = Math.max(...row);
  const logZ = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  return row.map((v) => v - logZ);
}

describe('label smoothing template', () => {
  const EPS_LS = 0.1;
  const logits = [
    [2, 0.5, -1, 0],
    [0, 0, 0, 0],
    [-3, 4, 1, 0.2],
    [10, -10, 0, 1],
    [0.3, 0.1, -0.2, 2],
  ];
  const labels = [0, 2, 1, 1, 3];
  const term = (l: number[][], y: number[]): number =>
    tf
      .tidy(() => labelSmoothing.computeRegularization(fakeModel({}), tf.zeros([l.length, 4, 4, 3]), tf.tensor2d(l), tf.tensor1d(y, 'int32'), CONFIG))
      .arraySync() as number;

  test('CE + term equals the cross-entropy against (1 - eps) one-hot + eps / K targets', () => {
    const K = 4;
    let ce = 0;
    let smoothed = 0;
    logits.forEach((row, b) => {
      const logP = logSoftmaxRow(row);
      ce += -logP[labels[b]];
      // The smoothed targets written out, not the (1 - eps) CE + eps U decomposition the template uses.
      smoothed += -logP.reduce((s, lp, k) => s + ((k === labels[b] ? 1 - EPS_LS : 0) + EPS_LS / K) * lp, 0);
    });
    ce /= logits.length;
    smoothed /= logits.length;
    assertClose(ce + term(logits, labels), smoothed, 1e-6, 'CE + term');
  });

  test('is 0 for uniform logits, positive for a right confident prediction, negative for a wrong one', () => {
    assertClose(term([[0, 0, 0, 0]], [2]), 0, 1e-7, 'uniform');
    // Right: CE ~ 0, U ~ 30 / 4, term ~ 0.75; wrong: CE ~ 10, term ~ 0.1 * (7.5 - 10).
    const right = term([[10, 0, 0, 0]], [0]);
    assertClose(right, 0.1 * (logSoftmaxRow([10, 0, 0, 0]).reduce((s, v) => s - v / 4, 0) + logSoftmaxRow([10, 0, 0, 0])[0]), 1e-6, 'right');
    assert.ok(right > 0, `right and confident: ${right}`);
    const wrong = term([[10, 0, 0, 0]], [1]);
    assert.ok(wrong < 0, `wrong and confident: ${wrong}`);
  });

  test('has the constant logit gradient eps * ([k = y] - 1/K): it lowers the label logit, raises the others', () => {
    const g = tf.grad((l: tf.Tensor) =>
      labelSmoothing.computeRegularization(fakeModel({}), tf.zeros([1, 4, 4, 3]), l as tf.Tensor2D, tf.tensor1d([0], 'int32'), CONFIG),
    )(tf.tensor2d([[6, 0, 1, -1]]));
    const d = g.dataSync();
    // dU/dz_k = p_k - 1/K and dCE/dz_k = p_k - [k = y]: the p_k cancel.
    const expected = [0, 1, 2, 3].map((k) => EPS_LS * ((k === 0 ? 1 : 0) - 1 / 4));
    assertAllClose(d, expected, 1e-6, 'gradient');
    assert.ok(d[0] > 0 && d[1] < 0, `gradient ${Array.from(d)}`);
  });
});

/**
 * A position-sensitive model with a training-mode statistic and a buffer: logits = flatten(x - m) M,
 * m the per-channel batch mean in training (running_mean <- 0.9 running_mean + 0.1 m), running_mean in
 * evaluation.
 */
function tinyModel(shape: [number, number, number, number], classes: number, seed: number): RegModel & { M: tf.Variable; running_mean: tf.Variable } {
  const [, H, W, C] = shape;
  const M = tf.variable(
    tf.tensor2d(
      randomNormal(H * W * C * classes, seed).map((z) => 0.3 * z),
      [H * W * C, classes],
    ),
  );
  const running_mean = tf.variable(tf.zeros([C]), false);
  const named: NamedVariable[] = [
    { name: 'fc.weight', variable: M, trainable: true },
    { name: 'bn.running_mean', variable: running_mean, trainable: false },
  ];
  return {
    M,
    running_mean,
    arch: 'resnet20',
    numClasses: classes,
    forward(x: tf.Tensor4D, training: boolean): tf.Tensor2D {
      let m: tf.Tensor = running_mean;
      if (training) {
        m = tf.mean(x, [0, 1, 2]);
        running_mean.assign(tf.add(tf.mul(running_mean, 0.9), tf.mul(m, 0.1)));
      }
      return tf.matMul(tf.reshape(tf.sub(x, m), [x.shape[0], -1]), M) as tf.Tensor2D;
    },
    namedVariables: () => named,
    trainableVariables: () => [M],
    normLayers: [],
    weights: () => [named[0]],
    dispose: () => named.forEach((n) => n.variable.dispose()),
    features: new Map(),
  };
}

describe('GradAug-style consistency template', () => {
  const shape: [number, number, number, number] = [3, 4, 6, 2];
  const [B, H, W, C] = shape;
  const K = 5;
  const xs = randomNormal(B * H * W * C, 90).map((z, i) => z + (i % 7) / 3);
  const at = (b: number, h: number, w: number, c: number): number => xs[((b * H + h) * W + w) * C + c];

  /** view(x) by loops: flip W, average 2x2 blocks, repeat each mean over its 2x2 block. */
  function viewByLoops(): number[] {
    const out: number[] = [];
    for (let b = 0; b < B; b++)
      for (let i = 0; i < H; i++)
        for (let j = 0; j < W; j++)
          for (let c = 0; c < C; c++) {
            const [p, q] = [Math.floor(i / 2), Math.floor(j / 2)];
            let s = 0;
            for (let di = 0; di < 2; di++) for (let dj = 0; dj < 2; dj++) s += at(b, 2 * p + di, W - 1 - (2 * q + dj), c);
            out.push(s / 4);
          }
    return out;
  }

  /** The tiny model's training-mode logits of NHWC `v`, in float64. */
  function logitsByLoops(v: number[], M: ArrayLike<number>): number[][] {
    const mean = Array.from({ length: C }, (_, c) => v.filter((_, i) => i % C === c).reduce((a, x) => a + x, 0) / (B * H * W));
    const n = H * W * C;
    return Array.from({ length: B }, (_, b) =>
      Array.from({ length: K }, (_, k) => {
        let z = 0;
        for (let f = 0; f < n; f++) z += (v[b * n + f] - mean[f % C]) * M[f * K + k];
        return z;
      }),
    );
  }

  function klByLoops(teacher: number[][], student: number[][]): number {
    let total = 0;
    teacher.forEach((row, b) => {
      const lq = logSoftmaxRow(row);
      const lr = logSoftmaxRow(student[b]);
      total += lq.reduce((s, l, k) => s + Math.exp(l) * (l - lr[k]), 0);
    });
    return total / teacher.length;
  }

  test('view() flips, averages 2x2 blocks and shows them at full size', () => {
    assertAllClose(tf.tidy(() => gradaugConsistency.view(tf.tensor4d(xs, shape))).dataSync(), viewByLoops(), 1e-5, 'view');
  });

  test('is KL(softmax(outputs) || softmax(logits of the view in training mode)), and leaves the buffers as they were', () => {
    const model = tinyModel(shape, K, 91);
    model.running_mean.assign(tf.tensor1d([0.25, -0.5]));
    const teacher = [
      [1, 0, -1, 2, 0.5],
      [0, 0, 0, 0, 0],
      [-2, 3, 0.1, 0, 1],
    ];
    const term = (outputs: number[][]): number =>
      tf
        .tidy(() => gradaugConsistency.computeRegularization(model, tf.tensor4d(xs, shape), tf.tensor2d(outputs), tf.tensor1d([0, 1, 2], 'int32'), CONFIG))
        .arraySync() as number;
    const studentLogits = logitsByLoops(viewByLoops(), model.M.dataSync());
    const expected = klByLoops(teacher, studentLogits);
    assert.ok(expected > 0.1, `a non-trivial case (${expected})`);
    assertClose(term(teacher), expected, 1e-5 * expected, 'term');
    assert.deepEqual(readVector(model.running_mean), [0.25, -0.5], 'running_mean restored');
    // Self-consistent predictions: 0.
    assertClose(term(studentLogits), 0, 1e-6, 'outputs = view logits');
    // The tiny model does move its buffer in a training forward: the restore is what kept it.
    tf.tidy(() => model.forward(tf.tensor4d(xs, shape), true));
    assert.notDeepEqual(readVector(model.running_mean), [0.25, -0.5]);
    model.dispose();
  });

  test('sends no gradient to the batch predictions (stop-gradient), only to the weights through the view', () => {
    const model = tinyModel(shape, K, 92);
    const outputs = tf.tensor2d([
      [1, 0, -1, 2, 0.5],
      [0, 0, 0, 0, 0],
      [-2, 3, 0.1, 0, 1],
    ]);
    const x = tf.tensor4d(xs, shape);
    const f = (o: tf.Tensor) => gradaugConsistency.computeRegularization(model, x, o as tf.Tensor2D, tf.tensor1d([0, 1, 2], 'int32'), CONFIG);
    assert.ok(
      tf
        .grad(f)(outputs)
        .dataSync()
        .every((g) => g === 0),
      'zero gradient w.r.t. outputs',
    );
    const { grads } = tf.variableGrads(() => f(outputs), [model.M]);
    const g = grads[model.M.name].dataSync();
    assert.ok(g.every(Number.isFinite) && g.some((v) => Math.abs(v) > 1e-6), 'weights get a gradient');
    tf.dispose(grads);
    model.dispose();
  });

  test("runs on a real network through the engine's wrapper, with its running statistics untouched", () => {
    const net = buildModel('resnet20', 10, { seed: 3 });
    const regModel: RegModel = Object.assign(Object.create(net) as typeof net, { features: new Map<string, tf.Tensor4D>() });
    const buffers = net.namedVariables().filter((v) => !v.trainable);
    const before = buffers.map((v) => Array.from(v.variable.dataSync()));
    const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 93) as tf.Tensor4D;
    const conv = net.weights()[0].variable;
    const { value: term, grads } = tf.variableGrads(() => {
      const logits = regModel.forward(x, true, regModel.features);
      return gradaugConsistency.computeRegularization(regModel, x, logits, tf.tensor1d([0, 1], 'int32'), CONFIG);
    }, [conv]);
    const t = term.dataSync()[0];
    assert.ok(Number.isFinite(t) && t >= 0, `term ${t}`);
    assert.ok(
      grads[conv.name].dataSync().some((v) => Math.abs(v) > 0),
      'the first conv gets a gradient',
    );
    // Only the batch's own forward moved the running statistics; the view's was undone.
    const afterBatchOnly = buildModel('resnet20', 10, { seed: 3 });
    tf.tidy(() => afterBatchOnly.forward(x, true));
    const expected = afterBatchOnly
      .namedVariables()
      .filter((v) => !v.trainable)
      .map((v) => Array.from(v.variable.dataSync()));
    buffers.forEach((v, i) => assertAllClose(v.variable.dataSync(), expected[i], 1e-6, v.name));
    assert.ok(
      buffers.some((v, i) => v.variable.dataSync().some((e, j) => e !== before[i][j])),
      'the batch forward did update them',
    );
    tf.dispose([term, grads, x]);
    net.dispose();
    afterBatchOnly.dispose();
  });
});

/** Orthonormal columns of a random [rows, cols] matrix (rows >= cols) by Gram-Schmidt, row-major. */
function orthonormalColumns(rows: number, cols: number, seed: number): number[] {
  const z = randomNormal(rows * cols, seed);
  const columns: number[][] = [];
  for (let j = 0; j < cols; j++) {
    const v = Array.from({ length: rows }, (_, i) => z[i * cols + j]);
    for (const q of columns) {
      const dot = v.reduce((s, x, i) => s + x * q[i], 0);
      for (let i = 0; i < rows; i++) v[i] -= dot * q[i];
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    columns.push(v.map((x) => x / norm));
  }
  const out: number[] = [];
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out.push(columns[j][i]);
  return out;
}

function transpose(values: number[], rows: number, cols: number): number[] {
  const out: number[] = [];
  for (let j = 0; j < cols; j++) for (let i = 0; i < rows; i++) out.push(values[i * cols + j]);
  return out;
}

/** ||Gram - I||_F^2 on the smaller side of a row-major [f, o] matrix, in float64. */
function gramPenalty(m: ArrayLike<number>, f: number, o: number): number {
  const side = Math.min(f, o);
  let total = 0;
  for (let a = 0; a < side; a++)
    for (let b = 0; b < side; b++) {
      let g = 0;
      if (o <= f) for (let i = 0; i < f; i++) g += m[i * o + a] * m[i * o + b];
      else for (let j = 0; j < o; j++) g += m[a * o + j] * m[b * o + j];
      total += (g - (a === b ? 1 : 0)) ** 2;
    }
  return total;
}

describe('orthogonal regularization template', () => {
  const LAMBDA = 1e-4;

  test('is zero for orthonormal weights of every kind, whichever Gram side applies', () => {
    const permutation = [0, 2, 3, 1].flatMap((p) => [0, 1, 2, 3].map((j) => (j === p ? 1 : 0)));
    const weights = [
      tf.variable(tf.tensor4d(permutation, [1, 1, 4, 4])), // 1x1 conv, square
      tf.variable(tf.tensor4d(orthonormalColumns(18, 4, 1), [3, 3, 2, 4])), // conv, out < fan-in
      tf.variable(tf.tensor4d(transpose(orthonormalColumns(8, 2, 2), 8, 2), [1, 1, 2, 8])), // conv, out > fan-in
      tf.variable(tf.tensor2d(orthonormalColumns(8, 3, 3), [8, 3])), // linear, out < in
      tf.variable(tf.tensor2d(transpose(orthonormalColumns(5, 3, 4), 5, 3), [3, 5])), // linear, out > in
      tf.variable(tf.randomNormal([3, 3, 6, 1], 0, 1, 'float32', 5)), // depthwise: skipped
    ];
    const model = fakeModel({ weights });
    const got = value(orthogonalReg.computeRegularization, model);
    // float32 rounding alone is ~1e-13 before lambda; one wrong entry would give >= lambda * 1e-2.
    assert.ok(got >= 0 && got < 1e-10, `penalty ${got}`);
    model.dispose();
  });

  test('equals lambda * sum ||Gram - I||^2 with the smaller Gram side, depthwise excluded', () => {
    const square = [1, 1, 0, 1]; // [[1,1],[0,1]]: ||M^T M - I||^2 = 3
    const wide = [1, 0, 0, 0, 2, 0]; // [2,3], out > in: ||M M^T - I||^2 = 9 (the 3x3 side would give 10)
    const conv = randomNormal(3 * 3 * 2 * 4, 7);
    const weights = [
      tf.variable(tf.tensor2d(square, [2, 2])),
      tf.variable(tf.tensor2d(wide, [2, 3])),
      tf.variable(tf.tensor4d(conv, [3, 3, 2, 4])),
      tf.variable(tf.tensor4d(randomNormal(3 * 3 * 5, 8), [3, 3, 5, 1])),
    ];
    const model = fakeModel({ weights });
    const expected = LAMBDA * (3 + 9 + gramPenalty(conv, 18, 4));
    assertClose(value(orthogonalReg.computeRegularization, model), expected, 1e-6 * expected, 'orthogonal penalty');
    assert.ok(expected > 1e-4);
    model.dispose();
  });

  test('is differentiable w.r.t. the weights, with a zero gradient at an orthonormal weight', () => {
    const skewed = tf.variable(tf.tensor2d(randomNormal(12, 9), [4, 3]));
    const orthonormal = tf.variable(tf.tensor2d(orthonormalColumns(4, 3, 10), [4, 3]));
    const model = fakeModel({ weights: [skewed, orthonormal] });
    const { grads } = tf.variableGrads(() => regularize(orthogonalReg.computeRegularization, model), [skewed, orthonormal]);
    const gSkewed = grads[skewed.name].dataSync();
    const gOrtho = grads[orthonormal.name].dataSync();
    assert.ok(gSkewed.every(Number.isFinite) && gSkewed.some((g) => Math.abs(g) > 1e-6), `skewed grad ${Array.from(gSkewed)}`);
    assert.ok(
      gOrtho.every((g) => Math.abs(g) < 1e-9),
      `orthonormal grad ${Array.from(gOrtho)}`,
    );
    tf.dispose(grads);
    model.dispose();
  });
});

/** P(A) of README's formula by direct loops over every window and every pair of positions. */
function coActivationByLoops(data: ArrayLike<number>, shape: number[], k: number): number {
  const [B, H, W, C] = shape;
  const at = (b: number, h: number, w: number, c: number): number => data[((b * H + h) * W + w) * C + c];
  let total = 0;
  let count = 0;
  for (let b = 0; b < B; b++)
    for (let c = 0; c < C; c++) {
      let energy = 0;
      for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) energy += at(b, h, w, c) ** 2;
      const rms = Math.sqrt(energy / (H * W) + EPS);
      for (let h0 = 0; h0 + k <= H; h0++)
        for (let w0 = 0; w0 + k <= W; w0++) {
          const cells: number[] = [];
          for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) cells.push(at(b, h0 + i, w0 + j, c) / rms);
          let pairs = 0;
          for (let p = 0; p < cells.length; p++) for (let q = 0; q < cells.length; q++) if (p !== q) pairs += cells[p] * cells[q];
          total += Math.max(0, pairs / (k * k * (k * k - 1)));
          count++;
        }
    }
  return total / count;
}

function mapFrom(shape: [number, number, number, number], f: (b: number, h: number, w: number, c: number) => number): tf.Tensor4D {
  const [B, H, W, C] = shape;
  const values: number[] = [];
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) for (let c = 0; c < C; c++) values.push(f(b, h, w, c));
  return tf.tensor4d(values, shape);
}

describe('DropBlock-style co-activation penalty template', () => {
  const LAMBDA = 0.1;
  const K = 3;
  const penaltyOf = (features: Map<string, tf.Tensor4D>): number => value(dropblockPenalty.computeRegularization, fakeModel({ features }));
  const coActivation = (a: tf.Tensor4D): number => tf.tidy(() => dropblockPenalty.coActivation(a, K)).arraySync() as number;

  test('matches the formula computed by loops over windows and pairs', () => {
    const shape: [number, number, number, number] = [2, 6, 5, 3];
    const signed = randomNormal(2 * 6 * 5 * 3, 11).map((z, i) => z + 0.8 * Math.sin(i / 7));
    assertClose(coActivation(tf.tensor4d(signed, shape)), coActivationByLoops(signed, shape, K), 1e-5, 'signed map');
    const relu = signed.map((v) => Math.max(0, v + 0.3));
    assertClose(coActivation(tf.tensor4d(relu, shape)), coActivationByLoops(relu, shape, K), 1e-5, 'non-negative map');
  });

  test('selects the last map of each spatial size, at least 3x3, and averages them', () => {
    const shape8: [number, number, number, number] = [2, 8, 8, 4];
    const a = mapFrom(shape8, (b, h, w, c) => Math.abs(Math.sin(h * 0.7 + w * 0.3 + c + b)));
    const b = mapFrom([2, 4, 4, 4], (s, h, w, c) => (h + w + c + s) % 3);
    const noise = (shape: [number, number, number, number], seed: number) =>
      tf.tensor4d(
        randomNormal(
          shape.reduce((x, y) => x * y),
          seed,
        ),
        shape,
      );
    const expected = (LAMBDA * (coActivation(a) + coActivation(b))) / 2;
    const features = new Map<string, tf.Tensor4D>([
      ['conv1', noise(shape8, 12)], // not the last 8x8 map
      ['layer1.0', a],
      ['layer2.0', noise([2, 4, 4, 4], 13)],
      ['layer2.1', b],
      ['layer3.0', noise([2, 2, 2, 4], 14)], // smaller than the block
      ['pool', noise([2, 1, 1, 4], 15)],
    ]);
    assertClose(penaltyOf(features), expected, 1e-6, 'penalty');
    assert.throws(() => penaltyOf(new Map([['pool', noise([2, 1, 1, 4], 16)]])), /no feature map/);
  });

  test('is 1 for constant maps, 0 for +/-1 checkerboards, in between for 0/1 checkerboards', () => {
    const shape: [number, number, number, number] = [2, 8, 8, 3];
    const constant = coActivation(tf.fill(shape, 2) as tf.Tensor4D);
    const checker = coActivation(mapFrom(shape, (_b, h, w) => ((h + w) % 2 === 0 ? 1 : -1)));
    const binaryChecker = coActivation(mapFrom(shape, (_b, h, w) => ((h + w) % 2 === 0 ? 1 : 0)));
    assertClose(constant, 1, 1e-4, 'constant');
    assert.equal(checker, 0);
    // 3x3 windows hold 5 or 4 ones (18 of each): c = (50 - 10) / 72 or (32 - 8) / 72.
    assertClose(binaryChecker, (40 / 72 + 24 / 72) / 2, 1e-4, '0/1 checkerboard');
  });

  test('is larger for spatially smooth maps than for the same values in a checkerboard sign pattern', () => {
    const shape: [number, number, number, number] = [2, 8, 8, 4];
    const smooth = (b: number, h: number, w: number, c: number) => 1 + Math.sin(0.4 * h + 0.3 * w + c + b);
    const smoothP = coActivation(mapFrom(shape, smooth));
    const checkerP = coActivation(mapFrom(shape, (b, h, w, c) => ((h + w) % 2 === 0 ? 1 : -1) * smooth(b, h, w, c)));
    assert.ok(smoothP > 0.5 && checkerP < 0.05, `smooth ${smoothP}, checkerboard ${checkerP}`);
  });

  test('is non-negative and invariant to the scale of the activations', () => {
    for (let seed = 20; seed < 30; seed++) {
      const values = randomNormal(2 * 5 * 5 * 3, seed);
      const p = coActivation(tf.tensor4d(values, [2, 5, 5, 3]));
      assert.ok(p >= 0, `seed ${seed}: ${p}`);
      assertClose(
        coActivation(
          tf.tensor4d(
            values.map((v) => 7 * v),
            [2, 5, 5, 3],
          ),
        ),
        p,
        1e-5,
        `seed ${seed} scaled`,
      );
    }
  });

  test('gives a finite, non-zero gradient w.r.t. a feature map', () => {
    const a = tf.tensor4d(
      randomNormal(2 * 6 * 6 * 3, 31).map((v) => Math.max(0, v + 0.5)),
      [2, 6, 6, 3],
    );
    const grad = tf.grad((x: tf.Tensor) =>
      regularize(dropblockPenalty.computeRegularization, fakeModel({ features: new Map([['layer1.0', x as tf.Tensor4D]]) })),
    )(a);
    const g = grad.dataSync();
    assert.ok(g.every(Number.isFinite), 'finite gradient');
    assert.ok(
      g.some((v) => Math.abs(v) > 1e-6),
      'non-zero gradient',
    );
  });
});

// ---------------------------------------------------------------- norms

type NormClass = new (numFeatures: number) => NormLayer;

const NORMS: [string, NormClass][] = [
  ['blank', BlankNorm],
  ['batchnorm', BatchNorm],
  ['groupnorm', GroupNorm],
  ['batch-instance-norm', BatchInstanceNorm],
  ['switchable-norm', SwitchableNorm],
  ['layernorm-channels', LayerNormChannels],
  ['filter-response-norm', FilterResponseNorm],
];

/** Runs apply() in a tidy and returns the output values and shape. */
function run(norm: NormLayer, x: tf.Tensor4D, training: boolean): { data: Float32Array; shape: number[] } {
  const y = tf.tidy(() => norm.apply(x, training));
  const out = { data: y.dataSync() as Float32Array, shape: y.shape };
  y.dispose();
  return out;
}

function readVector(v: tf.Variable): number[] {
  return Array.from(v.dataSync());
}

/** BatchNorm2d's running statistics after one training step from (mean, var) on input stats. */
function expectedRunning(previousMean: number[], previousVar: number[], stats: Map<string, Stats>): { mean: number[]; variance: number[] } {
  return {
    mean: previousMean.map((m, c) => (1 - MOMENTUM) * m + MOMENTUM * stats.get(`${c}`)!.mean),
    variance: previousVar.map((v, c) => {
      const s = stats.get(`${c}`)!;
      return (1 - MOMENTUM) * v + MOMENTUM * s.variance * (s.count / (s.count - 1));
    }),
  };
}

describe('norm templates: shared contract', () => {
  for (const [name, Norm] of NORMS) {
    test(`${name} preserves [B,H,W,C] for the channel counts of the architectures`, () => {
      for (const c of [3, 16, 24, 64, 96, 144, 160, 320, 1280]) {
        const norm = new Norm(c);
        const x = channelShiftedInput([2, 3, 3, c], c);
        for (const training of [true, false]) {
          const { data, shape } = run(norm, x, training);
          assert.deepEqual(shape, [2, 3, 3, c], `C=${c} training=${training}`);
          assert.ok(data.every(Number.isFinite), `C=${c} training=${training} finite`);
        }
        x.dispose();
      }
    });

    test(`${name} leaks no tensor in training or evaluation`, () => {
      const norm = new Norm(8);
      const x = channelShiftedInput([4, 5, 5, 8], 3);
      for (const training of [true, false, true]) {
        const before = tf.memory().numTensors;
        tf.tidy(() => {
          norm.apply(x, training);
        });
        assert.equal(tf.memory().numTensors, before, `training=${training}`);
      }
    });

    test(`${name} gives every trainable variable a finite gradient`, () => {
      const norm = new Norm(6);
      const x = channelShiftedInput([3, 4, 4, 6], 4);
      const r = tf.randomNormal([3, 4, 4, 6], 0, 1, 'float32', 5);
      const trainable = collectVariables(norm, '').filter((v) => v.trainable);
      assert.ok(trainable.length >= 2, 'at least weight and bias');
      const { value: loss, grads } = tf.variableGrads(
        () => tf.sum(tf.mul(norm.apply(x, true), r)) as tf.Scalar,
        trainable.map((v) => v.variable),
      );
      for (const v of trainable) {
        const g = grads[v.variable.name].dataSync();
        assert.ok(g.every(Number.isFinite), `${v.name} finite`);
        assert.ok(
          g.some((e) => Math.abs(e) > 1e-7),
          `${v.name} non-zero`,
        );
      }
      tf.dispose([loss, grads, x, r]);
    });
  }

  test('collectVariables finds each template variable under its PyTorch-style name', () => {
    const expected: Record<string, [string, boolean][]> = {
      blank: [
        ['weight', true],
        ['bias', true],
      ],
      batchnorm: [
        ['weight', true],
        ['bias', true],
        ['running_mean', false],
        ['running_var', false],
      ],
      groupnorm: [
        ['weight', true],
        ['bias', true],
      ],
      'batch-instance-norm': [
        ['weight', true],
        ['bias', true],
        ['rho', true],
        ['running_mean', false],
        ['running_var', false],
      ],
      'switchable-norm': [
        ['weight', true],
        ['bias', true],
        ['mean_weight', true],
        ['var_weight', true],
        ['running_mean', false],
        ['running_var', false],
      ],
      'layernorm-channels': [
        ['weight', true],
        ['bias', true],
      ],
      'filter-response-norm': [
        ['weight', true],
        ['bias', true],
        ['tau', true],
      ],
    };
    for (const [name, Norm] of NORMS) {
      // Two instances: tf variable names must not collide across the norm slots of one model.
      new Norm(4);
      const found = collectVariables(new Norm(4), 'layer1.0.bn1').map((v) => [v.name, v.trainable]);
      assert.deepEqual(
        found,
        expected[name].map(([n, t]) => [`layer1.0.bn1.${n}`, t]),
        name,
      );
    }
  });
});

describe('blank norm template', () => {
  test('is the identity at initialization', () => {
    const x = channelShiftedInput([2, 3, 3, 5], 6);
    assert.deepEqual(run(new BlankNorm(5), x, true).data, x.dataSync());
  });
});

describe('batchnorm template', () => {
  test('normalizes with batch statistics in training and updates running stats with momentum 0.1, unbiased variance', () => {
    const norm = new BatchNorm(5);
    const shape: [number, number, number, number] = [4, 3, 3, 5];
    const x1 = channelShiftedInput(shape, 7);
    const y1 = run(norm, x1, true);
    assertStandardized(groupStats(y1.data, shape, perChannel), 1e-3, 'training output per channel');
    const step1 = expectedRunning([0, 0, 0, 0, 0], [1, 1, 1, 1, 1], groupStats(x1.dataSync(), shape, perChannel));
    assertAllClose(readVector(norm.running_mean), step1.mean, 1e-4, 'running_mean after 1 step');
    assertAllClose(readVector(norm.running_var), step1.variance, 1e-4, 'running_var after 1 step');

    const x2 = channelShiftedInput(shape, 8, 0.5);
    run(norm, x2, true);
    const step2 = expectedRunning(step1.mean, step1.variance, groupStats(x2.dataSync(), shape, perChannel));
    assertAllClose(readVector(norm.running_mean), step2.mean, 1e-4, 'running_mean after 2 steps');
    assertAllClose(readVector(norm.running_var), step2.variance, 1e-4, 'running_var after 2 steps');
  });

  test('normalizes with running statistics in evaluation, which it leaves unchanged', () => {
    const norm = new BatchNorm(5);
    const shape: [number, number, number, number] = [4, 3, 3, 5];
    const x = channelShiftedInput(shape, 9);
    const train = run(norm, x, true);
    const rm = readVector(norm.running_mean);
    const rv = readVector(norm.running_var);
    const evalOut = run(norm, x, false);
    assert.deepEqual(readVector(norm.running_mean), rm);
    assert.deepEqual(readVector(norm.running_var), rv);
    const input = x.dataSync();
    const expected = Array.from(input, (v, i) => (v - rm[i % 5]) / Math.sqrt(rv[i % 5] + EPS));
    assertAllClose(evalOut.data, expected, 1e-4, 'eval output');
    const maxDiff = Math.max(...Array.from(train.data, (v, i) => Math.abs(v - evalOut.data[i])));
    assert.ok(maxDiff > 0.5, `eval differs from training (max diff ${maxDiff})`);
  });
});

describe('groupnorm template', () => {
  test('uses gcd(32, C) groups', () => {
    const groups = [16, 24, 32, 64, 96, 144, 160, 320, 1280, 3].map((c) => new GroupNorm(c).groups);
    assert.deepEqual(groups, [16, 8, 32, 32, 32, 16, 32, 32, 32, 1]);
  });

  test('standardizes each (sample, group) of contiguous channels, and only that', () => {
    for (const c of [64, 24, 96]) {
      const norm = new GroupNorm(c);
      const shape: [number, number, number, number] = [3, 4, 4, c];
      const x = channelShiftedInput(shape, c + 1, 2);
      const y = run(norm, x, true);
      const size = c / norm.groups;
      const group = (b: number, _h: number, _w: number, ch: number): string => `${b}/${Math.floor(ch / size)}`;
      assertStandardized(groupStats(y.data, shape, group), 1e-3, `C=${c} per group`);
      const input = x.dataSync();
      const inputStats = groupStats(input, shape, group);
      const expected = Array.from(input, (v, i) => {
        const s = inputStats.get(group(Math.floor(i / (16 * c)), 0, 0, i % c))!;
        return (v - s.mean) / Math.sqrt(s.variance + EPS);
      });
      assertAllClose(y.data, expected, 1e-4, `C=${c} output`);
      // Channels of one group keep their relative offsets: a per-channel (instance) norm would not.
      const channelMeans = groupStats(y.data, shape, perSampleChannel);
      assert.ok(Math.abs(channelMeans.get('0/0')!.mean - channelMeans.get(`0/${size - 1}`)!.mean) > 0.1, `C=${c} channel offsets kept`);
      assert.deepEqual(run(norm, x, false).data, y.data, `C=${c} eval == train`);
      x.dispose();
    }
  });
});

describe('batch-instance norm template', () => {
  const shape: [number, number, number, number] = [4, 3, 3, 6];

  function withRho(rho: number): InstanceType<typeof BatchInstanceNorm> {
    const norm = new BatchInstanceNorm(6);
    norm.rho.assign(tf.fill([6], rho));
    return norm;
  }

  test('is BatchNorm at rho = 1 (its initial value) and InstanceNorm at rho = 0', () => {
    const x = channelShiftedInput(shape, 40, 1.5);
    const fresh = new BatchInstanceNorm(6);
    assert.deepEqual(readVector(fresh.rho), [1, 1, 1, 1, 1, 1]);
    const bn = run(fresh, x, true);
    assertAllClose(bn.data, run(new BatchNorm(6), x, true).data, 1e-5, 'rho=1 is BatchNorm');
    assertStandardized(groupStats(run(withRho(0), x, true).data, shape, perSampleChannel), 1e-3, 'rho=0 per (sample, channel)');
  });

  test('mixes the two with clamp(rho, 0, 1)', () => {
    const x = channelShiftedInput(shape, 41, 1.5);
    const bn = run(withRho(1), x, true).data;
    const inorm = run(withRho(0), x, true).data;
    const mixed = run(withRho(0.3), x, true).data;
    assertAllClose(
      mixed,
      Array.from(bn, (v, i) => 0.3 * v + 0.7 * inorm[i]),
      1e-5,
      'rho=0.3',
    );
    assert.deepEqual(run(withRho(1.7), x, true).data, bn, 'rho > 1 acts as 1');
    assert.deepEqual(run(withRho(-0.5), x, true).data, inorm, 'rho < 0 acts as 0');
  });

  test('keeps BatchNorm running statistics and uses them in evaluation only for the BN part', () => {
    const norm = new BatchInstanceNorm(6);
    const x = channelShiftedInput(shape, 42, 1.5);
    const train = run(norm, x, true);
    const step = expectedRunning([0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1], groupStats(x.dataSync(), shape, perChannel));
    assertAllClose(readVector(norm.running_mean), step.mean, 1e-4, 'running_mean');
    assertAllClose(readVector(norm.running_var), step.variance, 1e-4, 'running_var');
    const evalOut = run(norm, x, false);
    const input = x.dataSync();
    const rm = readVector(norm.running_mean);
    const rv = readVector(norm.running_var);
    assertAllClose(
      evalOut.data,
      Array.from(input, (v, i) => (v - rm[i % 6]) / Math.sqrt(rv[i % 6] + EPS)),
      1e-4,
      'eval at rho=1',
    );
    assert.ok(
      evalOut.data.some((v, i) => Math.abs(v - train.data[i]) > 0.5),
      'eval differs from training',
    );
    // The IN part needs no running statistics: at rho = 0, evaluation equals training.
    const inNorm = withRho(0);
    assertAllClose(run(inNorm, x, false).data, run(inNorm, x, true).data, 1e-6, 'rho=0 eval == train');
  });
});

describe('switchable norm template', () => {
  const shape: [number, number, number, number] = [3, 4, 4, 5];

  /** README's formula in float64, with softmax weights [IN, LN, BN] and the given BN statistics. */
  function reference(x: ArrayLike<number>, wm: number[], wv: number[], bn: (c: number) => { mean: number; variance: number }): number[] {
    const softmax = (v: number[]) => {
      const e = v.map((z) => Math.exp(z - Math.max(...v)));
      const s = e.reduce((a, b) => a + b, 0);
      return e.map((z) => z / s);
    };
    const [pm, pv] = [softmax(wm), softmax(wv)];
    const inStats = groupStats(x, shape, perSampleChannel);
    const lnStats = groupStats(x, shape, perSample);
    const C = shape[3];
    const HWC = shape[1] * shape[2] * C;
    return Array.from(x, (v, i) => {
      const b = Math.floor(i / HWC);
      const c = i % C;
      const sIn = inStats.get(`${b}/${c}`)!;
      const sLn = lnStats.get(`${b}`)!;
      const sBn = bn(c);
      const m = pm[0] * sIn.mean + pm[1] * sLn.mean + pm[2] * sBn.mean;
      const s2 = pv[0] * sIn.variance + pv[1] * sLn.variance + pv[2] * sBn.variance;
      return (v - m) / Math.sqrt(s2 + EPS);
    });
  }

  test('mixes IN, LN and BN statistics with softmax weights in training', () => {
    const x = channelShiftedInput(shape, 50, 1.5);
    const batch = groupStats(x.dataSync(), shape, perChannel);
    const norm = new SwitchableNorm(5);
    assertAllClose(
      run(norm, x, true).data,
      reference(x.dataSync(), [1, 1, 1], [1, 1, 1], (c) => batch.get(`${c}`)!),
      1e-4,
      'equal thirds',
    );
    norm.mean_weight.assign(tf.tensor1d([0.5, -1, 2]));
    norm.var_weight.assign(tf.tensor1d([-0.3, 1.2, 0]));
    assertAllClose(
      run(norm, x, true).data,
      reference(x.dataSync(), [0.5, -1, 2], [-0.3, 1.2, 0], (c) => batch.get(`${c}`)!),
      1e-4,
      'learned weights',
    );
  });

  test('reduces to IN, LN or BN when one weight dominates', () => {
    const x = channelShiftedInput(shape, 51, 1.5);
    const cases: [number[], (b: number, h: number, w: number, c: number) => string, string][] = [
      [[30, 0, 0], perSampleChannel, 'IN'],
      [[0, 30, 0], perSample, 'LN'],
      [[0, 0, 30], perChannel, 'BN'],
    ];
    for (const [logits, key, what] of cases) {
      const norm = new SwitchableNorm(5);
      norm.mean_weight.assign(tf.tensor1d(logits));
      norm.var_weight.assign(tf.tensor1d(logits));
      assertStandardized(groupStats(run(norm, x, true).data, shape, key), 1e-3, what);
    }
  });

  test('keeps BatchNorm running statistics and uses them for the BN share in evaluation', () => {
    const norm = new SwitchableNorm(5);
    const x = channelShiftedInput(shape, 52, 1.5);
    const train = run(norm, x, true);
    const step = expectedRunning([0, 0, 0, 0, 0], [1, 1, 1, 1, 1], groupStats(x.dataSync(), shape, perChannel));
    assertAllClose(readVector(norm.running_mean), step.mean, 1e-4, 'running_mean');
    assertAllClose(readVector(norm.running_var), step.variance, 1e-4, 'running_var');
    const evalOut = run(norm, x, false);
    assertAllClose(readVector(norm.running_mean), step.mean, 1e-4, 'running_mean unchanged by eval');
    const expected = reference(x.dataSync(), [1, 1, 1], [1, 1, 1], (c) => ({ mean: step.mean[c], variance: step.variance[c] }));
    assertAllClose(evalOut.data, expected, 1e-4, 'eval output');
    assert.ok(
      evalOut.data.some((v, i) => Math.abs(v - train.data[i]) > 0.1),
      'eval differs from training',
    );
  });
});

describe('layernorm-channels template', () => {
  const shape: [number, number, number, number] = [3, 4, 5, 6];
  const perPosition = (b: number, h: number, w: number): string => `${b}/${h}/${w}`;

  test('standardizes the C values of each (sample, position), then applies the per-channel affine', () => {
    const x = channelShiftedInput(shape, 70, 1.5);
    const norm = new LayerNormChannels(6);
    assertStandardized(groupStats(run(norm, x, true).data, shape, perPosition), 1e-3, 'per position');
    const weight = [0.5, 2, -1, 1.5, 1, 0.25];
    const bias = [0.1, -0.2, 0, 0.3, -1, 2];
    norm.weight.assign(tf.tensor1d(weight));
    norm.bias.assign(tf.tensor1d(bias));
    const input = x.dataSync();
    const stats = groupStats(input, shape, perPosition);
    const expected = Array.from(input, (v, i) => {
      const c = i % 6;
      const s = stats.get(perPosition(Math.floor(i / (4 * 5 * 6)), Math.floor(i / (5 * 6)) % 4, Math.floor(i / 6) % 5))!;
      return weight[c] * ((v - s.mean) / Math.sqrt(s.variance + EPS)) + bias[c];
    });
    const train = run(norm, x, true).data;
    assertAllClose(train, expected, 1e-4, 'output');
    assert.deepEqual(run(norm, x, false).data, train, 'eval == train');
    // Per-channel offsets are removed at each position, per-sample shifts too: not a BatchNorm.
    const channelMeans = groupStats(run(new LayerNormChannels(6), x, true).data, shape, perChannel);
    assert.ok(Math.abs(channelMeans.get('0')!.mean) > 0.5, 'channel means are not zeroed');
  });
});

describe('filter-response-norm template', () => {
  const shape: [number, number, number, number] = [3, 4, 4, 5];

  /** README's formula in float64. */
  function reference(x: ArrayLike<number>, weight: number[], bias: number[], tau: number[]): number[] {
    const [, H, W, C] = shape;
    const nu2 = new Map<string, number>();
    for (let i = 0; i < x.length; i++) {
      const k = `${Math.floor(i / (H * W * C))}/${i % C}`;
      nu2.set(k, (nu2.get(k) ?? 0) + (x[i] * x[i]) / (H * W));
    }
    return Array.from(x, (v, i) => {
      const c = i % C;
      const xHat = v / Math.sqrt(nu2.get(`${Math.floor(i / (H * W * C))}/${c}`)! + EPS);
      return Math.max(weight[c] * xHat + bias[c], tau[c]);
    });
  }

  test('divides by the spatial RMS per (sample, channel), then max(weight * x_hat + bias, tau)', () => {
    const x = channelShiftedInput(shape, 80, 1.5);
    const norm = new FilterResponseNorm(5);
    assert.deepEqual(readVector(norm.tau), [0, 0, 0, 0, 0]);
    const input = x.dataSync();
    // At initialization: max(x_hat, 0).
    assertAllClose(run(norm, x, true).data, reference(input, [1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [0, 0, 0, 0, 0]), 1e-5, 'initial');
    const weight = [0.5, 2, -1, 1.5, 1];
    const bias = [0.1, -0.2, 0, 0.3, -1];
    const tau = [-0.5, 0.2, -100, 0, 1];
    norm.weight.assign(tf.tensor1d(weight));
    norm.bias.assign(tf.tensor1d(bias));
    norm.tau.assign(tf.tensor1d(tau));
    const train = run(norm, x, true).data;
    assertAllClose(train, reference(input, weight, bias, tau), 1e-5, 'learned parameters');
    assert.deepEqual(run(norm, x, false).data, train, 'eval == train');
  });

  test('without the threshold, x_hat has mean square nu2 / (nu2 + eps) ~ 1 per (sample, channel), and no mean removed', () => {
    const x = channelShiftedInput(shape, 81, 1.5);
    const norm = new FilterResponseNorm(5);
    norm.tau.assign(tf.fill([5], -100)); // below every y (|x_hat| <= sqrt(H*W) = 4)
    const y = run(norm, x, true).data;
    const squares = groupStats(
      Array.from(y, (v) => v * v),
      shape,
      perSampleChannel,
    );
    for (const [k, s] of squares) assertClose(s.mean, 1, 1e-3, `mean square ${k}`);
    // Channel 0 has mean +2.5 in the input: its sign survives (FRN does not center).
    assert.ok(groupStats(y, shape, perChannel).get('0')!.mean > 0.5, 'not centered');
    // Scale invariance per (sample, channel).
    const scaled = run(norm, tf.mul(x, 7) as tf.Tensor4D, true).data;
    assertAllClose(scaled, y, 1e-4, 'scale invariant');
  });
});

// ---------------------------------------------------------------- TypeScript and Python agree

/** A Python with torch: $REGBENCH_PYTHON, Debian's python3, or the one on PATH. */
function pythonWithTorch(): string | undefined {
  const candidates = [process.env.REGBENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p);
  return candidates.find((py) => spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0);
}

function templatesDir(): string | undefined {
  // The bundle runs from dist/test; a bundle elsewhere runs from the repository root.
  return [resolve(__dirname, '../../templates'), resolve(process.cwd(), 'templates')].find((d) => existsSync(join(d, 'norms', 'batchnorm.py')));
}

/**
 * Runs the Python templates on the NHWC data it reads from stdin (converted to NCHW / OIHW / [out,in])
 * and prints their outputs back in NHWC order.
 */
const PARITY_SCRIPT = String.raw`
import importlib.util, json, sys
import torch
from torch import nn
root = sys.argv[1]
d = json.load(sys.stdin)
def load(rel):
    spec = importlib.util.spec_from_file_location(rel.replace('/', '_')[:-3], root + '/' + rel)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m
def nchw(t):
    return torch.tensor(t['data'], dtype=torch.float32).reshape(t['shape']).permute(0, 3, 1, 2).contiguous()
def flat(x):
    return x.detach().permute(0, 2, 3, 1).reshape(-1).tolist()
out = {'norms': {}}
x1, x2 = nchw(d['x1']), nchw(d['x2'])
C = x1.shape[1]
for name, setup in d['norms'].items():
    n = load('norms/' + name + '.py').CustomNorm(C)
    with torch.no_grad():
        for attr, values in setup.items():
            getattr(n, attr).copy_(torch.tensor(values))
    n.train()
    rec = {'train1': flat(n(x1)), 'train2': flat(n(x2))}
    n.eval()
    rec['eval'] = flat(n(x1))
    if hasattr(n, 'running_mean'):
        rec['running_mean'] = n.running_mean.tolist()
        rec['running_var'] = n.running_var.tolist()
    out['norms'][name] = rec
logits = torch.tensor(d['logits']['data']).reshape(d['logits']['shape'])
out['confidence'] = load('regularizers/confidence_penalty.py').compute_regularization(None, None, logits, None, None).item()
db = load('regularizers/dropblock_penalty.py')
maps = [nchw(f) for f in d['features']]
out['dropblock'] = (db.LAMBDA * torch.stack([db.co_activation(a, db.BLOCK_SIZE) for a in db.stage_ends(maps, db.BLOCK_SIZE)]).mean()).item()
layers = []
for w in d['weights']:
    s = w['shape']
    t = torch.tensor(w['data']).reshape(s)
    if len(s) == 2:
        m = nn.Linear(s[0], s[1], bias=False)
        m.weight.data = t.t().contiguous()
    elif s[3] == 1:
        m = nn.Conv2d(s[2], s[2], s[0], groups=s[2], bias=False)
        m.weight.data = t.permute(2, 3, 0, 1).contiguous()
    else:
        m = nn.Conv2d(s[2], s[3], s[0], bias=False)
        m.weight.data = t.permute(3, 2, 0, 1).contiguous()
    layers.append(m)
out['orthogonal'] = load('regularizers/orthogonal_reg.py').compute_regularization(nn.Sequential(*layers), None, logits, None, None).item()
for key, rel in (('l1', 'l1_penalty'), ('l2', 'l2_penalty')):
    out[key] = load('regularizers/' + rel + '.py').compute_regularization(nn.Sequential(*layers), None, logits, None, None).item()
ga = load('regularizers/gradaug_consistency.py')
out['gradaug_view'] = flat(ga.view(x1))
out['gradaug_consistency'] = ga.consistency(logits, torch.tensor(d['logits2']['data']).reshape(d['logits2']['shape'])).item()
out['label_smoothing'] = load('regularizers/label_smoothing.py').compute_regularization(None, None, logits, torch.tensor(d['targets']), None).item()
print(json.dumps(out))
`;
import { seededRandom } from './seeded-values';

interface Dense {
  shape: number[];
  data: number[];
}

function dense(t: tf.Tensor): Dense {
  return { shape: t.shape, data: Array.from(t.dataSync()) };
}

describe('TypeScript and Python templates agree', () => {
  const python = pythonWithTorch();
  const dir = templatesDir();
  const skip = !python ? 'no Python with torch (set REGBENCH_PYTHON)' : !dir ? 'templates/*.py not found' : false;

  test('norms in training and evaluation, running statistics, and the regularizers', { skip }, () => {
    const C = 24; // GroupNorm: 8 groups of 3
    const x1 = tf.add(tf.mul(tf.randomNormal([3, 4, 4, C], 0, 1, 'float32', 1), 2), 0.5) as tf.Tensor4D;
    const x2 = tf.randomNormal([3, 4, 4, C], 0.3, 1.5, 'float32', 2) as tf.Tensor4D;
    const affine = { weight: randomNormal(C, 3).map((z) => 1 + 0.2 * z), bias: randomNormal(C, 4).map((z) => 0.2 * z) };
    // rho spans [-0.2, 1.2], so both clamp bounds are exercised.
    const setups: Record<string, Record<string, number[]>> = {
      blank: affine,
      batchnorm: affine,
      groupnorm: affine,
      batch_instance_norm: { ...affine, rho: Array.from({ length: C }, (_, i) => -0.2 + (1.4 * i) / (C - 1)) },
      switchable_norm: { ...affine, mean_weight: [0.5, -1, 2], var_weight: [-0.3, 1.2, 0] },
      layernorm_channels: affine,
      filter_response_norm: { ...affine, tau: randomNormal(C, 5).map((z) => 0.5 * z) },
    };
    const classes: Record<string, NormClass> = {
      blank: BlankNorm,
      batchnorm: BatchNorm,
      groupnorm: GroupNorm,
      batch_instance_norm: BatchInstanceNorm,
      switchable_norm: SwitchableNorm,
      layernorm_channels: LayerNormChannels,
      filter_response_norm: FilterResponseNorm,
    };
    const tsNorms: Record<string, Record<string, ArrayLike<number>>> = {};
    for (const [name, setup] of Object.entries(setups)) {
      const norm = new classes[name](C);
      const vars = Object.fromEntries(collectVariables(norm, '').map((v) => [v.name, v.variable]));
      for (const [attr, values] of Object.entries(setup)) vars[attr].assign(tf.tensor1d(values));
      tsNorms[name] = { train1: run(norm, x1, true).data, train2: run(norm, x2, true).data, eval: run(norm, x1, false).data };
      if (vars.running_mean) Object.assign(tsNorms[name], { running_mean: vars.running_mean.dataSync(), running_var: vars.running_var.dataSync() });
    }

    const logits = tf.randomNormal([5, 10], 0, 3, 'float32', 5) as tf.Tensor2D;
    const targets = [3, 0, 9, 3, 7];
    const logits2 = tf.randomNormal([5, 10], 0, 3, 'float32', 9) as tf.Tensor2D;
    const features = [
      tf.relu(tf.randomNormal([2, 8, 8, 4], 0.2, 1, 'float32', 6)),
      tf.randomNormal([2, 8, 8, 4], 0, 1, 'float32', 7),
      tf.randomNormal([2, 4, 4, 6], 0, 1, 'float32', 8),
    ] as tf.Tensor4D[];
    const weights = [
      [3, 3, 3, 8],
      [3, 3, 8, 8],
      [1, 1, 8, 32],
      [3, 3, 32, 1],
      [32, 10],
      [4, 12],
    ].map((s, i) => tf.variable(tf.randomNormal(s, 0, 0.3, 'float32', 10 + i)));
    const model = fakeModel({ weights, features: new Map(features.map((f, i) => [`block${i}`, f])) });
    const tsRegs = {
      confidence: value(confidencePenalty.computeRegularization, model, logits),
      dropblock: value(dropblockPenalty.computeRegularization, model, logits),
      orthogonal: value(orthogonalReg.computeRegularization, model, logits),
      l1: value(l1Penalty.computeRegularization, model, logits),
      l2: value(l2Penalty.computeRegularization, model, logits),
      label_smoothing: tf
        .tidy(() => labelSmoothing.computeRegularization(model, tf.zeros([5, 4, 4, 3]), logits, tf.tensor1d(targets, 'int32'), CONFIG))
        .arraySync() as number,
    };

    const input = {
      x1: dense(x1),
      x2: dense(x2),
      norms: setups,
      logits: dense(logits),
      features: features.map(dense),
      weights: weights.map(dense),
      targets,
      logits2: dense(logits2),
    };
    const res = spawnSync(python as string, ['-c', PARITY_SCRIPT, dir as string], { input: JSON.stringify(input), encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(res.status, 0, `python failed: ${res.stderr}`);
    const py = JSON.parse(res.stdout) as {
      norms: Record<string, Record<string, number[]>>;
      confidence: number;
      dropblock: number;
      orthogonal: number;
      l1: number;
      l2: number;
      label_smoothing: number;
      gradaug_view: number[];
      gradaug_consistency: number;
    };

    for (const [name, outputs] of Object.entries(tsNorms)) {
      assert.deepEqual(Object.keys(py.norms[name]).sort(), Object.keys(outputs).sort(), `${name}: same outputs and buffers`);
      for (const [key, values] of Object.entries(outputs)) assertAllClose(py.norms[name][key], values, 1e-5, `${name} ${key}`);
    }
    assertClose(py.confidence, tsRegs.confidence, 1e-6, 'confidence penalty');
    assertClose(py.dropblock, tsRegs.dropblock, 1e-6 * Math.abs(tsRegs.dropblock) + 1e-9, 'dropblock penalty');
    assert.ok(tsRegs.dropblock > 1e-4, `a non-trivial dropblock value (${tsRegs.dropblock})`);
    assertClose(py.orthogonal, tsRegs.orthogonal, 1e-6 * tsRegs.orthogonal, 'orthogonal penalty');
    assertClose(py.l1, tsRegs.l1, 1e-6 * tsRegs.l1, 'L1 penalty');
    assertClose(py.l2, tsRegs.l2, 1e-6 * tsRegs.l2, 'L2 penalty');
    assertClose(py.label_smoothing, tsRegs.label_smoothing, 1e-6, 'label smoothing');
    assertAllClose(py.gradaug_view, tf.tidy(() => gradaugConsistency.view(x1)).dataSync(), 1e-6, 'GradAug view');
    const tsConsistency = tf.tidy(() => gradaugConsistency.consistency(logits, logits2)).arraySync() as number;
    assert.ok(tsConsistency > 0.1, `a non-trivial consistency value (${tsConsistency})`);
    assertClose(py.gradaug_consistency, tsConsistency, 1e-6 * tsConsistency, 'GradAug consistency');
    model.dispose();
  });
});
