/**
 * The settings diff a comparison shows (src/present/dashboard-model.ts: settingsDiff, buildComparison),
 * from the host's side: what two real run records differ in, and nothing else.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECIPE, type RunSpec } from '../src/protocol/benchmarks';
import type { RunEnvironment } from '../src/protocol/events';
import type { RunRecord } from '../src/runs/run-record';
import { buildComparison, settingsDiff } from '../src/present/dashboard-model';

function spec(id: string, over: Partial<RunSpec> = {}): RunSpec {
  return {
    runId: id,
    bench: 'resnet56-cifar100',
    arch: 'resnet56',
    dataset: 'cifar100',
    numClasses: 100,
    budget: 'quick',
    epochs: 5,
    trainSubset: 10000,
    testSubset: 2000,
    seed: 0,
    recipe: { ...RECIPE },
    engine: 'tfjs',
    variantPath: '/ws/variants/a.ts',
    variantHash: 'hash-a',
    variantKind: { regularizer: true, norm: false },
    runDir: `/ws/.regbench/runs/${id}`,
    ...over,
  };
}

function env(over: Partial<RunEnvironment> = {}): RunEnvironment {
  return {
    engine: 'tfjs',
    backend: 'wasm',
    versions: { node: '20.20.2', tfjs: '4.22.0' },
    platform: 'linux-x64',
    cpus: 2,
    hostname: 'box-1',
    threads: 2,
    ...over,
  };
}

function record(id: string, s: RunSpec, e: RunEnvironment | undefined, best: number | null, createdAt: string): RunRecord {
  return {
    id,
    name: `run ${id}`,
    spec: s,
    env: e,
    status: 'completed',
    createdAt,
    epochsCompleted: 5,
    totalEpochs: 5,
    bestTestAcc: best,
    finalTestAcc: best,
    epochSeconds: 1,
    variantSnapshot: 'variant.ts',
  };
}

test('two runs of the same request differ in nothing but identity: the diff is empty', () => {
  const a = record('r1', spec('r1'), env(), 70, '2026-11-23T10:00:00.000Z');
  const b = record('r2', spec('r2'), env({ hostname: 'box-2' }), 71, '2026-11-23T11:00:00.000Z');
  assert.deepEqual(buildComparison(a, b, [a, b]).settingsDiff, []);
});

test('only what differs, sorted by dotted key, with both values', () => {
  const a = record('r1', spec('r1'), env(), 70, '2026-11-23T10:00:00.000Z');
  const b = record(
    'r2',
    spec('r2', { seed: 1, recipe: { ...RECIPE, lr: 0.05 }, variantKind: { regularizer: true, norm: true }, trainSubset: null }),
    env({ backend: 'cpu', versions: { node: '20.20.2', tfjs: '4.22.0', extra: '1' } }),
    71,
    '2026-11-23T11:00:00.000Z',
  );
  assert.deepEqual(buildComparison(a, b, [a, b]).settingsDiff, [
    { key: 'env.backend', a: 'wasm', b: 'cpu' },
    { key: 'env.versions.extra', a: undefined, b: '1' },
    { key: 'recipe.lr', a: 0.1, b: 0.05 },
    { key: 'seed', a: 0, b: 1 },
    { key: 'trainSubset', a: 10000, b: null },
    { key: 'variantKind.norm', a: false, b: true },
  ]);
});

test('a run that never started (no environment) differs by the keys only the other has', () => {
  const a = record('r1', spec('r1', { backend: 'wasm' }), undefined, null, '2026-11-23T10:00:00.000Z');
  const b = record('r2', spec('r2', { backend: 'wasm' }), env(), 70, '2026-11-23T11:00:00.000Z');
  const keys = buildComparison(a, b, [a, b]).settingsDiff.map((d) => d.key);
  assert.deepEqual(keys, ['env.backend', 'env.threads', 'env.versions.node', 'env.versions.tfjs']);
  assert.ok(buildComparison(a, b, [a, b]).settingsDiff.every((d) => d.a === undefined));
});

test('values are compared by type and value: 1 and "1" differ, equal NaNs do not', () => {
  assert.deepEqual(settingsDiff({ x: 1, y: Number.NaN }, { x: '1', y: Number.NaN }), [{ key: 'x', a: 1, b: '1' }]);
  assert.deepEqual(settingsDiff({ list: [1, 2, 3] }, { list: [1, 2] }), [{ key: 'list.2', a: 3, b: undefined }]);
  // Identity and time keys are ignored at any depth.
  assert.deepEqual(settingsDiff({ deep: { runDir: 'a', startedAt: 'x', k: 1 } }, { deep: { runDir: 'b', startedAt: 'y', k: 1 } }), []);
});

test('accuracy deltas of two variants average their seeds per benchmark', () => {
  const a0 = record('a0', spec('a0', { seed: 0 }), env(), 70, '2026-11-23T10:00:00.000Z');
  const a1 = record('a1', spec('a1', { seed: 1 }), env(), 72, '2026-11-23T10:01:00.000Z');
  const b0 = record('b0', spec('b0', { variantPath: '/ws/variants/b.ts', variantHash: 'hash-b' }), env(), 74, '2026-11-23T11:00:00.000Z');
  const c = buildComparison(a0, b0, [a0, a1, b0]);
  assert.deepEqual(c.accuracyDeltas, [{ bench: 'resnet56-cifar100', a: 71, b: 74, delta: 3 }]);
  assert.deepEqual(
    c.settingsDiff.map((d) => d.key),
    ['variantHash', 'variantPath'],
  );
});
