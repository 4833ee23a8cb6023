/**
 * Wide ResNet 28-10 (a model beyond the benchmarks) against the PyTorch engine's definition
 * (src/engine/pytorch/models.py, run with the Python that has torch): the parameter count (36.5M
 * for 10 classes), the state_dict names, order, shapes (after the layout mapping) and buffer split,
 * a forward pass of the full network on a batch of 2 on the wasm backend, and, on a reduced width
 * (WRN-16-2, the same block code), logits and every gradient of a training step equal to torch's
 * with torch's weights copied in by name.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import protocolJson from '../src/protocol/protocol.json';
import { initBackend } from '../src/engine/tfjs/backend';
import { batchNorm2d, buildModel, isModelArch, MODEL_IDS } from '../src/engine/tfjs/models/index';
import { LayerFactory } from '../src/engine/tfjs/models/network';
import { WideResNet } from '../src/engine/tfjs/models/wide-resnet';
import type { Model, ModelArch, NormLayer } from '../src/engine/tfjs/types';
import { collectVariables } from '../src/engine/tfjs/variables';
import { tfjsShapeOf, torchToTfjs, type TensorKind } from '../src/engine/parity/layout';
import { findPython } from '../src/engine/pytorch/launcher';
import { requireTool } from './requirements';

const workerDir = path.resolve(__dirname, '..', '..', 'src/engine/pytorch');

interface TorchEntry {
  name: string;
  kind: TensorKind;
  shape: number[];
  trainable: boolean;
  /** float32 little-endian, base64 (the reduced model only). */
  values?: string;
}
interface TorchFacts {
  full: { count: number; norms: number; entries: TorchEntry[] };
  small: { entries: TorchEntry[]; x: string; labels: number[]; logits: string; loss: number; evalLogits: string; grads: Record<string, string> };
}

// The reduced model's state is randomized (norm affine parameters and running statistics, a wider
// classifier init) so that every gradient is far from zero; the running statistics then move in
// the training forward, which the evaluation logits see.
const TORCH_SCRIPT = `
import base64, json, torch, models
from torch import nn
import torch.nn.functional as F

def b64(t):
    return base64.b64encode(t.detach().contiguous().float().numpy().astype('<f4').tobytes()).decode()

def kind(m, key):
    mod = m.get_submodule(key.rsplit('.', 1)[0])
    if isinstance(mod, nn.Conv2d):
        return 'conv' if mod.groups == 1 else 'depthwise'
    if isinstance(mod, nn.Linear) and key.endswith('weight'):
        return 'linear'
    return 'vector'

def entries(m, values):
    params = {n for n, _ in m.named_parameters()}
    out = []
    for k, v in m.state_dict().items():
        if k.endswith('num_batches_tracked'):
            continue
        e = {'name': k, 'kind': kind(m, k), 'shape': list(v.shape), 'trainable': k in params}
        if values:
            e['values'] = b64(v)
        out.append(e)
    return out

full = models.build_model('wrn28-10', 10, seed=0)
facts = {'full': {'count': models.count_parameters(full), 'norms': sum(isinstance(x, nn.BatchNorm2d) for x in full.modules()), 'entries': entries(full, False)}}
del full
torch.manual_seed(1)
small = models.WideResNet(16, 2, 10, models.batchnorm_factory())
models.initialize(small)
with torch.no_grad():
    for mod in small.modules():
        if isinstance(mod, nn.BatchNorm2d):
            mod.weight.uniform_(0.5, 1.5); mod.bias.uniform_(-0.2, 0.2)
            mod.running_mean.uniform_(-0.1, 0.1); mod.running_var.uniform_(0.5, 1.5)
        elif isinstance(mod, nn.Linear):
            mod.weight.normal_(0.0, 0.1)
state = entries(small, True)
x = torch.randn(2, 3, 32, 32)
labels = [3, 7]
small.train()
logits = small(x)
loss = F.cross_entropy(logits, torch.tensor(labels))
loss.backward()
small.eval()
with torch.no_grad():
    eval_logits = small(x)
facts['small'] = {'entries': state, 'x': b64(x), 'labels': labels, 'logits': b64(logits), 'loss': loss.item(),
                  'evalLogits': b64(eval_logits), 'grads': {n: b64(p.grad) for n, p in small.named_parameters()}}
print(json.dumps(facts))
`;

let facts: TorchFacts | undefined;
let noTorch = '';

before(async () => {
  await initBackend('wasm');
  let python: string;
  try {
    python = (await findPython({ setting: '/usr/bin/python3' })).python;
  } catch (err) {
    noTorch = (err as Error).message;
    return;
  }
  const r = spawnSync(python, ['-c', TORCH_SCRIPT], {
    cwd: workerDir,
    encoding: 'utf8',
    maxBuffer: 256 << 20,
    env: { ...process.env, OMP_NUM_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE' },
  });
  assert.equal(r.status, 0, `python (models.py) failed:\n${r.stderr}`);
  facts = JSON.parse(r.stdout) as TorchFacts;
});

function floats(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Largest |a - b| over the largest |b| (1 where b is all zeros). */
function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): number {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return diff / (scale || 1);
}

/** The full WRN-28-10, built once (36.5M seeded normal draws) for the tests that need it. */
let fullModel: Model | undefined;
function wrn28(): Model {
  fullModel ??= buildModel('wrn28-10', 10, { seed: 0 });
  return fullModel;
}

test('wrn28-10 has the trainable parameter count of PyTorch (36.5M for 10 classes) and 25 norm slots', (t) => {
  const model = wrn28();
  const params = model.trainableVariables().reduce((n, v) => n + v.size, 0);
  assert.equal(Math.round(params / 1e5) / 10, 36.5, `${params} parameters is not the paper's 36.5M`);
  assert.equal(model.normLayers.length, 25);
  assert.equal(model.namedVariables().filter((v) => !v.trainable).length, 2 * 25, 'two buffers per BatchNorm2d');
  if (!requireTool(t, 'torch', facts !== undefined, noTorch) || !facts) return;
  assert.equal(params, facts.full.count);
  assert.equal(facts.full.norms, 25);
});

test('wrn28-10 names, order, shapes and buffers are those of the PyTorch state_dict', (t) => {
  if (!requireTool(t, 'torch', facts !== undefined, noTorch) || !facts) return;
  const ours = wrn28()
    .namedVariables()
    .map((v) => ({ name: v.name, shape: v.variable.shape, trainable: v.trainable }));
  const theirs = facts.full.entries.map((e) => ({ name: e.name, shape: tfjsShapeOf(e.kind, e.shape), trainable: e.trainable }));
  assert.deepEqual(ours, theirs);
  assert.deepEqual(
    wrn28()
      .weights()
      .map((w) => w.name),
    facts.full.entries.filter((e) => e.kind !== 'vector').map((e) => e.name),
    'the weights a penalty sees: every conv and linear weight',
  );
});

test('wrn28-10 forward on a batch of 2 (wasm): logits [2, 10], the block outputs by name, no leak', async () => {
  const model = wrn28();
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const features = new Map<string, tf.Tensor4D>();
  const logits = tf.tidy(() => {
    const y = model.forward(x, false, features);
    const expected = ['conv1', ...[1, 2, 3].flatMap((s) => [0, 1, 2, 3].map((i) => `layer${s}.${i}`))];
    assert.deepEqual([...features.keys()], expected);
    assert.deepEqual(features.get('layer1.3')?.shape, [2, 32, 32, 160]);
    assert.deepEqual(features.get('layer3.3')?.shape, [2, 8, 8, 640]);
    return y;
  });
  assert.deepEqual(logits.shape, [2, 10]);
  assert.ok((await logits.data()).every(Number.isFinite));
  assert.equal(tf.memory().numTensors, before + 1);
  tf.dispose([logits, x]);
});

test('wrn28-10 is built by name but is not one of the five protocol benchmarks', () => {
  assert.ok(isModelArch('wrn28-10'));
  assert.ok(MODEL_IDS.includes('wrn28-10'));
  assert.equal(protocolJson.benchmarks.length, 5);
  assert.ok(protocolJson.benchmarks.every((b) => b.arch !== 'wrn28-10'));
  assert.throws(() => buildModel('wrn28-12' as ModelArch, 10), /unknown architecture 'wrn28-12' \(expected one of .*wrn28-10/);
});

/** WRN-16-2 from the same classes as WRN-28-10; returns the network and its variables by name. */
function smallWrn(normFactory = batchNorm2d): { net: WideResNet; factory: LayerFactory; vars: Map<string, tf.Variable> } {
  const factory = new LayerFactory(4, normFactory);
  const net = new WideResNet(factory, { depth: 16, widen: 2 }, 10, 5);
  return { net, factory, vars: new Map(collectVariables(net, '').map((v) => [v.name, v.variable])) };
}

test('a reduced width (WRN-16-2): training logits, loss, every gradient and evaluation logits equal PyTorch', (t) => {
  if (!requireTool(t, 'torch', facts !== undefined, noTorch) || !facts) return;
  const s = facts.small;
  const { net, vars } = smallWrn();
  try {
    assert.deepEqual(
      [...vars.keys()],
      s.entries.map((e) => e.name),
    );
    for (const e of s.entries) {
      const host = torchToTfjs(e.kind, { data: floats(e.values ?? ''), shape: e.shape });
      vars.get(e.name)?.assign(tf.tensor(host.data, host.shape, 'float32'));
    }
    const x = tf.tensor(torchToTfjs('activations', { data: floats(s.x), shape: [2, 3, 32, 32] }).data, [2, 32, 32, 3]) as tf.Tensor4D;
    const oneHot = tf.cast(tf.oneHot(s.labels, 10), 'float32');
    let logits: tf.Tensor2D | undefined;
    const trainable = [...vars.values()].filter((v) => v.trainable);
    const { value, grads } = tf.variableGrads(() => {
      logits = tf.keep(net.forward(x, true, undefined));
      return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
    }, trainable);
    const errors: string[] = [];
    const check = (what: string, err: number, tol: number): void => {
      if (!(err <= tol)) errors.push(`${what}: relative error ${err.toExponential(2)} > ${tol}`);
    };
    check('training logits', relativeError(logits?.dataSync() ?? [], floats(s.logits), 'logits'), 1e-4);
    check('loss', Math.abs(value.dataSync()[0] - s.loss) / Math.abs(s.loss), 1e-5);
    const byVariable = new Map([...vars].map(([name, v]) => [v.name, name]));
    assert.equal(Object.keys(grads).length, Object.keys(s.grads).length, 'one gradient per trainable parameter');
    for (const [id, g] of Object.entries(grads)) {
      const name = byVariable.get(id) ?? id;
      const e = s.entries.find((entry) => entry.name === name);
      assert.ok(e && s.grads[name], `no torch gradient for ${name}`);
      const expected = torchToTfjs(e.kind, { data: floats(s.grads[name]), shape: e.shape });
      check(`gradient of ${name}`, relativeError(g.dataSync(), expected.data, name), 1e-3);
    }
    const evalLogits = tf.tidy(() => net.forward(x, false, undefined));
    check('evaluation logits (running statistics after the step)', relativeError(evalLogits.dataSync(), floats(s.evalLogits), 'eval'), 1e-4);
    tf.dispose([x, oneHot, value, evalLogits, ...(logits ? [logits] : []), ...Object.values(grads)]);
    assert.deepEqual(errors, []);
  } finally {
    for (const v of vars.values()) v.dispose();
  }
});

/** A norm with its own parameter names, as a variant's CustomNorm has. */
class ScaleNorm implements NormLayer {
  readonly gamma: tf.Variable;
  constructor(channels: number) {
    this.gamma = tf.variable(tf.ones([channels]));
  }
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.mul(x, this.gamma);
  }
}

test('every norm slot of the Wide ResNet goes through the norm factory (a CustomNorm drop-in)', () => {
  const { net, factory, vars } = smallWrn((c) => new ScaleNorm(c));
  try {
    // WRN-16-2: 2 blocks x 2 norms x 3 stages + the final one.
    assert.equal(factory.normLayers.length, 13);
    assert.ok(factory.normLayers.every((l) => l instanceof ScaleNorm));
    assert.deepEqual(vars.get('layer1.0.bn1.gamma')?.shape, [16]);
    assert.deepEqual(vars.get('layer2.1.bn2.gamma')?.shape, [64]);
    assert.deepEqual(vars.get('bn.gamma')?.shape, [128]);
    assert.equal([...vars.keys()].filter((n) => n.includes('running')).length, 0);
    const y = tf.tidy(() => net.forward(tf.ones([1, 32, 32, 3]), true, undefined));
    assert.deepEqual(y.shape, [1, 10]);
    y.dispose();
  } finally {
    for (const v of vars.values()) v.dispose();
  }
});
