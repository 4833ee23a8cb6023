/**
 * The `regbench` CLI end to end: real worker child processes on small synthetic CIFAR-10 written
 * by `regbench data synth` (read by the real reader), a real FashionMNIST smoke run, and every way
 * a variant can fail. Each failure must exit non-zero with a one-line reason naming the file.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireTool, skipUnless } from './requirements';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'bin', 'regbench.js');
const fixtures = path.join(root, 'test', 'fixtures', 'variants');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-cli-'));
const workspace = path.join(tmp, 'ws');
const data = path.join(tmp, 'c10');
const env = { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'cache'), REGBENCH_OFFLINE: '1', REGBENCH_DATA: '' };

function regbench(args: string[], timeoutMs = 240_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [cli, ...args, '--workspace', workspace], { encoding: 'utf8', env, timeout: timeoutMs });
}

function smoke(variant: string, extra: string[] = []): SpawnSyncReturns<string> {
  return regbench([
    'run',
    variant,
    '--bench',
    'resnet20-cifar10',
    '--budget',
    'smoke',
    '--data-dir',
    data,
    '--train-subset',
    '256',
    '--test-subset',
    '128',
    ...extra,
  ]);
}

function lastEvent(stdout: string): Record<string, unknown> {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

before(() => {
  fs.mkdirSync(workspace, { recursive: true });
  const r = spawnSync(process.execPath, [cli, 'data', 'synth', '--dataset', 'cifar10', '--out', data, '--train', '512', '--test', '256'], {
    encoding: 'utf8',
    env,
  });
  assert.equal(r.status, 0, r.stderr);
});

test('a smoke run on synthetic CIFAR-10 completes and is listed', () => {
  const r = smoke(path.join(root, 'templates/regularizers/blank.ts'), ['--json']);
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { type: string; status?: string });
  // Log lines (where the data came from) may come before run-start; nothing else may.
  assert.deepEqual(
    events
      .filter((e) => e.type !== 'log')
      .slice(0, 2)
      .map((e) => e.type),
    ['hello', 'run-start'],
  );
  assert.ok(events.some((e) => e.type === 'epoch'));
  assert.equal(events[events.length - 1].type, 'run-end');
  assert.equal(events[events.length - 1].status, 'completed');
  const list = regbench(['list']);
  assert.equal(list.status, 0);
  assert.match(list.stdout, /completed .*blank · ResNet-20\/C10 · seed 0/);
  const id = list.stdout.trim().split('\n').pop()!.split(/\s+/)[0];
  const show = regbench(['show', id]);
  assert.match(show.stdout, /epoch +train loss/);
  assert.match(show.stdout, /backend wasm/);
});

const failures: Array<[string, RegExp]> = [
  ['syntax-error.ts', /syntax-error\.ts:4:\d+: Expected "\)" but found ";"/],
  ['throws.ts', /throws\.ts:6: computeRegularization threw at epoch 1, step 2: penalty weights not initialised/],
  ['returns-nan.ts', /returns-nan\.ts: computeRegularization returned NaN/],
  ['returns-vector.ts', /returns-vector\.ts: computeRegularization must return a scalar, got a tensor of shape \[128\]/],
  ['shape-change.ts', /shape-change\.ts: CustomNorm \(norm slot 0, 16 channels\) changed the shape/],
];
for (const [file, message] of failures) {
  test(`a failing variant (${file}) stops the run with a message naming the file`, () => {
    const r = smoke(path.join(fixtures, file));
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const reason = r.stderr.trim().split('\n').pop() ?? '';
    assert.match(reason, /^regbench: run failed: /);
    assert.match(reason, message);
  });
}

test('a loss that explodes ends the run as diverged at once', () => {
  const r = smoke(path.join(fixtures, 'explodes.ts'), ['--json']);
  assert.equal(r.status, 1);
  const end = lastEvent(r.stdout);
  assert.equal(end.status, 'diverged');
  assert.equal(end.epochsCompleted, 0);
  assert.match(r.stderr, /diverged/);
});

test('missing data offline names the file and where to put it', () => {
  const empty = path.join(tmp, 'empty');
  fs.mkdirSync(empty, { recursive: true });
  const r = regbench(['run', path.join(root, 'templates/regularizers/blank.ts'), '--bench', 'resnet56-cifar100', '--budget', 'smoke', '--data-dir', empty]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /cifar-100/);
  assert.match(r.stderr, new RegExp(empty.replace(/[/.]/g, '\\$&')));
});

test('bad usage exits 2 with the reason', () => {
  const r = regbench(['run', path.join(root, 'templates/regularizers/blank.ts'), '--bench', 'resnet57-cifar100']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /unknown benchmark 'resnet57-cifar100'/);
  const missing = regbench(['run', 'nope.ts', '--bench', 'resnet20-cifar10']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.ts: variant file not found/);
});

test('a run whose variant loops forever is cancelled within seconds and marked cancelled', async () => {
  const child = spawn(
    process.execPath,
    [
      cli,
      'run',
      path.join(fixtures, 'loops-forever.ts'),
      '--bench',
      'resnet20-cifar10',
      '--budget',
      'smoke',
      '--data-dir',
      data,
      '--json',
      '--workspace',
      workspace,
    ],
    { env },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('"run-start"')) {
        clearInterval(timer);
        resolve();
      }
    }, 50);
    child.on('exit', () => reject(new Error(`exited before starting: ${out}`)));
  });
  await new Promise((r) => setTimeout(r, 1000));
  const t0 = Date.now();
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(seconds < 5, `cancel took ${seconds} s`);
  assert.equal(code, 1);
  assert.equal(lastEvent(out).status, 'cancelled');
  const runId = lastEvent(out).runId as string;
  const record = JSON.parse(fs.readFileSync(path.join(workspace, '.regbench', 'runs', runId, 'record.json'), 'utf8')) as { status: string };
  assert.equal(record.status, 'cancelled');
  // The worker (its own process group) is gone too: its pid is in the run's hello event.
  const hello = fs
    .readFileSync(path.join(workspace, '.regbench', 'runs', runId, 'events.jsonl'), 'utf8')
    .split('\n')
    .find((l) => l.includes('"hello"'));
  assert.ok(hello, 'the hello event is stored');
  const workerPid = (JSON.parse(hello) as { pid: number }).pid;
  assert.throws(() => process.kill(workerPid, 0), /ESRCH/, 'the worker process is still alive');
});

const hasFmnist = fs.existsSync('/usr/share/datasets/fashion-mnist');
test('the real FashionMNIST smoke run (Debian dataset-fashion-mnist) completes', { skip: skipUnless('fashion-mnist', hasFmnist) }, (ctx) => {
  if (!requireTool(ctx, 'fashion-mnist', hasFmnist)) return;
  const r = regbench(
    ['run', path.join(root, 'templates/regularizers/confidence-penalty.ts'), '--bench', 'mobilenetv2-fmnist', '--budget', 'smoke', '--json'],
    600_000,
  );
  assert.equal(r.status, 0, r.stderr);
  const end = lastEvent(r.stdout);
  assert.equal(end.type, 'run-end');
  assert.equal(end.status, 'completed');
  const start = JSON.parse(r.stdout.split('\n').find((l) => l.includes('"run-start"'))!) as { trainImages: number; testImages: number };
  assert.equal(start.trainImages, 512);
  assert.equal(start.testImages, 256);
});
