/**
 * Checkpoints and resume in the TensorFlow.js worker (dist/worker.js, driven directly with a spec
 * on stdin): a run killed with SIGKILL mid-epoch, or stopped with SIGUSR1 (a checkpoint in the
 * middle of an epoch), and resumed ends with the same final weights (sha256), the same best and
 * final accuracy and the same epoch figures, bit for bit, as the run never interrupted. A torn
 * checkpoint and one from another variant are refused with one clear line.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';
import { checkpointDir, loadCheckpoint, weightsSha256, writeCheckpoint, type CheckpointOwner } from '../src/engine/tfjs/checkpoint';
import { buildModel } from '../src/engine/tfjs/models';
import { checkedNormFactory, trainStep } from '../src/engine/tfjs/train';
import { loadVariant } from '../src/engine/tfjs/variant-loader';
import { RECIPE, type RunSpec } from '../src/protocol/benchmarks';
import type { CheckpointEvent, EpochEvent, ErrorEvent, RunEndEvent, RunEvent, RunStartEvent } from '../src/protocol/events';

const root = path.resolve(__dirname, '..', '..');
const worker = path.join(root, 'dist', 'worker.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-resume-'));
const data = path.join(tmp, 'data');

before(() => {
  const r = spawnSync(
    process.execPath,
    [path.join(root, 'dist', 'cli.js'), 'data', 'synth', '--dataset', 'cifar10', '--out', data, '--train', '128', '--test', '64'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
});

after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The backend under test: wasm; REGBENCH_RESUME_BACKEND=torch runs the same checks on the torch backend. */
const RESUME_BACKEND = (process.env.REGBENCH_RESUME_BACKEND ?? 'wasm') as RunSpec['backend'];

/** ResNet-20, 3 epochs x 6 steps of 8 images, 16 test images. */
function spec(runDir: string, extra: Partial<RunSpec> = {}): RunSpec {
  return {
    runId: 'resume-test',
    bench: 'resnet20-cifar10',
    arch: 'resnet20',
    dataset: 'cifar10',
    numClasses: 10,
    budget: 'smoke',
    epochs: 3,
    trainSubset: 48,
    testSubset: 16,
    seed: 3,
    recipe: { ...RECIPE, batchSize: 8 },
    engine: 'tfjs',
    backend: RESUME_BACKEND,
    dataDir: data,
    variantPath: path.join(tmp, 'none.ts'),
    variantHash: 'baseline0000',
    variantKind: { regularizer: false, norm: false },
    runDir,
    ...extra,
  };
}

interface WorkerRun {
  events: RunEvent[];
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs the worker; `watch` sees every event with the child (to signal it). */
function runWorker(s: RunSpec, watch?: (e: RunEvent, child: ChildProcess) => void, env: NodeJS.ProcessEnv = {}): Promise<WorkerRun> {
  fs.mkdirSync(s.runDir, { recursive: true });
  const child = spawn('nice', ['-n', '5', process.execPath, worker], {
    env: { ...process.env, REGBENCH_OFFLINE: '1', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  child.stdin.end(JSON.stringify(s) + '\n');
  const events: RunEvent[] = [];
  let tail = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    const lines = (tail + chunk).split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines.filter((l) => l.trim())) {
      const e = JSON.parse(line) as RunEvent;
      events.push(e);
      watch?.(e, child);
    }
  });
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ events, code, signal })));
}

const ofType = <T extends RunEvent['type']>(r: WorkerRun, type: T) => r.events.filter((e) => e.type === type) as Array<Extract<RunEvent, { type: T }>>;
const lastCheckpoint = (r: WorkerRun): CheckpointEvent => ofType(r, 'checkpoint').at(-1)!;
const runEnd = (r: WorkerRun): RunEndEvent => ofType(r, 'run-end')[0];
/** The figures of an epoch event that must not depend on interruptions (not its timings). */
const figures = (e: EpochEvent) => [e.epoch, e.trainLoss, e.trainCe, e.trainAcc, e.testLoss, e.testAcc, e.lr, e.bestTestAcc];

let baseline: Promise<WorkerRun> | undefined;
function uninterrupted(): Promise<WorkerRun> {
  baseline ??= runWorker(spec(path.join(tmp, 'baseline')));
  return baseline;
}

function assertSameEnd(resumed: WorkerRun, base: WorkerRun): void {
  assert.equal(runEnd(resumed).status, 'completed', JSON.stringify(runEnd(resumed)));
  assert.equal(lastCheckpoint(resumed).weightsSha256, lastCheckpoint(base).weightsSha256, 'final weights differ from the uninterrupted run');
  assert.equal(runEnd(resumed).bestTestAcc, runEnd(base).bestTestAcc);
  assert.equal(runEnd(resumed).finalTestAcc, runEnd(base).finalTestAcc);
  assert.equal(runEnd(resumed).epochsCompleted, 3);
  const baseEpochs = ofType(base, 'epoch');
  for (const e of ofType(resumed, 'epoch')) assert.deepEqual(figures(e), figures(baseEpochs[e.epoch]), `epoch ${e.epoch} figures differ`);
}

test('uninterrupted: a checkpoint after every epoch, only the last one kept', async () => {
  const base = await uninterrupted();
  assert.equal(runEnd(base).status, 'completed', JSON.stringify(base.events.filter((e) => e.type === 'error')));
  assert.deepEqual(
    ofType(base, 'checkpoint').map((c) => [c.epoch, c.step]),
    [
      [1, 0],
      [2, 0],
      [3, 0],
    ],
  );
  const dir = path.join(tmp, 'baseline', 'checkpoint');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['ckpt-e3-s0.bin', 'last.json']);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'last.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(meta.weightsSha256, lastCheckpoint(base).weightsSha256);
  assert.equal(meta.engine, 'tfjs');
});

test('SIGKILL mid-epoch 2, resume: identical final weights, best and final accuracy', async () => {
  const runDir = path.join(tmp, 'killed');
  const killed = await runWorker(spec(runDir), (e, child) => {
    if (e.type === 'progress' && e.epoch === 1 && e.step >= 2) child.kill('SIGKILL');
  });
  assert.equal(killed.signal, 'SIGKILL');
  assert.equal(ofType(killed, 'run-end').length, 0);
  const resumed = await runWorker(spec(runDir, { resume: true }));
  const start = ofType(resumed, 'run-start')[0] as RunStartEvent;
  assert.deepEqual(start.resumedFrom, { epoch: 1, step: 0 });
  assert.deepEqual(
    ofType(resumed, 'epoch').map((e) => e.epoch),
    [1, 2],
  );
  assertSameEnd(resumed, await uninterrupted());
});

test('SIGUSR1 mid-epoch: checkpoint at the step boundary, run-end interrupted, resume identical', async () => {
  // Steps of ~100 ms (a slow variant); the worker signals itself during epoch 2's third step
  // (REGBENCH_TEST_SIGNAL_AT, 0-based), so the stop lands mid-epoch whatever the machine's load.
  // The reference is the same spec never interrupted.
  const slow = (runDir: string, extra: Partial<RunSpec> = {}) =>
    spec(runDir, {
      variantPath: path.join(root, 'test', 'fixtures', 'variants', 'slow-steps.ts'),
      variantHash: 'slowsteps000',
      variantKind: { regularizer: true, norm: false },
      ...extra,
    });
  const reference = await runWorker(slow(path.join(tmp, 'usr1-reference')));
  const runDir = path.join(tmp, 'usr1');
  const stopped = await runWorker(slow(runDir), undefined, { REGBENCH_TEST_SIGNAL_AT: '1:2' });
  assert.equal(stopped.code, 0);
  const end = runEnd(stopped);
  assert.equal(end.status, 'interrupted');
  assert.match(end.reason ?? '', /^stopped by SIGUSR1 at epoch 2, step [1-5]; checkpoint written$/);
  const mid = lastCheckpoint(stopped);
  assert.equal(mid.epoch, 1);
  assert.ok(mid.step >= 1 && mid.step < 6, `checkpoint at step ${mid.step}`);
  const resumed = await runWorker(slow(runDir, { resume: true }));
  assert.deepEqual((ofType(resumed, 'run-start')[0] as RunStartEvent).resumedFrom, { epoch: 1, step: mid.step });
  assert.ok(
    ofType(resumed, 'progress').every((e) => e.epoch > 1 || e.step > mid.step),
    'the resumed epoch does not repeat steps',
  );
  assertSameEnd(resumed, reference);
});

function copyRun(name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(path.join(tmp, 'baseline'), dir, { recursive: true });
  return dir;
}

async function refusal(s: RunSpec): Promise<ErrorEvent> {
  const r = await runWorker(s);
  assert.equal(r.code, 1);
  assert.equal(runEnd(r).status, 'failed');
  assert.equal(ofType(r, 'run-start').length, 0);
  return ofType(r, 'error')[0];
}

test('a torn checkpoint and one from another variant are refused with one clear line', async () => {
  await uninterrupted();
  const torn = copyRun('torn');
  const file = path.join(torn, 'checkpoint', 'ckpt-e3-s0.bin');
  const bytes = fs.readFileSync(file);
  bytes[bytes.length - 5] ^= 0xff;
  fs.writeFileSync(file, bytes);
  const e1 = await refusal(spec(torn, { resume: true }));
  assert.equal(e1.kind, 'usage');
  assert.equal(e1.file, file);
  assert.match(e1.message, /^refusing checkpoint .*ckpt-e3-s0\.bin: it is torn or altered .*; delete .*checkpoint to start this run from epoch 0/);
  assert.ok(!e1.message.includes('\n'));

  const other = copyRun('other-variant');
  const e2 = await refusal(spec(other, { resume: true, variantHash: 'ffffffffffffffff' }));
  assert.equal(e2.kind, 'usage');
  assert.match(e2.message, /^refusing checkpoint .*last\.json: it belongs to another run \(variantHash: checkpoint baseline0000, this run ffffffffffffffff\)/);

  const e3 = await refusal(spec(copyRun('other-backend'), { resume: true, backend: 'cpu' }));
  assert.match(
    e3.message,
    /it belongs to another run \(engineVersions: .*; backend: checkpoint wasm, this run cpu\); resume with --backend wasm \(tfjs-backend-wasm 4\.22\.0, tfjs-core 4\.22\.0\), or delete /,
  );
});

test('the dropout stream is part of the saved state: a model given randomState() draws the same masks', async () => {
  await initBackend('wasm');
  const x = tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 7) as tf.Tensor4D;
  const logits = (m: ReturnType<typeof buildModel>) => tf.tidy(() => Array.from(m.forward(x, true).dataSync()));
  const a = buildModel('mobilenetv2', 10, { seed: 2 });
  const first = logits(a);
  const state = a.randomState!();
  const second = logits(a);
  const b = buildModel('mobilenetv2', 10, { seed: 2 });
  b.setRandomState!(JSON.parse(JSON.stringify(state)) as number[][]);
  assert.deepEqual(logits(b), second, 'restored stream, same dropout mask');
  assert.notDeepEqual(second, first, 'consecutive steps draw different masks (the test can tell)');
  [a, b].forEach((m) => m.dispose());
  x.dispose();
});

test('SIGTERM before training starts: run-end interrupted at once, no checkpoint, exit 0', async () => {
  const runDir = path.join(tmp, 'early-term');
  const r = await runWorker(spec(runDir), (e, child) => {
    if (e.type === 'hello') child.kill('SIGTERM');
  });
  assert.equal(r.code, 0);
  assert.equal(runEnd(r).status, 'interrupted');
  assert.match(runEnd(r).reason ?? '', /^stopped by SIGTERM before training started; no checkpoint written$/);
  assert.ok(!fs.existsSync(path.join(runDir, 'checkpoint', 'last.json')));
});

test("a CustomNorm's parameters and running buffers, and the momenta, go through a checkpoint and back", async () => {
  const backend = await initBackend('wasm');
  const norm = await loadVariant(path.join(root, 'templates/norms/switchable-norm.ts'));
  const factory = () => checkedNormFactory({ ...norm, CustomNorm: norm.CustomNorm! });
  const a = buildModel('resnet20', 10, { seed: 1, normFactory: factory() });
  const params = a.trainableVariables();
  const momenta = params.map((p) => tf.variable(tf.zerosLike(p), false));
  const images = new Float32Array(4 * 3072).map((_, i) => Math.sin(i));
  const config = { numClasses: 10, epoch: 0, totalEpochs: 1, step: 0, stepsPerEpoch: 1 };
  trainStep({
    model: a,
    params,
    momenta,
    batch: { images, labels: Int32Array.from([0, 1, 2, 3]), size: 4 },
    lr: 0.1,
    momentum: 0.9,
    weightDecay: 5e-4,
    numClasses: 10,
    variant: norm,
    config,
  });
  const buffers = a
    .namedVariables()
    .filter((v) => !v.trainable)
    .map((v) => v.name);
  assert.ok(
    buffers.some((n) => /running_mean/.test(n)),
    `the CustomNorm's buffers are named: ${buffers.slice(0, 3).join(', ')}`,
  );
  const owner: CheckpointOwner = {
    spec: spec(path.join(tmp, 'custom-norm'), { variantKind: { regularizer: false, norm: true } }),
    engineVersions: backend.versions,
    backend: backend.backend,
    threads: backend.threads,
  };
  const state = { epoch: 0, step: 1, globalStep: 1, sums: { loss: 2.5, ce: 2.5, term: 0, correct: 1, seen: 4 }, best: null, final: null };
  const written = writeCheckpoint(owner, a, { state, momenta });
  assert.equal(written.meta.weightsSha256, weightsSha256(a));
  const b = buildModel('resnet20', 10, { seed: 2, normFactory: factory() });
  assert.notEqual(weightsSha256(b), weightsSha256(a));
  const loaded = loadCheckpoint(owner, b)!;
  assert.equal(weightsSha256(b), weightsSha256(a));
  assert.deepEqual(loaded.state, state);
  assert.deepEqual(
    loaded.momenta.map((m) => Array.from(m)),
    momenta.map((m) => Array.from(m.dataSync())),
  );
  assert.ok(fs.existsSync(path.join(checkpointDir(owner.spec.runDir), 'ckpt-e0-s1.bin')));
  [a, b].forEach((m) => m.dispose());
  tf.dispose(momenta);
});
