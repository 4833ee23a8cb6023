import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunRecord } from '../src/runs/run-record';
import { editNumbers } from '../src/present/run-label';
import { batchSummary, compactDiff, previousRunOfFile, recordLabel, runTreeLabel } from '../src/present/run-label-editor';

function run(id: string, variantPath: string, variantHash: string, extra: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    name: 'unused',
    spec: { variantPath, variantHash, bench: 'resnet20-cifar10', seed: 0 } as RunRecord['spec'],
    status: 'completed',
    createdAt: '',
    epochsCompleted: 1,
    totalEpochs: 1,
    bestTestAcc: null,
    finalTestAcc: null,
    epochSeconds: null,
    variantSnapshot: 'variant.ts',
    ...extra,
  };
}

test('edit numbers count the distinct sources of each file in run order; a rerun of a source keeps its number', () => {
  const runs = [run('3', '/w/a.ts', 'h1'), run('1', '/w/a.ts', 'h1'), run('2', '/w/b.ts', 'h9'), run('4', '/w/a.ts', 'h2'), run('5', '/w/a.ts', 'h1')];
  assert.deepEqual([...editNumbers(runs)].sort(), [
    ['1', 1],
    ['2', 1],
    ['3', 1],
    ['4', 2],
    ['5', 1],
  ]);
});

test('labels name the run: its given name, else file and edit; then benchmark, seed and best accuracy', () => {
  const first = run('1', '/w/variants/my-reg.ts', 'abcdef0123456789', { bestTestAcc: 71.26 });
  assert.equal(recordLabel(first, 1), 'my-reg #1 (abcdef) · ResNet-20/C10 · s0 · 71.3%');
  assert.equal(recordLabel({ ...first, bestTestAcc: null }, undefined), 'my-reg (abcdef) · ResNet-20/C10 · s0');
  assert.equal(recordLabel({ ...first, displayName: 'beta 0.3' }, 2), 'beta 0.3 · ResNet-20/C10 · s0 · 71.3%');
  assert.equal(runTreeLabel(first, 2), '#2 (abcdef) · s0');
  assert.equal(runTreeLabel({ ...first, displayName: 'beta 0.3' }, 2), 'beta 0.3 · #2 (abcdef) · s0');
  assert.notEqual(recordLabel(first, 1), recordLabel(run('2', '/w/variants/my-reg.ts', 'ffff', { bestTestAcc: 71.26 }), 2));
});

test('the previous run of a file, and the compact diff of two sources', () => {
  const runs = [run('1', '/w/a.ts', 'h1'), run('2', '/w/b.ts', 'h2'), run('3', '/w/a.ts', 'h3')];
  assert.equal(previousRunOfFile(runs, runs[2])?.id, '1');
  assert.equal(previousRunOfFile(runs, runs[0]), undefined);
  const before = ['a', 'b', 'const BETA = 0.1;', 'c', 'd', 'e', 'f', 'g'].join('\n');
  const after = ['a', 'b', 'const BETA = 0.3;', 'c', 'd', 'e', 'f', 'g', 'h'].join('\n');
  assert.deepEqual(compactDiff(before, after), ['@@ -2,3 +2,3 @@', ' b', '-const BETA = 0.1;', '+const BETA = 0.3;', ' c', '@@ -8,1 +8,2 @@', ' g', '+h']);
  assert.deepEqual(compactDiff(before, before), []);
  assert.equal(compactDiff('', Array.from({ length: 100 }, (_, i) => `l${i}`).join('\n'), 1, 10).at(-1), '… 92 more lines');
});

test('one summary for a batch of runs: counts by status, the best completed run named', () => {
  const runs = [
    run('1', '/w/a.ts', 'h1', { bestTestAcc: 60 }),
    run('2', '/w/a.ts', 'h2', { bestTestAcc: 70.04 }),
    run('3', '/w/a.ts', 'h2', { status: 'failed', bestTestAcc: 90 }),
    run('4', '/w/a.ts', 'h2', { status: 'cancelled' }),
  ];
  const edits = editNumbers(runs);
  assert.equal(
    batchSummary(runs, (r) => recordLabel(r, edits.get(r.id))),
    '4 runs ended: 2 completed, 1 failed, 1 cancelled. Best: a #2 (h2) · ResNet-20/C10 · s0 · 70.0%.',
  );
  assert.equal(
    batchSummary(runs.slice(2), (r) => r.id),
    '2 runs ended: 1 failed, 1 cancelled.',
  );
});
