/**
 * The step watchdog: its policy, the runner's watch over a worker from its events, and a Python
 * variant that never returns failing its run with the line where it was stuck.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { StepWatchdog, stallMessage } from '../src/engine/step-watchdog';
import { RunWatchdog, variantFrame, type StallReport } from '../src/runs/run-watchdog';
import { writeSyntheticDataset } from '../src/engine/data';
import { RunStore } from '../src/runs/run-store';
import { startRun } from '../src/runs/runner';
import { findPython } from '../src/engine/pytorch/launcher';
import type { RunEvent } from '../src/protocol/events';
import type { RunSpec } from '../src/protocol/benchmarks';

const repo = path.resolve(__dirname, '..', '..');

test('policy: 600 s for the first step, then the larger of 120 s and 50x the median step; a set limit; off', () => {
  const w = new StepWatchdog();
  assert.equal(w.limitSeconds(), 600);
  for (const s of [0.5, 0.6, 0.7]) w.stepDone(s);
  assert.equal(w.limitSeconds(), 120);
  for (const s of [4, 4, 4, 4]) w.stepDone(s);
  assert.equal(w.limitSeconds(), 200);
  const fixed = new StepWatchdog(10);
  assert.equal(fixed.limitSeconds(), 30);
  fixed.stepDone(1);
  assert.equal(fixed.limitSeconds(), 10);
  assert.equal(new StepWatchdog(0).limitSeconds(), Infinity);
  assert.equal(stallMessage(120), 'the variant did not return within 120 s');
});

test('the innermost frame of the variant in a faulthandler dump', () => {
  const dump = [
    'Thread 0x00007f (most recent call first):',
    '  File "/w/variants/my_reg.py", line 7 in compute_regularization',
    '  File "/opt/regbench/dist/pytorch/train.py", line 180 in train_step',
  ];
  assert.deepEqual(variantFrame(dump, '/w/variants/my_reg.py'), { file: '/w/variants/my_reg.py', line: 7, fn: 'compute_regularization' });
  assert.equal(variantFrame(dump.slice(2), '/w/variants/my_reg.py'), undefined);
});

function fakeRunStart(resumedFrom?: { epoch: number; step: number }): RunEvent {
  return {
    type: 'run-start',
    runId: 'r',
    time: '',
    spec: {} as RunSpec,
    env: { engine: 'pytorch', backend: 'torch-cpu', versions: {}, platform: 'linux', cpus: 2, hostname: 'h' },
    stepsPerEpoch: 10,
    trainImages: 1280,
    testImages: 256,
    resumedFrom,
  };
}

test('the runner watch: quiet while steps come, asks PyTorch for its stack when a step is overdue', async () => {
  let now = 0;
  let dumps = 0;
  const reports: StallReport[] = [];
  const lines = ['  File "/w/v.py", line 9 in compute_regularization'];
  const w = new RunWatchdog(
    'pytorch',
    '/w/v.py',
    5,
    {
      requestDump: () => dumps++,
      stderrCount: () => 0,
      stderrSince: () => lines,
      stalled: (r) => reports.push(r),
    },
    () => now,
  );
  w.observe(fakeRunStart());
  assert.equal(w.allowanceSeconds(), 15, 'the first step gets 3x the set limit');
  now = 10_000;
  w.observe({ type: 'progress', runId: 'r', time: '', epoch: 0, step: 2, steps: 10, loss: 1, imagesPerSec: 1 });
  assert.equal(w.allowanceSeconds(), 5);
  now = 14_000;
  await new Promise((r) => setTimeout(r, 1200));
  assert.equal(dumps, 0, 'within the limit');
  now = 16_000;
  await new Promise((r) => setTimeout(r, 1200 + 1600));
  w.stop();
  assert.equal(dumps, 1);
  assert.equal(reports.length, 1);
  assert.match(reports[0].message, /the variant did not return within 5 s; it was at \/w\/v\.py:9 in compute_regularization/);
  assert.equal(reports[0].line, 9);
});

let python: string | undefined;
let dataDir = '';
before(async () => {
  try {
    python = (await findPython({ setting: '/usr/bin/python3' })).python;
  } catch (err) {
    console.log(`# skipping the PyTorch watchdog run: no Python with torch (${(err as Error).message})`);
  }
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-watchdog-data-'));
  await writeSyntheticDataset('cifar10', dataDir, { train: 256, test: 64 });
});

test('a Python variant that never returns fails its run (first step: 3x the set limit), naming its file and line', async (t) => {
  if (!python) return t.skip('no Python with torch (Debian: apt-get install python3-torch)');
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-watchdog-'));
  const variant = path.join(ws, 'loops_forever.py');
  fs.copyFileSync(path.join(repo, 'test', 'fixtures', 'variants', 'loops_forever.py'), variant);
  const store = RunStore.forWorkspace(ws);
  const started = Date.now();
  const handle = await startRun(
    { variantPath: variant, bench: 'resnet20-cifar10', budget: 'smoke', dataDir, stepTimeoutSeconds: 4 },
    { store, python, distDir: path.join(repo, 'dist') },
  );
  const record = await handle.done;
  const seconds = (Date.now() - started) / 1000;
  assert.equal(record.status, 'failed');
  assert.equal(record.error?.kind, 'variant');
  assert.match(record.error?.message ?? '', /the variant did not return within 12 s; it was at .*loops_forever\.py:[78] in compute_regularization/);
  assert.ok(record.error?.line === 7 || record.error?.line === 8, `line ${record.error?.line}`); // the loop: lines 7-8
  assert.ok(seconds < 90, `took ${seconds} s`);
});

test('a TypeScript variant that never returns fails its run, naming its file and the line it loops on', async () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-watchdog-ts-'));
  const variant = path.join(ws, 'loops-forever.ts');
  fs.copyFileSync(path.join(repo, 'test', 'fixtures', 'variants', 'loops-forever.ts'), variant);
  const store = RunStore.forWorkspace(ws);
  const started = Date.now();
  const handle = await startRun(
    { variantPath: variant, bench: 'resnet20-cifar10', budget: 'smoke', dataDir, trainSubset: 256, testSubset: 64, stepTimeoutSeconds: 2 },
    { store, distDir: path.join(repo, 'dist') },
  );
  const record = await handle.done;
  const seconds = (Date.now() - started) / 1000;
  assert.equal(record.status, 'failed');
  assert.equal(record.error?.kind, 'variant');
  assert.match(
    record.error?.message ?? '',
    /loops-forever\.ts:[56]: the variant did not return within 6 s at epoch 1, step 1; it was in computeRegularization at line [56]/,
  );
  assert.ok(record.error?.line === 5 || record.error?.line === 6, `line ${record.error?.line}`);
  assert.ok(seconds < 60, `took ${seconds} s`);
});
