/**
 * Held-out benchmarks, run groups and the `final` / `run --seeds` commands
 * (src/analysis/held-out.ts, src/analysis/run-groups.ts, src/cli/final-command.ts, src/cli/run-command.ts).
 * The CLI cases never train: they stop at a refusal, or at missing data (offline, empty folders).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchId, BudgetId, EngineId } from '../src/protocol/benchmarks';
import type { RunStatus } from '../src/protocol/events';
import type { RunRecord } from '../src/runs/run-record';
import { RECORD_FILE, RunStore } from '../src/runs/run-store';
import { variantHash } from '../src/runs/run-request';
import { finalHashes, heldOutKinds, priorFinals, visibleGroups, visibleRecords } from '../src/analysis/held-out';
import { baselineGroupFor, baselineHashes, groupRuns, mismatch } from '../src/analysis/run-groups';
import { parseSeeds } from '../src/cli/run-series';
import { fixtureRecord } from './fixtures/run-records';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'bin', 'regbench.js');
let clock = 0;

export interface Over {
  bench?: BenchId;
  seed?: number;
  status?: RunStatus;
  best?: number | null;
  budget?: BudgetId;
  hash?: string;
  path?: string;
  engine?: EngineId;
  epochs?: number;
  norm?: boolean;
  final?: boolean;
}

function run(o: Over = {}): RunRecord {
  clock++;
  const bench = o.bench ?? 'resnet56-cifar100';
  const id = `20261201-10${String(clock).padStart(4, '0')}-${bench}-0000`;
  const status = o.status ?? 'completed';
  const at = new Date(Date.UTC(2026, 11, 1, 10, clock)).toISOString();
  return fixtureRecord(
    id,
    at,
    {
      bench,
      budget: o.budget ?? 'quick',
      epochs: o.epochs ?? 5,
      trainSubset: 10000,
      testSubset: 2000,
      seed: o.seed ?? 0,
      engine: o.engine ?? 'tfjs',
      variantPath: o.path ?? '/ws/variants/cp.ts',
      variantHash: o.hash ?? 'h1',
      variantKind: { regularizer: !o.norm, norm: o.norm === true },
    },
    {
      status,
      startedAt: status === 'queued' ? undefined : at,
      epochsCompleted: status === 'queued' ? 0 : 5,
      totalEpochs: 5,
      bestTestAcc: o.best === undefined ? 70 : o.best,
      finalTestAcc: o.best === undefined ? 70 : o.best,
      epochSeconds: 1,
      final: o.final,
    },
  );
}

test('held-out benchmarks per task kind', () => {
  assert.deepEqual(heldOutKinds('mobilenetv2-fmnist', { regularizer: true, norm: false }), ['regularizer']);
  assert.deepEqual(heldOutKinds('mobilenetv2-fmnist', { regularizer: false, norm: true }), []);
  assert.deepEqual(heldOutKinds('resnet110-cifar100', { regularizer: false, norm: true }), ['norm']);
  assert.deepEqual(heldOutKinds('resnet56-cifar100', { regularizer: true, norm: true }), []);
});

test('a held-out number is hidden until a final evaluation of that exact source exists', () => {
  const open = run({ bench: 'resnet56-cifar100', hash: 'h1' });
  const hidden = run({ bench: 'mobilenetv2-fmnist', hash: 'h1' });
  const otherHash = run({ bench: 'mobilenetv2-fmnist', hash: 'h2', final: true });
  const normOnFmnist = run({ bench: 'mobilenetv2-fmnist', hash: 'n1', norm: true });
  assert.deepEqual(
    visibleRecords([open, hidden, otherHash, normOnFmnist]).map((r) => r.id),
    [open.id, otherHash.id, normOnFmnist.id],
  );
  // A final run that never started reveals nothing; one that started (or ended) does.
  const queuedFinal = run({ bench: 'mobilenetv2-fmnist', hash: 'h1', final: true, status: 'queued' });
  assert.ok(!finalHashes([hidden, queuedFinal]).has('h1'));
  assert.deepEqual(
    visibleRecords([hidden, queuedFinal]).map((r) => r.id),
    [queuedFinal.id],
  );
  const final = run({ bench: 'mobilenetv2-fmnist', hash: 'h1', final: true, best: 93 });
  assert.deepEqual(
    visibleRecords([hidden, final]).map((r) => r.id),
    [hidden.id, final.id],
  );
  const groups = groupRuns([open, hidden]);
  assert.deepEqual(
    visibleGroups(groups, [open, hidden]).map((g) => g.bench),
    ['resnet56-cifar100'],
  );
});

test('final evaluations all count in a group; other runs count once per seed (the latest)', () => {
  const runs = [run({ seed: 0, best: 70 }), run({ seed: 0, best: 71 }), run({ seed: 1, best: 72 })];
  assert.deepEqual(groupRuns(runs)[0].values, [71, 72]);
  const finals = [run({ bench: 'mobilenetv2-fmnist', final: true, best: 90 }), run({ bench: 'mobilenetv2-fmnist', final: true, best: 91 })];
  assert.deepEqual(groupRuns(finals)[0].values, [90, 91]);
  assert.equal(priorFinals(finals, 'h1', 'mobilenetv2-fmnist', 'quick').length, 2);
  assert.equal(priorFinals(finals, 'h1', 'mobilenetv2-fmnist', 'full').length, 0);
  assert.equal(
    priorFinals(
      [run({ bench: 'mobilenetv2-fmnist', final: true, status: 'failed', best: null })].map((r) => ({ ...r, epochsCompleted: 0 })),
      'h1',
      'mobilenetv2-fmnist',
      'quick',
    ).length,
    0,
  );
});

test('groups of different budgets, engines or recipes are never compared, and the reason is given', () => {
  const [a, b, c, d, e] = groupRuns([
    run(),
    run({ hash: 'h2', budget: 'full' }),
    run({ hash: 'h3', engine: 'pytorch' }),
    run({ hash: 'h4', epochs: 3 }),
    run({ hash: 'h5', bench: 'vgg16bn-cifar100' }),
  ]);
  assert.match(mismatch(a, b) ?? '', /different budgets \(quick vs full\)/);
  assert.match(mismatch(a, c) ?? '', /different engines \(tfjs vs pytorch\)/);
  assert.match(mismatch(a, d) ?? '', /different recipes \(epochs 5 vs 3\)/);
  assert.match(mismatch(a, e) ?? '', /different benchmarks/);
  assert.equal(mismatch(a, groupRuns([run({ hash: 'h9' })])[0]), null);
});

test('the baseline is recognised by the hash of the blank / BatchNorm template', () => {
  const templates = path.join(root, 'templates');
  const baselines = baselineHashes(templates);
  const blankTs = variantHash(fs.readFileSync(path.join(templates, 'regularizers/blank.ts'), 'utf8'));
  const bnPy = variantHash(fs.readFileSync(path.join(templates, 'norms/batchnorm.py'), 'utf8'));
  assert.equal(baselines.get(blankTs)?.kind, 'regularizer');
  assert.equal(baselines.get(bnPy)?.kind, 'norm');
  assert.equal(baselines.get(bnPy)?.engine, 'pytorch');
  const groups = groupRuns([run({ hash: blankTs, path: '/ws/variants/my-blank.ts' }), run({ hash: 'h1' }), run({ hash: blankTs, budget: 'full' })]);
  assert.equal(baselineGroupFor(groups[1], groups, baselines)?.key, groups[0].key);
  assert.equal(baselineGroupFor(groups[0], groups, baselines), undefined);
});

test('--seeds: lists and ranges; --seed stays', () => {
  assert.deepEqual(parseSeeds('0,1,2', undefined), [0, 1, 2]);
  assert.deepEqual(parseSeeds('0-2,7', undefined), [0, 1, 2, 7]);
  assert.deepEqual(parseSeeds(undefined, '4'), [4]);
  assert.deepEqual(parseSeeds(undefined, undefined), [0]);
  assert.throws(() => parseSeeds('1,1', undefined), /twice/);
  assert.throws(() => parseSeeds('a', undefined), /--seeds/);
  assert.throws(() => parseSeeds('0', '1'), /not both/);
});

function cliWorkspace(): { ws: string; env: NodeJS.ProcessEnv; regbench: (args: string[]) => SpawnSyncReturns<string> } {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-final-'));
  const ws = path.join(tmp, 'ws');
  fs.mkdirSync(path.join(ws, 'variants'), { recursive: true });
  fs.mkdirSync(path.join(tmp, 'empty'));
  const env = { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'cache'), REGBENCH_OFFLINE: '1', REGBENCH_DATA: '' };
  const regbench = (args: string[]) =>
    spawnSync(process.execPath, [cli, ...args, '--workspace', ws, '--data-dir', path.join(tmp, 'empty')], {
      encoding: 'utf8',
      env,
      cwd: ws,
      timeout: 120_000,
    }) as SpawnSyncReturns<string>;
  return { ws, env, regbench };
}

/** Writes a record straight into the workspace's store (as another process would have). */
function plant(ws: string, r: RunRecord): void {
  const dir = path.join(ws, '.regbench', 'runs', r.id);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, RECORD_FILE), JSON.stringify(r));
  fs.writeFileSync(path.join(dir, 'events.jsonl'), '');
}

test('regbench final: recorded as final; a second one needs --yes; running runs of the source are reported', () => {
  const { ws, regbench } = cliWorkspace();
  const variant = path.join(ws, 'variants', 'my-norm.ts');
  fs.copyFileSync(path.join(root, 'templates/norms/groupnorm.ts'), variant);
  const hash = variantHash(fs.readFileSync(variant, 'utf8'));
  const first = regbench(['final', variant, '--budget', 'smoke']);
  // No CIFAR-100 offline: the run fails, but it exists, is final, and the CLI said so first.
  assert.equal(first.status, 1, first.stderr);
  assert.match(first.stderr, /ResNet-110\/CIFAR-100 is the held-out benchmark for normalization layers: this run is recorded as a final evaluation of my-norm/);
  const runs = new RunStore(path.join(ws, '.regbench')).list();
  assert.equal(runs.length, 1);
  assert.equal(runs[0].final, true);
  assert.equal(runs[0].spec.bench, 'resnet110-cifar100');
  plant(ws, {
    ...run({ bench: 'resnet110-cifar100', hash, norm: true, final: true, budget: 'smoke', best: 41 }),
    spec: { ...runs[0].spec, runId: 'planted-final' },
    id: 'planted-final',
  });
  const second = regbench(['final', variant, '--budget', 'smoke']);
  assert.equal(second.status, 2);
  assert.match(second.stderr, /already has a final evaluation on ResNet-110\/CIFAR-100 at budget smoke: planted-final \(completed, best 41\.00%\).*--yes/);
  plant(ws, { ...run({ hash, norm: true, status: 'running' }), id: 'planted-running', ownerPid: process.pid });
  const busy = regbench(['final', variant, '--budget', 'smoke', '--yes']);
  assert.equal(busy.status, 2);
  assert.match(busy.stderr, /runs of this source \(.*\) are still going: planted-running \(running.*--wait/);
});

test('regbench run --seeds queues one run per seed; a run on the held-out benchmark is announced as final', () => {
  const { ws, regbench } = cliWorkspace();
  // ResNet-110/CIFAR-100 (the norms' held-out benchmark): no CIFAR-100 offline, so nothing trains.
  const variant = path.join(root, 'templates/norms/groupnorm.ts');
  const r = regbench(['run', variant, '--bench', 'resnet110-cifar100', '--budget', 'smoke', '--seeds', '0,1']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /ResNet-110\/CIFAR-100 is the held-out benchmark for normalization layers: this run is recorded as a final evaluation of groupnorm/);
  const runs = new RunStore(path.join(ws, '.regbench')).list();
  assert.deepEqual(runs.map((x) => x.spec.seed).sort(), [0, 1]);
  assert.ok(runs.every((x) => x.final === true));
});

test('regbench final --wait waits for the running runs of the source, then runs', async () => {
  const { ws } = cliWorkspace();
  const variant = path.join(ws, 'variants', 'my-norm.ts');
  fs.copyFileSync(path.join(root, 'templates/norms/groupnorm.ts'), variant);
  const hash = variantHash(fs.readFileSync(variant, 'utf8'));
  // A run owned by a process that ends in 2 s: the store then reconciles it (interrupted: resumable), the wait ends.
  const owner = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 2000)']);
  plant(ws, { ...run({ hash, norm: true, status: 'running' }), id: 'planted-running', ownerPid: owner.pid });
  const started = Date.now();
  const env = { ...process.env, REGBENCH_OFFLINE: '1', REGBENCH_DATA: '', XDG_CACHE_HOME: path.join(ws, 'cache') };
  const child = spawn(process.execPath, [cli, 'final', variant, '--budget', 'smoke', '--wait', '--workspace', ws, '--data-dir', path.join(ws, 'no-data')], {
    env,
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.match(stderr, /waiting for 1 run\(s\) of this source to end: planted-running/);
  assert.match(stderr, /recorded as a final evaluation of my-norm/);
  assert.equal(code, 1, 'the final run itself fails: no CIFAR-100 offline');
  assert.ok(Date.now() - started >= 2000);
  const store = new RunStore(path.join(ws, '.regbench'));
  assert.equal(store.get('planted-running')?.status, 'interrupted');
  assert.equal(store.list().filter((r) => r.final).length, 1);
});
