/**
 * Checkpoint and resume of the PyTorch engine, through the real worker: a run SIGKILLed in the
 * middle of epoch 2 and resumed, and one stopped by SIGUSR1 in the middle of epoch 2 and resumed,
 * end with the same weights (weightsSha256), best and final accuracy, bit for bit, as the run that
 * was never interrupted (same seed, one torch thread). A changed checkpoint and one of another
 * variant are refused with a one-line error naming the checkpoint file.
 * Needs a Python with torch (Debian: /usr/bin/python3 from python3-torch) and a built dist/
 * (dist/cli.js makes the synthetic CIFAR-10, whose run subsets the TypeScript data layer prepares
 * as tensor files, as the runner does); without torch these tests are skipped.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireTool } from './requirements';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RECIPE, type RunSpec, type TensorFiles } from '../src/protocol/benchmarks';
import {
  parseEventLine,
  validateEvent,
  type CheckpointEvent,
  type ErrorEvent,
  type RunEndEvent,
  type RunEvent,
  type RunStartEvent,
} from '../src/protocol/events';
import { prepareTensorFiles } from '../src/engine/data/tensor-files';
import { findPython, workerScriptPath } from '../src/engine/pytorch/launcher';

const root = path.resolve(__dirname, '..', '..');
const dist = path.join(root, 'dist');
const worker = fs.existsSync(workerScriptPath(dist)) ? workerScriptPath(dist) : path.join(root, 'src/engine/pytorch/worker.py');

// Prints a marker on every step (in the worker's stderr, for a failure's message) and draws from torch's and Python's global generators (so their
// states must survive a resume too). With REGBENCH_TEST_SIGNAL_AT=<epoch>:<step>:<signal> (0-based)
// the worker sends itself that signal during that step, so a stop lands at the same step however
// loaded the machine is (a signal sent by the test on seeing a marker could land steps later).
const VARIANT = `import os
import random
import signal
import sys

import torch


def compute_regularization(model, inputs, outputs, targets, config):
    print(f"regbench-step {config['epoch']} {config['step']}", file=sys.stderr, flush=True)
    at = os.environ.get("REGBENCH_TEST_SIGNAL_AT", "").split(":")
    if len(at) == 3 and (int(at[0]), int(at[1])) == (config["epoch"], config["step"]):
        os.kill(os.getpid(), getattr(signal, at[2]))
    noise = torch.rand(()) * random.random()
    return 0.01 * noise * outputs.pow(2).mean()
`;

let python: string | undefined;
let noPython = '';
let tmp = '';
let dataDir = '';
let tensors: TensorFiles;
let variantPath = '';

before(async () => {
  try {
    python = (await findPython({ setting: '/usr/bin/python3' })).python;
  } catch (err) {
    noPython = (err as Error).message;
    return;
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-resume-'));
  dataDir = path.join(tmp, 'data');
  const synth = spawnSync(
    process.execPath,
    [path.join(dist, 'cli.js'), 'data', 'synth', '--dataset', 'cifar10', '--out', dataDir, '--train', '256', '--test', '64'],
    { encoding: 'utf8' },
  );
  assert.equal(synth.status, 0, synth.stderr);
  // The worker reads the run's images as the runner prepares them (spec.tensors), not dataDir.
  tensors = await prepareTensorFiles(
    { dataset: 'cifar10', dataDir, trainSubset: 192, testSubset: 64 },
    { allowDownload: false, cacheDir: path.join(tmp, 'cache', 'datasets'), systemDir: null },
  );
  assert.deepEqual([tensors.train.n, tensors.test.n], [192, 64]);
  variantPath = path.join(tmp, 'noisy_penalty.py');
  fs.writeFileSync(variantPath, VARIANT);
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** ResNet-20, 3 epochs of 6 steps (192 images, batch 32), 64 test images. */
function spec(runDir: string, extra: Partial<RunSpec> = {}): RunSpec {
  fs.mkdirSync(runDir, { recursive: true });
  return {
    runId: `resume-${path.basename(runDir)}`,
    bench: 'resnet20-cifar10',
    arch: 'resnet20',
    dataset: 'cifar10',
    numClasses: 10,
    budget: 'smoke',
    epochs: 3,
    trainSubset: 192,
    testSubset: 64,
    seed: 7,
    recipe: { ...RECIPE, batchSize: 32 },
    engine: 'pytorch',
    device: 'cpu',
    dataDir,
    tensors,
    variantPath,
    variantHash: 'aaaaaaaaaaaaaaaa',
    variantKind: { regularizer: true, norm: false },
    runDir,
    ...extra,
  };
}

interface Result {
  events: RunEvent[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  seconds: number;
}

/** Runs the worker with `env` added to the test's environment. */
function runWorker(s: RunSpec, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(python!, ['-u', worker], {
      cwd: tmp,
      // One torch thread: the same thread count in every segment is what bitwise identity needs.
      env: { ...process.env, REGBENCH_THREADS: '1', OMP_WAIT_POLICY: 'PASSIVE', XDG_CACHE_HOME: path.join(tmp, 'empty-cache'), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const events: RunEvent[] = [];
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        const problem = validateEvent(JSON.parse(line) as Record<string, unknown>);
        if (problem) {
          child.kill('SIGKILL');
          reject(new Error(`invalid event ${line}: ${problem}`));
          return;
        }
        const event = parseEventLine(line);
        if (event) events.push(event);
      }
    });
    child.stderr.on('data', (chunk: string) => {
      err += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ events, code, signal, stderr: err, seconds: (Date.now() - started) / 1000 }));
    child.stdin.end(JSON.stringify(s) + '\n');
  });
}

const ofType = <T extends RunEvent['type']>(r: Result, type: T) => r.events.filter((e): e is Extract<RunEvent, { type: T }> => e.type === type);
const runEnd = (r: Result) => {
  const end = r.events[r.events.length - 1];
  assert.equal(end?.type, 'run-end', `last event is not run-end:\n${r.stderr.slice(-3000)}`);
  return end as RunEndEvent;
};
const lastCheckpoint = (r: Result) => ofType(r, 'checkpoint').at(-1) as CheckpointEvent;
const readMeta = (runDir: string) => JSON.parse(fs.readFileSync(path.join(runDir, 'checkpoint', 'last.json'), 'utf8')) as Record<string, unknown>;

function assertSameEnd(resumed: Result, full: Result, label: string): void {
  const a = runEnd(resumed);
  const b = runEnd(full);
  assert.equal(a.status, 'completed', `${label}: ${a.reason ?? ''}\n${resumed.stderr.slice(-3000)}`);
  assert.equal(lastCheckpoint(resumed).weightsSha256, lastCheckpoint(full).weightsSha256, `${label}: final weights differ`);
  assert.equal(a.bestTestAcc, b.bestTestAcc, `${label}: best accuracy`);
  assert.equal(a.finalTestAcc, b.finalTestAcc, `${label}: final accuracy`);
  assert.equal(a.epochsCompleted, 3);
  // The epochs the resumed segment reports are the uninterrupted run's, number for number.
  const numbers = (e: RunEvent) =>
    e.type === 'epoch' ? [e.epoch, e.trainLoss, e.trainCe, e.regTerm, e.trainAcc, e.testLoss, e.testAcc, e.lr, e.bestTestAcc] : [];
  const got = ofType(resumed, 'epoch').map(numbers);
  assert.deepEqual(got, ofType(full, 'epoch').map(numbers).slice(-got.length), `${label}: epoch events`);
}

let full: Result | undefined;
let fullDir = '';

test('interrupted runs resume bit for bit: SIGKILL and SIGUSR1 in the middle of epoch 2', async (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  fullDir = path.join(tmp, 'full');
  const killedDir = path.join(tmp, 'killed');
  const usr1Dir = path.join(tmp, 'usr1');
  const [fullRun, killed, stopped] = await Promise.all([
    runWorker(spec(fullDir)),
    runWorker(spec(killedDir), { REGBENCH_TEST_SIGNAL_AT: '1:3:SIGKILL' }),
    runWorker(spec(usr1Dir), { REGBENCH_TEST_SIGNAL_AT: '1:2:SIGUSR1' }),
  ]);
  full = fullRun;
  t.diagnostic(
    `uninterrupted run ${fullRun.seconds.toFixed(1)} s; SIGKILLed after ${killed.seconds.toFixed(1)} s; SIGUSR1 run ${stopped.seconds.toFixed(1)} s`,
  );
  assert.equal(runEnd(fullRun).status, 'completed', fullRun.stderr.slice(-3000));
  assert.equal(fullRun.code, 0);
  assert.deepEqual(
    ofType(fullRun, 'checkpoint').map((e) => [e.epoch, e.step]),
    [
      [1, 0],
      [2, 0],
      [3, 0],
    ],
  );
  assert.equal(readMeta(fullDir).weightsSha256, lastCheckpoint(fullRun).weightsSha256);
  assert.deepEqual(fs.readdirSync(path.join(fullDir, 'checkpoint')).sort(), ['ckpt-e3-s0.pt', 'last.json']);

  // SIGKILL: no run-end; the checkpoint on disk is the one of epoch 1's end.
  assert.equal(killed.signal, 'SIGKILL');
  assert.notEqual(killed.events.at(-1)?.type, 'run-end');
  assert.deepEqual([readMeta(killedDir).epoch, readMeta(killedDir).step], [1, 0]);
  const killedResumed = await runWorker(spec(killedDir, { resume: true }));
  const killedStart = ofType(killedResumed, 'run-start')[0] as RunStartEvent;
  assert.deepEqual(killedStart.resumedFrom, { epoch: 1, step: 0 });
  assertSameEnd(killedResumed, fullRun, 'SIGKILL');

  // SIGUSR1: a checkpoint at the next step boundary, run-end interrupted, exit 0.
  const end = runEnd(stopped);
  assert.equal(end.status, 'interrupted', stopped.stderr.slice(-3000));
  assert.equal(stopped.code, 0);
  const mark = lastCheckpoint(stopped);
  assert.equal(mark.epoch, 1);
  assert.ok(mark.step >= 3 && mark.step < 6, `checkpoint at step ${mark.step}`);
  assert.equal(end.reason, `stopped by SIGUSR1 at epoch 2, step ${mark.step}; checkpoint written`);
  assert.equal(end.epochsCompleted, 1);
  assert.deepEqual(fs.readdirSync(path.join(usr1Dir, 'checkpoint')).sort(), [`ckpt-e1-s${mark.step}.pt`, 'last.json']);
  const usr1Resumed = await runWorker(spec(usr1Dir, { resume: true }));
  assert.deepEqual((ofType(usr1Resumed, 'run-start')[0] as RunStartEvent).resumedFrom, { epoch: 1, step: mark.step });
  assertSameEnd(usr1Resumed, fullRun, 'SIGUSR1');
  t.diagnostic(
    `resumed runs: ${killedResumed.seconds.toFixed(1)} s and ${usr1Resumed.seconds.toFixed(1)} s; checkpoint writes ${ofType(fullRun, 'checkpoint')
      .map((e) => e.seconds.toFixed(3))
      .join(', ')} s`,
  );
});

function copyCheckpoint(name: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(path.join(fullDir, 'checkpoint'), path.join(dir, 'checkpoint'), { recursive: true });
  return dir;
}

async function refused(s: RunSpec): Promise<ErrorEvent> {
  const r = await runWorker(s);
  const end = runEnd(r);
  assert.equal(end.status, 'failed');
  assert.equal(r.code, 1);
  assert.equal(ofType(r, 'run-start').length, 0, 'a refused checkpoint must not start training');
  const err = ofType(r, 'error')[0] as ErrorEvent;
  assert.ok(err, JSON.stringify(r.events));
  assert.equal(err.kind, 'usage');
  assert.ok(!err.message.includes('\n'));
  return err;
}

test('a changed checkpoint and one of another variant are refused, naming the file, what differs and what to do', async (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  assert.ok(full, 'needs the uninterrupted run of the test before');
  const tampered = copyCheckpoint('tampered');
  const file = path.join(tampered, 'checkpoint', 'ckpt-e3-s0.pt');
  const bytes = fs.readFileSync(file);
  bytes[bytes.length >> 1] ^= 0x01;
  fs.writeFileSync(file, bytes);
  const foreign = copyCheckpoint('foreign');
  const [a, b] = await Promise.all([refused(spec(tampered, { resume: true })), refused(spec(foreign, { resume: true, variantHash: 'bbbbbbbbbbbbbbbb' }))]);
  assert.equal(a.file, file);
  assert.match(
    a.message,
    new RegExp(`^checkpoint ${file} is torn or was changed: .*; delete ${path.join(tampered, 'checkpoint')} to start the run over from epoch 0$`),
  );
  const foreignFile = path.join(foreign, 'checkpoint', 'ckpt-e3-s0.pt');
  assert.equal(b.file, foreignFile);
  assert.ok(
    b.message.startsWith(`checkpoint ${foreignFile} is from another run (variantHash is "aaaaaaaaaaaaaaaa" there but "bbbbbbbbbbbbbbbb" here)`),
    b.message,
  );
  assert.match(b.message, /resume it with the same .* variant.*or delete .* to start this run over from epoch 0$/);
});
