/** The accuracy code lens text and where lenses sit (src/present/lens-text.ts, variant-file.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BenchId, BudgetId } from '../src/protocol/benchmarks';
import { fixtureRecord } from './fixtures/run-records';
import type { RunStatus } from '../src/protocol/events';
import type { RunRecord } from '../src/runs/run-record';
import { accuracyLensText, benchCellText, formatMeanStd, HELD_OUT_TEXT, latestVariantRuns, MISSING } from '../src/present/lens-text';
import { findLensAnchors } from '../src/variants/variant-file';
import { trackBenchmarks } from '../src/protocol/benchmark-tracks';

const VARIANT = '/ws/variants/confidence-penalty.ts';
let clock = 0;

interface Over {
  bench?: BenchId;
  seed?: number;
  status?: RunStatus;
  best?: number | null;
  last?: number | null;
  budget?: BudgetId;
  hash?: string;
  path?: string;
  epochs?: [number, number];
}

/** A run record; each call is created one minute after the previous one. */
function run(o: Over = {}): RunRecord {
  clock++;
  const id = `20261123-19${String(clock).padStart(4, '0')}-${o.bench ?? 'resnet56-cifar100'}-0000`;
  const [done, total] = o.epochs ?? [200, 200];
  return fixtureRecord(
    id,
    new Date(Date.UTC(2026, 10, 23, 19, clock)).toISOString(),
    { bench: o.bench ?? 'resnet56-cifar100', budget: o.budget ?? 'full', seed: o.seed ?? 0, variantPath: o.path ?? VARIANT, variantHash: o.hash ?? 'h1' },
    {
      status: o.status ?? 'completed',
      startedAt: undefined,
      epochsCompleted: done,
      totalEpochs: total,
      bestTestAcc: o.best === undefined ? 72.4 : o.best,
      finalTestAcc: o.last === undefined ? (o.best === undefined ? 72.1 : o.best) : o.last,
    },
  );
}

test('one completed run: its best accuracy with one decimal; the full budget goes unnamed', () => {
  assert.equal(benchCellText([run({ best: 72.44 })]), '72.4%');
  assert.equal(benchCellText([run({ best: 41.25, budget: 'quick' })]), '41.3% (quick)');
});

test('several seeds: mean ± sample std over the latest run of each seed', () => {
  const runs = [run({ seed: 0, best: 72 }), run({ seed: 1, best: 72.5 }), run({ seed: 2, best: 73 })];
  assert.equal(benchCellText(runs), '72.5 ± 0.5% (3 seeds)');
  // A rerun of seed 0 replaces the earlier seed-0 result instead of counting twice.
  assert.equal(benchCellText([...runs, run({ seed: 0, best: 75 })]), '73.5 ± 1.3% (3 seeds)');
  assert.equal(benchCellText([run({ seed: 0, best: 40, budget: 'quick' }), run({ seed: 1, best: 42, budget: 'quick' })]), '41.0 ± 1.4% (2 seeds, quick)');
  assert.equal(formatMeanStd([94.5, 94.5]), '94.5 ± 0.0%');
  assert.throws(() => formatMeanStd([1]));
});

test('only runs at the budget of the latest completed run are averaged', () => {
  const runs = [run({ seed: 0, best: 72, budget: 'full' }), run({ seed: 1, best: 30, budget: 'smoke' })];
  assert.equal(benchCellText(runs), '30.0% (smoke)');
});

test('a running run wins: completed epochs and the last test accuracy', () => {
  const running = run({ status: 'running', epochs: [12, 200], best: 62, last: 61.3 });
  assert.equal(benchCellText([run({ best: 72 }), running]), 'epoch 12/200 · 61.3%');
  assert.equal(benchCellText([run({ status: 'running', epochs: [0, 200], best: null, last: null })]), 'epoch 0/200');
});

test('without a completed run: queued, else the last final status, else a dash', () => {
  assert.equal(benchCellText([]), MISSING);
  assert.equal(benchCellText([run({ status: 'failed', best: null })]), 'failed');
  assert.equal(benchCellText([run({ status: 'failed', best: null }), run({ status: 'diverged', best: null })]), 'diverged');
  assert.equal(benchCellText([run({ status: 'cancelled', best: null }), run({ status: 'queued', best: null })]), 'queued');
  // A failed rerun does not hide an earlier completed result.
  assert.equal(benchCellText([run({ best: 70 }), run({ status: 'failed', best: null })]), '70.0%');
});

test('the lens speaks of the latest source of this file only', () => {
  const old = run({ hash: 'old', best: 60 });
  const other = run({ path: '/ws/variants/other.ts', best: 99 });
  const fresh = run({ hash: 'new', best: 71 });
  assert.deepEqual(latestVariantRuns([old, other, fresh], VARIANT), [fresh]);
  assert.deepEqual(latestVariantRuns([other], VARIANT), []);
  assert.equal(
    accuracyLensText([old, other, fresh], VARIANT, trackBenchmarks({ regularizer: true, norm: false })),
    `ResNet-56/C100 71.0% · VGG-16-BN/C100 ${MISSING} · MobileNetV2/FMNIST ${MISSING}`,
  );
});

test('the whole lens: track benchmarks in order, then any other benchmark the variant ran on', () => {
  const runs = [
    // The held-out benchmark shows once the source has a final evaluation (a started final run).
    { ...run({ bench: 'mobilenetv2-fmnist', best: 94.5 }), final: true, startedAt: '2026-11-23T19:00:00.000Z' },
    run({ bench: 'resnet56-cifar100', seed: 0, best: 72.2 }),
    run({ bench: 'resnet56-cifar100', seed: 1, best: 72.6 }),
    run({ bench: 'resnet20-cifar10', best: 91.2, budget: 'quick' }),
    run({ bench: 'vgg16bn-cifar100', status: 'running', epochs: [12, 200], last: 61.3 }),
  ];
  assert.equal(
    accuracyLensText(runs, VARIANT, trackBenchmarks({ regularizer: true, norm: false })),
    'ResNet-56/C100 72.4 ± 0.3% (2 seeds) · VGG-16-BN/C100 epoch 12/200 · 61.3% · MobileNetV2/FMNIST 94.5% · ResNet-20/C10 91.2% (quick)',
  );
  assert.equal(
    accuracyLensText([], VARIANT, trackBenchmarks({ regularizer: false, norm: true })),
    `ResNet-56/C100 ${MISSING} · MobileNetV2/FMNIST ${MISSING} · ResNet-110/C100 ${MISSING}`,
  );
});

test('lens anchors: entry-point definitions only, with the name range', () => {
  const ts = [
    "import * as tf from '@tensorflow/tfjs-core';",
    '// computeRegularization is called every step',
    'export function computeRegularization(model, inputs) {',
    '  return computeRegularizationHelper();',
    '}',
    'export class CustomNorm implements NormLayer {}',
    'class CustomNormalizer {}',
  ].join('\n');
  assert.deepEqual(findLensAnchors('/ws/v.ts', ts), [
    { line: 2, column: 16, length: 21, entry: 'regularizer' },
    { line: 5, column: 13, length: 10, entry: 'norm' },
  ]);
  assert.deepEqual(
    findLensAnchors('/ws/v.ts', 'export const computeRegularization = (m) => m;').map((a) => a.line),
    [0],
  );
  const py = [
    'import torch',
    'def compute_regularization(model, inputs, outputs, targets, config):',
    '    pass',
    '    def compute_regularization(x): pass',
    'class CustomNorm(nn.Module):',
  ].join('\n');
  assert.deepEqual(findLensAnchors('/ws/v.py', py), [
    { line: 1, column: 4, length: 22, entry: 'regularizer' },
    { line: 4, column: 6, length: 10, entry: 'norm' },
  ]);
  assert.deepEqual(findLensAnchors('/ws/notes.md', ts), []);
});

test('the lens compares a completed group with the baseline: paired p where the seeds match, Welch where they differ; n=1 says no test is possible', () => {
  const baselines = new Map([['blank', { kind: 'regularizer' as const, engine: 'tfjs' as const, file: 'templates/regularizers/blank.ts' }]]);
  const base = [70.1, 70.5, 70.3].map((best, seed) => run({ path: '/ws/variants/blank.ts', hash: 'blank', seed, best }));
  const mine = [71.0, 71.6, 71.1].map((best, seed) => run({ seed, best }));
  const text = accuracyLensText([...base, ...mine], VARIANT, ['resnet56-cifar100'], baselines);
  // The paired t-test on these seeds (scipy.stats.ttest_rel): p = 0.00881.
  assert.equal(text, 'ResNet-56/C100 71.2 ± 0.3 (n=3), +0.9 vs baseline, p=0.009 (paired, n=3 seeds)');
  const otherSeeds = [71.0, 71.6, 71.1].map((best, i) => run({ seed: [0, 1, 5][i], best, hash: 'h3' }));
  // Seeds 0, 1, 5 against 0, 1, 2: Welch's t-test (scipy.stats.ttest_ind(equal_var=False)): p = 0.0189.
  assert.equal(
    accuracyLensText([...base, ...otherSeeds], VARIANT, ['resnet56-cifar100'], baselines),
    'ResNet-56/C100 71.2 ± 0.3 (n=3), +0.9 vs baseline, p=0.02 (unpaired: seeds differ)',
  );
  const one = accuracyLensText([...base, run({ hash: 'h2', best: 71.0 })], VARIANT, ['resnet56-cifar100'], baselines);
  assert.equal(one, 'ResNet-56/C100 71.0 (n=1), +0.7 vs baseline, no test possible with n=1');
  // Without baseline runs the cell stays as before.
  assert.equal(accuracyLensText(mine, VARIANT, ['resnet56-cifar100'], baselines), 'ResNet-56/C100 71.2 ± 0.3% (3 seeds)');
});

test('a held-out benchmark says "held out" until the source has a final evaluation', () => {
  const hidden = run({ bench: 'mobilenetv2-fmnist', best: 93.1 });
  assert.equal(accuracyLensText([hidden], VARIANT, ['mobilenetv2-fmnist']), `MobileNetV2/FMNIST ${HELD_OUT_TEXT}`);
  assert.ok(!accuracyLensText([hidden], VARIANT, ['mobilenetv2-fmnist']).includes('93'));
  const final = { ...run({ bench: 'mobilenetv2-fmnist', best: 93.4 }), final: true, startedAt: '2026-11-23T19:00:00.000Z' };
  assert.equal(accuracyLensText([hidden, final], VARIANT, ['mobilenetv2-fmnist']), 'MobileNetV2/FMNIST 93.4%');
});
