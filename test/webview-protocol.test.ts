/**
 * The dashboard message protocol (src/protocol/webview.ts: contracts and validators) and the pure
 * payload builders the host uses (src/present/dashboard-model.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECIPE, type RunSpec } from '../src/protocol/benchmarks';
import type { EpochEvent } from '../src/protocol/events';
import type { RunRecord } from '../src/runs/run-record';
import { isHostToWebviewMessage, isWebviewToHostMessage, type RunSummary } from '../src/protocol/webview';
import { significanceTitle } from '../webview/leaderboard-view';
import {
  accuracyDeltas,
  appendMessage,
  buildComparison,
  buildLeaderboard,
  dashboardContext,
  removeMessage,
  settingsDiff,
  snapshotMessage,
  toEpochColumns,
  toRunSummary,
  variantKey,
  variantNameOf,
} from '../src/present/dashboard-model';

function spec(over: Partial<RunSpec> = {}): RunSpec {
  return {
    runId: 'r1',
    bench: 'resnet20-cifar10',
    arch: 'resnet20',
    dataset: 'cifar10',
    numClasses: 10,
    budget: 'quick',
    epochs: 5,
    trainSubset: 10000,
    testSubset: 2000,
    seed: 0,
    recipe: { ...RECIPE },
    engine: 'tfjs',
    backend: 'wasm',
    variantPath: '/ws/variants/confidence-penalty.ts',
    variantHash: 'aaaa000011112222',
    variantKind: { regularizer: true, norm: false },
    runDir: '/ws/.regbench/runs/r1',
    ...over,
  };
}

function record(id: string, over: Partial<RunRecord> = {}, specOver: Partial<RunSpec> = {}): RunRecord {
  return {
    id,
    name: `run ${id}`,
    spec: spec({ runId: id, runDir: `/ws/.regbench/runs/${id}`, ...specOver }),
    status: 'completed',
    createdAt: '2026-11-23T19:58:12.000Z',
    epochsCompleted: 5,
    totalEpochs: 5,
    bestTestAcc: 80,
    finalTestAcc: 79.5,
    epochSeconds: 12.5,
    variantSnapshot: 'variant.ts',
    ...over,
  };
}

function summary(id: string, bench: RunSummary['bench'], best: number | null): RunSummary {
  return { ...toRunSummary(record(id, { bestTestAcc: best }, { bench })) };
}

test('webview->host validator accepts each message type and rejects malformed ones', () => {
  const good: unknown[] = [
    { type: 'ready', payload: {} },
    { type: 'openRun', payload: { runId: 'r1' } },
    { type: 'selectRuns', payload: { runIds: ['r1', 'r2'] } },
    { type: 'selectRuns', payload: { runIds: [] } },
    { type: 'compare', payload: { a: 'r1', b: 'r2' } },
    { type: 'compare', payload: { a: 'r1', b: 'r2', more: ['r3', 'r4'] } },
    { type: 'cancelRun', payload: { runId: 'r1' } },
    { type: 'showLog', payload: { runId: 'r1' } },
    { type: 'resumeRun', payload: { runId: 'r1' } },
    { type: 'copyRerunCommand', payload: { runId: 'r1' } },
  ];
  for (const m of good) assert.equal(isWebviewToHostMessage(m), true, JSON.stringify(m));
  const bad: unknown[] = [
    null,
    'ready',
    { type: 'ready' },
    { type: 'ready', payload: [] },
    { type: 'openRun', payload: { runId: '' } },
    { type: 'openRun', payload: { runId: 3 } },
    { type: 'selectRuns', payload: { runIds: ['r1', 2] } },
    { type: 'compare', payload: { a: 'r1' } },
    { type: 'compare', payload: { a: 'r1', b: 'r2', more: ['r3', ''] } },
    { type: 'cancelRun', payload: {} },
    { type: 'resumeRun', payload: { runId: '' } },
    { type: 'deleteEverything', payload: { runId: 'r1' } },
    { type: 'toString', payload: {} },
  ];
  for (const m of bad) assert.equal(isWebviewToHostMessage(m), false, JSON.stringify(m));
});

test('host->webview validator checks snapshot, append and compare payloads', () => {
  const run = toRunSummary(record('r1'));
  const epoch: EpochEvent = {
    type: 'epoch',
    runId: 'r1',
    time: 't',
    epoch: 0,
    totalEpochs: 5,
    trainLoss: 2,
    trainCe: 2,
    regTerm: 0,
    trainAcc: 30,
    testLoss: 1.9,
    testAcc: 35,
    lr: 0.1,
    seconds: 10,
    trainImagesPerSec: 100,
    bestTestAcc: 35,
  };
  const comparison = buildComparison(record('r1'), record('r2'), []);
  const leaderboard = buildLeaderboard([run], { heldOut: new Set() });
  assert.equal(
    isHostToWebviewMessage({ type: 'snapshot', payload: { runs: [run], epochs: { r1: toEpochColumns([epoch]) }, selected: [], leaderboard } }),
    true,
  );
  assert.equal(isHostToWebviewMessage({ type: 'snapshot', payload: { runs: [run], epochs: {}, selected: [], comparison, leaderboard } }), true);
  assert.equal(
    isHostToWebviewMessage({ type: 'snapshot', payload: { runs: [run], epochs: {}, selected: [] } }),
    false,
    'the leaderboard is part of a snapshot',
  );
  assert.equal(isHostToWebviewMessage({ type: 'append', payload: { runId: 'r1', run, leaderboard: { key: 'k', row: null } } }), true);
  assert.equal(isHostToWebviewMessage({ type: 'append', payload: { runId: 'r1', run, leaderboard: { key: 'k', row: { key: 'k' } } } }), false);
  assert.equal(isHostToWebviewMessage({ type: 'remove', payload: { runId: 'r1', leaderboard: { key: 'k', row: null } } }), true);
  assert.equal(isHostToWebviewMessage({ type: 'append', payload: { runId: 'r1', run } }), true);
  assert.equal(isHostToWebviewMessage({ type: 'append', payload: { runId: 'r1', run, event: epoch } }), true);
  assert.equal(isHostToWebviewMessage({ type: 'remove', payload: { runId: 'r1' } }), true);
  assert.equal(isHostToWebviewMessage({ type: 'select', payload: { runIds: ['r1'] } }), true);
  assert.equal(isHostToWebviewMessage({ type: 'compare', payload: { comparison } }), true);

  assert.equal(isHostToWebviewMessage({ type: 'snapshot', payload: { runs: [{ id: 'x' }], epochs: {}, selected: [], leaderboard } }), false);
  assert.equal(
    isHostToWebviewMessage({ type: 'snapshot', payload: { runs: [], epochs: { r1: [epoch] }, selected: [], leaderboard } }),
    false,
    'epochs travel column-wise',
  );
  assert.equal(
    isHostToWebviewMessage({ type: 'snapshot', payload: { runs: [], epochs: { r1: { ...toEpochColumns([epoch]), lr: [] } }, selected: [], leaderboard } }),
    false,
  );
  assert.equal(isHostToWebviewMessage({ type: 'append', payload: { runId: 'r1', run, event: { ...epoch, type: 'progress' } } }), false);
  assert.equal(isHostToWebviewMessage({ type: 'compare', payload: { comparison: { a: run } } }), false);
  assert.equal(isHostToWebviewMessage({ type: 'ready', payload: {} }), false);
  assert.equal(isHostToWebviewMessage({ type: 'constructor', payload: {} }), false);
});

test('toRunSummary projects a record, preferring the backend that actually ran', () => {
  const r = record('r1', {
    status: 'failed',
    error: { kind: 'variant', message: 'term is NaN' },
    env: { engine: 'tfjs', backend: 'cpu', versions: {}, platform: 'linux', cpus: 2, hostname: 'h' },
  });
  const s = toRunSummary(r);
  assert.deepEqual(s, {
    id: 'r1',
    name: 'run r1',
    status: 'failed',
    bench: 'resnet20-cifar10',
    budget: 'quick',
    seed: 0,
    variantName: 'confidence-penalty',
    variantHash: 'aaaa000011112222',
    engine: 'tfjs',
    backend: 'cpu',
    bestTestAcc: 80,
    finalTestAcc: 79.5,
    epochsCompleted: 5,
    totalEpochs: 5,
    epochSeconds: 12.5,
    errorMessage: 'term is NaN',
    createdAt: '2026-11-23T19:58:12.000Z',
    edit: null,
  });
  // The user's name (a new, optional record field) and the edit number from the context.
  const named = { ...record('r4'), displayName: 'wide margin' };
  const ctx = dashboardContext([named]);
  assert.equal(toRunSummary(named, ctx).displayName, 'wide margin');
  assert.equal(toRunSummary(named, ctx).edit, 1);
  // Not started: the requested backend; a cancelled run's reason stands in for an error.
  const queued = toRunSummary(record('r2', { status: 'cancelled', reason: 'cancelled by user' }, { backend: undefined, engine: 'pytorch', device: 'cpu' }));
  assert.equal(queued.backend, 'cpu');
  assert.equal(queued.engine, 'pytorch');
  assert.equal(queued.errorMessage, 'cancelled by user');
  assert.equal(toRunSummary(record('r3', {}, { backend: undefined })).backend, null);
});

test('variantNameOf strips folders (either slash) and source extensions', () => {
  assert.equal(variantNameOf('/a/b/layer-norm.ts'), 'layer-norm');
  assert.equal(variantNameOf('C:\\work\\v\\dropblock.py'), 'dropblock');
  assert.equal(variantNameOf('plain'), 'plain');
});

test('settingsDiff lists only differing dotted keys, ignoring identity and time keys', () => {
  const a = { ...spec(), createdAt: '2026-01-01', env: { backend: 'wasm', startTime: 'x', versions: { tfjs: '4.22.0' } } };
  const b = {
    ...spec({
      runId: 'other',
      runDir: '/elsewhere',
      seed: 1,
      recipe: { ...RECIPE, lr: 0.05 },
      variantKind: { regularizer: true, norm: true },
      trainSubset: null,
    }),
    createdAt: '2027-01-01',
    env: { backend: 'wasm', startTime: 'y', versions: { tfjs: '4.22.0', node: '20' } },
  };
  assert.deepEqual(settingsDiff(a, b), [
    { key: 'env.versions.node', a: undefined, b: '20' },
    { key: 'recipe.lr', a: 0.1, b: 0.05 },
    { key: 'seed', a: 0, b: 1 },
    { key: 'trainSubset', a: 10000, b: null },
    { key: 'variantKind.norm', a: false, b: true },
  ]);
  assert.deepEqual(settingsDiff(spec(), spec({ runId: 'x', runDir: 'y' })), []);
  // Arrays flatten by index; a key set to undefined equals a missing key.
  assert.deepEqual(settingsDiff({ m: [1, 2], o: undefined }, { m: [1, 3] }), [{ key: 'm.1', a: 2, b: 3 }]);
});

test('accuracyDeltas averages seeds per benchmark and leaves gaps as null', () => {
  const a = [
    summary('a0', 'resnet20-cifar10', 90),
    summary('a1', 'resnet20-cifar10', 92),
    summary('a2', 'mobilenetv2-fmnist', 93),
    summary('a3', 'vgg16bn-cifar100', null),
  ];
  const b = [summary('b0', 'resnet20-cifar10', 92.5), summary('b1', 'resnet56-cifar100', 70)];
  assert.deepEqual(accuracyDeltas(a, b), [
    { bench: 'mobilenetv2-fmnist', a: 93, b: null, delta: null },
    { bench: 'resnet20-cifar10', a: 91, b: 92.5, delta: 1.5 },
    { bench: 'resnet56-cifar100', a: null, b: 70, delta: null },
    { bench: 'vgg16bn-cifar100', a: null, b: null, delta: null },
  ]);
  assert.deepEqual(accuracyDeltas([], []), []);
});

test('buildComparison diffs settings (with the actual backend) and compares the two variants over seeds', () => {
  const env = (backend: string) => ({ engine: 'tfjs' as const, backend, versions: { tfjs: '4.22.0' }, platform: 'linux', cpus: 2, hostname: 'h', threads: 2 });
  const base = (id: string, seed: number, best: number, bench: RunSpec['bench'] = 'resnet20-cifar10') =>
    record(
      id,
      { bestTestAcc: best, env: env('wasm') },
      { seed, bench, variantPath: '/ws/baseline.ts', variantHash: 'bbbb', variantKind: { regularizer: false, norm: false } },
    );
  const mine = (id: string, seed: number, best: number, bench: RunSpec['bench'] = 'resnet20-cifar10') =>
    record(id, { bestTestAcc: best, env: env('cpu') }, { seed, bench });
  const all = [base('b0', 0, 90), base('b1', 1, 91), base('b2', 0, 60, 'resnet56-cifar100'), mine('m0', 0, 92), mine('m1', 1, 94)];
  // A smoke run of the same variant must not enter the quick-budget mean.
  all.push(record('m-smoke', { bestTestAcc: 20 }, { budget: 'smoke' }));
  const c = buildComparison(all[0], all[3], all);
  assert.equal(c.a.id, 'b0');
  assert.equal(c.b.id, 'm0');
  assert.deepEqual(
    c.settingsDiff.map((d) => d.key),
    ['env.backend', 'variantHash', 'variantKind.regularizer', 'variantPath'],
  );
  assert.deepEqual(c.accuracyDeltas, [
    { bench: 'resnet20-cifar10', a: 90.5, b: 93, delta: 2.5 },
    { bench: 'resnet56-cifar100', a: 60, b: null, delta: null },
  ]);
  // Two seeds of the same code: only those two runs are compared, not the whole variant.
  const same = buildComparison(all[3], all[4], all);
  assert.deepEqual(
    same.settingsDiff.map((d) => d.key),
    ['seed'],
  );
  assert.deepEqual(same.accuracyDeltas, [{ bench: 'resnet20-cifar10', a: 92, b: 94, delta: 2 }]);
  assert.equal(isHostToWebviewMessage({ type: 'compare', payload: { comparison: c } }), true);
  assert.equal(c.more, undefined, 'two runs: no `more`');
  // No cap: further runs against the same baseline, each with its own differences.
  const many = buildComparison(all[0], all[3], all, undefined, [all[4], all[2]]);
  assert.deepEqual(
    many.more?.map((m) => m.run.id),
    ['m1', 'b2'],
  );
  assert.deepEqual(
    many.more?.[1].settingsDiff.map((d) => d.key),
    ['bench'],
    'b2 is the baseline variant on another benchmark',
  );
  assert.deepEqual(many.more?.[0].accuracyDeltas, c.accuracyDeltas, 'm1 is the same variant as m0');
  assert.equal(isHostToWebviewMessage({ type: 'compare', payload: { comparison: many } }), true);
  assert.equal(isHostToWebviewMessage({ type: 'compare', payload: { comparison: { ...many, more: [{ run: {} }] } } }), false);
});

test('buildLeaderboard: variants as rows, benchmarks as columns, mean ± sample std (n) per seed group', () => {
  const run = (id: string, bench: RunSummary['bench'], best: number | null, hash: string, created: string) =>
    toRunSummary(record(id, { bestTestAcc: best, createdAt: created }, { bench, variantHash: hash }));
  const runs = [
    run('a0', 'resnet20-cifar10', 90, 'aaaa', '2026-11-23T10:00:00.000Z'),
    run('a1', 'resnet20-cifar10', 92, 'aaaa', '2026-11-23T10:01:00.000Z'),
    run('a2', 'resnet20-cifar10', null, 'aaaa', '2026-11-23T10:02:00.000Z'),
    run('a3', 'mobilenetv2-fmnist', 93, 'aaaa', '2026-11-23T10:03:00.000Z'),
    run('b0', 'resnet20-cifar10', 91, 'bbbb', '2026-11-23T11:00:00.000Z'),
  ];
  const lb = buildLeaderboard(runs, { heldOut: new Set() });
  // Columns in the benchmarks' order; rows newest first.
  assert.deepEqual(lb.columns, [
    { bench: 'mobilenetv2-fmnist', heldOut: false },
    { bench: 'resnet20-cifar10', heldOut: false },
  ]);
  assert.deepEqual(
    lb.rows.map((r) => r.key),
    ['bbbb|quick|tfjs', 'aaaa|quick|tfjs'],
  );
  const a = lb.rows[1];
  assert.deepEqual(a.cells['resnet20-cifar10'], { mean: 91, std: Math.sqrt(2), n: 2, runIds: ['a0', 'a1', 'a2'] });
  assert.deepEqual(a.cells['mobilenetv2-fmnist'], { mean: 93, std: null, n: 1, runIds: ['a3'] });
  assert.equal(a.cells['vgg16bn-cifar100'], undefined);
  assert.equal(variantKey(runs[0]), a.key);
  // The significance hook (the statistics module's): asked per scored cell, never for a held-out one.
  const asked: string[] = [];
  const marked = buildLeaderboard(runs, {
    heldOut: new Set(['mobilenetv2-fmnist']),
    significance: (group, bench) => {
      asked.push(`${group[0].variantHash}@${bench}`);
      return group[0].variantHash === 'bbbb' ? { p: 0.02, diff: 0.5, test: 'paired, n=3 seeds', rawP: 0.01, holmOver: 2 } : undefined;
    },
  });
  assert.deepEqual(asked.sort(), ['aaaa@resnet20-cifar10', 'bbbb@resnet20-cifar10']);
  assert.deepEqual(marked.rows[0].cells['resnet20-cifar10'], {
    mean: 91,
    std: null,
    n: 1,
    runIds: ['b0'],
    significance: { p: 0.02, diff: 0.5, test: 'paired, n=3 seeds', rawP: 0.01, holmOver: 2 },
  });
  // The mark's hover says how the p was reached.
  assert.equal(
    significanceTitle({ p: 0.02, diff: 0.5, test: 'paired, n=3 seeds', rawP: 0.01, holmOver: 2 }),
    'Δ +0.50 against the baseline, p = 0.020 (paired, n=3 seeds; Holm over 2 variants, unadjusted p = 0.010)',
  );
  assert.equal(significanceTitle({ p: 0.04, diff: -0.25, test: 'unpaired: seeds differ' }), 'Δ −0.25 against the baseline, p = 0.040 (unpaired: seeds differ)');
  assert.equal('significance' in (marked.rows[1].cells['resnet20-cifar10'] ?? {}), false);
  assert.deepEqual(marked.rows[1].cells['mobilenetv2-fmnist'], { heldOut: true, runs: 1 });
});

test('held-out benchmarks: no accuracy of theirs is in any message the host builds', () => {
  const hidden = new Set<RunSummary['bench']>(['mobilenetv2-fmnist']);
  const epoch = (id: string, acc: number): EpochEvent => ({
    type: 'epoch',
    runId: id,
    time: 't',
    epoch: 0,
    totalEpochs: 5,
    trainLoss: 2,
    trainCe: 2,
    regTerm: 0,
    trainAcc: acc - 3,
    testLoss: 1.9,
    testAcc: acc,
    lr: 0.1,
    seconds: 10,
    trainImagesPerSec: 100,
    bestTestAcc: acc,
  });
  const seen = record('s0', { bestTestAcc: 81.25, finalTestAcc: 80.5 });
  const held = record('h0', { bestTestAcc: 77.125, finalTestAcc: 76.375 }, { bench: 'mobilenetv2-fmnist' });
  const all = [seen, held];
  const ctx = dashboardContext(all, hidden);
  const events: Record<string, EpochEvent[]> = { s0: [epoch('s0', 81.25)], h0: [epoch('h0', 77.125)] };
  const snap = snapshotMessage(all, (id) => events[id], [], buildComparison(seen, held, all, ctx), ctx);
  const append = appendMessage(held, all, ctx, epoch('h0', 77.125));
  const messages = [snap, append, removeMessage('h0', variantKey(toRunSummary(held, ctx)), [seen], ctx)];
  const text = JSON.stringify(messages);
  for (const n of ['77.125', '76.375', '74.125']) assert.ok(!text.includes(n), `${n} must not be sent`);
  assert.ok(text.includes('81.25'), 'visible numbers are sent');
  for (const m of messages) assert.equal(isHostToWebviewMessage(m), true, m.type);
  assert.deepEqual(
    snap.payload.leaderboard.columns.find((c) => c.bench === 'mobilenetv2-fmnist'),
    { bench: 'mobilenetv2-fmnist', heldOut: true },
  );
  assert.deepEqual(snap.payload.leaderboard.rows[0].cells['mobilenetv2-fmnist'], { heldOut: true, runs: 1 });
  assert.equal('h0' in snap.payload.epochs, false, 'a held-out run has no epochs entry');
  assert.equal(snap.payload.runs.find((r) => r.id === 'h0')?.heldOut, true);
  assert.equal(append.payload.event, undefined, 'no epoch of a held-out run');
});

test('toEpochColumns: one array per metric, non-finite values as null', () => {
  const e = (epoch: number, testAcc: number): EpochEvent => ({
    type: 'epoch',
    runId: 'r',
    time: 't',
    epoch,
    totalEpochs: 2,
    trainLoss: 2,
    trainCe: 2,
    regTerm: 0,
    trainAcc: 30,
    testLoss: Number.NaN,
    testAcc,
    lr: 0.1,
    seconds: 10,
    trainImagesPerSec: 100,
    bestTestAcc: testAcc,
  });
  assert.deepEqual(toEpochColumns([e(0, 35), e(1, 40)]), {
    epoch: [0, 1],
    trainLoss: [2, 2],
    testLoss: [null, null],
    trainAcc: [30, 30],
    testAcc: [35, 40],
    lr: [0.1, 0.1],
    regTerm: [0, 0],
  });
});
