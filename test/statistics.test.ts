/**
 * src/analysis/statistics.ts against scipy.stats on the same numbers: scipy runs in a child process
 * (test/scipy.ts) and returns its figures as JSON. Exact figures agree
 * to 1e-9 relative (CI half-widths, which go through the t quantile, to 1e-8); the bootstrap CI (a
 * different random stream) to within one pair step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requireTool, skipUnless } from './requirements';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RECIPE, type BudgetId, type RunSpec } from '../src/protocol/benchmarks';
import type { RunRecord } from '../src/runs/run-record';
import { variantHash } from '../src/runs/run-request';
import { compareGroups, describe, formatDiff, formatP, NO_TEST_N1, seededRandom, type Comparison } from '../src/analysis/statistics';
import { groupSignificanceText, meanStdText, significanceText } from '../src/present/significance-text';
import { baselineHashes } from '../src/analysis/run-groups';
import { RunStore } from '../src/runs/run-store';
import { close, closeInterval, runScipy } from './scipy';
import type { PairedResult } from '../src/analysis/paired';

const SCIPY_SCRIPT = String.raw`
import json, sys
import numpy as np
from scipy import stats
out = []
for a, b in json.load(sys.stdin):
    a = np.array(a, dtype=float); b = np.array(b, dtype=float)
    r = {}
    def interval(x):
        if len(x) < 2: return None
        return list(stats.t.interval(0.95, len(x) - 1, loc=x.mean(), scale=stats.sem(x)))
    r['ciA'] = interval(a); r['ciB'] = interval(b)
    r['stdA'] = float(np.std(a, ddof=1)) if len(a) > 1 else 0.0
    if len(a) > 1 and len(b) > 1:
        w = stats.ttest_ind(b, a, equal_var=False)
        va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
        df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
        half = stats.t.ppf(0.975, df) * np.sqrt(va + vb)
        d = b.mean() - a.mean()
        r.update(t=float(w.statistic), p=float(w.pvalue), df=float(df), diffCi=[d - half, d + half])
        if len(a) <= 10 and len(b) <= 10:
            stat = lambda x, y, axis: np.abs(np.mean(x, axis=axis) - np.mean(y, axis=axis))
            perm = stats.permutation_test((b, a), stat, permutation_type='independent', vectorized=True,
                                          n_resamples=np.inf, alternative='greater')
            r['perm'] = float(perm.pvalue)
        poi = lambda x, y: float(np.mean((y[None, :] > x[:, None]) + 0.5 * (y[None, :] == x[:, None])))
        boot = stats.bootstrap((a, b), poi, method='percentile', n_resamples=10000, vectorized=False,
                               random_state=np.random.default_rng(0))
        r['poiCi'] = [float(boot.confidence_interval.low), float(boot.confidence_interval.high)]
    r['poi'] = float(stats.mannwhitneyu(b, a).statistic / (len(a) * len(b)))
    out.append(r)
print(json.dumps(out))
`;

interface ScipyFigures {
  ciA: [number, number] | null;
  ciB: [number, number] | null;
  stdA: number;
  t?: number;
  p?: number;
  df?: number;
  diffCi?: [number, number];
  perm?: number;
  poi: number;
  poiCi?: [number, number];
}

const CASES: Array<[number[], number[]]> = [
  [
    [72.1, 72.5, 72.3],
    [72.9, 73.4, 72.8],
  ],
  [
    [71.2, 73.0, 72.2, 71.9, 72.6],
    [72.0, 72.4, 74.1, 73.3],
  ],
  [
    [91.84, 94.69],
    [94.9, 94.85, 94.1, 93.64, 95.0, 94.2, 93.9],
  ],
  [
    [60, 61, 62, 63, 64, 65, 66, 67, 68, 69],
    [61.5, 62, 63, 64.5, 65, 66, 67, 68, 69, 70],
  ],
  [
    [50.1, 50.3, 49.8, 50.0, 50.2, 50.4, 49.9, 50.1, 50.0, 50.3, 50.2, 49.7],
    [50.4, 50.6, 50.2, 50.5],
  ],
  // Ties between the groups (P(B > A) counts them half) and a symmetric permutation distribution.
  [
    [70, 71, 72],
    [71, 72, 73],
  ],
  [[80.5], [81.0, 81.5, 80.0]],
];

function checkCase(i: number, c: Comparison, s: ScipyFigures): void {
  const [a, b] = CASES[i];
  const label = `case ${i} (${a.length} vs ${b.length})`;
  if (a.length > 1) closeInterval(c.a.ci95, s.ciA, `${label} CI of A`);
  else assert.equal(c.a.ci95, null);
  closeInterval(c.b.ci95, s.ciB, `${label} CI of B`);
  close(c.pImprovement, s.poi, `${label} P(B > A)`);
  if (s.t === undefined) {
    assert.equal(c.welch, null);
    assert.equal(c.permutationP, null);
    assert.equal(c.note, NO_TEST_N1);
    return;
  }
  close(c.a.std, s.stdA, `${label} std`);
  close(c.welch?.t, s.t, `${label} Welch t`);
  close(c.welch?.df, s.df, `${label} Welch df`);
  close(c.welch?.p, s.p, `${label} Welch p`);
  closeInterval(c.diffCi95, s.diffCi ?? null, `${label} difference CI`);
  if (s.perm === undefined) assert.equal(c.permutationP, null, `${label}: no permutation test above n=10`);
  else close(c.permutationP, s.perm, `${label} permutation p`);
  // Different random streams: the percentile ends may differ by about one pair step.
  const step = 1 / (a.length * b.length) + 0.02;
  assert.ok(c.pImprovementCi95 && s.poiCi, `${label}: bootstrap CI`);
  assert.ok(
    Math.abs(c.pImprovementCi95[0] - s.poiCi[0]) <= step && Math.abs(c.pImprovementCi95[1] - s.poiCi[1]) <= step,
    `${label} bootstrap CI ${c.pImprovementCi95} vs scipy ${s.poiCi}`,
  );
}

const figures = runScipy<ScipyFigures[]>(SCIPY_SCRIPT, CASES);
const noScipy = typeof figures === 'string' ? figures : undefined;
test('statistics agree with scipy.stats on the same numbers', { skip: skipUnless('scipy', !noScipy, noScipy) }, (t) => {
  if (!requireTool(t, 'scipy', !noScipy, noScipy) || typeof figures === 'string') return;
  assert.equal(figures.length, CASES.length);
  CASES.forEach(([a, b], i) => checkCase(i, compareGroups(a, b), figures[i]));
});

test('the bootstrap is seeded: the same numbers give the same interval', () => {
  const [a, b] = CASES[1];
  assert.deepEqual(compareGroups(a, b).pImprovementCi95, compareGroups(a, b).pImprovementCi95);
  const r1 = seededRandom(7);
  const r2 = seededRandom(7);
  for (let i = 0; i < 5; i++) assert.equal(r1(), r2());
});

test('n = 1: mean only, no p-value, and a note that says so', () => {
  const c = compareGroups([72], [73, 74]);
  assert.equal(c.welch, null);
  assert.equal(c.permutationP, null);
  assert.equal(c.note, NO_TEST_N1);
  assert.equal(describe([5]).ci95, null);
  const flat = compareGroups([1, 1], [1, 1]);
  assert.equal(flat.welch, null);
  assert.match(flat.note ?? '', /zero variance/);
  assert.throws(() => compareGroups([], [1]), /no values/);
});

/** Values with seeds 0, 1, 2, … (or the seeds given). */
const seeded = (values: number[], seeds = values.map((_, i) => i)) => ({ values, seeds });

test('lens text: mean ± std (n), the difference against the baseline, the p-value and whether it is paired', () => {
  assert.equal(meanStdText([72.9]), '72.9 (n=1)');
  assert.equal(significanceText('ResNet-56', seeded([72.6, 72.9, 73.2])), 'ResNet-56 72.9 ± 0.3 (n=3)');
  // scipy: ttest_rel -> p = 0.0202; ttest_ind(equal_var=False) -> p = 0.0333.
  assert.equal(
    significanceText('ResNet-56', seeded([72.6, 72.9, 73.2]), seeded([72.0, 72.1, 72.2])),
    'ResNet-56 72.9 ± 0.3 (n=3), +0.8 vs baseline, p=0.02 (paired, n=3 seeds)',
  );
  assert.equal(
    significanceText('ResNet-56', seeded([72.6, 72.9, 73.2]), seeded([72.0, 72.1, 72.2], [0, 1, 3])),
    'ResNet-56 72.9 ± 0.3 (n=3), +0.8 vs baseline, p=0.03 (unpaired: seeds differ)',
  );
  assert.equal(significanceText('ResNet-56', seeded([72.9]), seeded([72.0, 72.1, 72.2])), `ResNet-56 72.9 (n=1), +0.8 vs baseline, ${NO_TEST_N1}`);
  assert.equal(
    significanceText('ResNet-56', seeded([72.9]), seeded([72.0])),
    `ResNet-56 72.9 (n=1), +0.9 vs baseline, ${NO_TEST_N1}`,
    'paired with one seed: still no test',
  );
  assert.equal(
    significanceText('R', seeded([70.5, 71.5, 72.5]), seeded([70, 71, 72])),
    'R 71.5 ± 1.0 (n=3), +0.5 vs baseline, no paired t-test possible: every seed gives the same difference (paired, n=3 seeds)',
  );
  assert.equal(formatP(0.0004), 'p<0.001');
  assert.equal(formatP(0.0042), 'p=0.004');
  assert.equal(formatDiff(-0.04), '+0.0');
  assert.equal(formatDiff(-1.25), '-1.3');
});

// regbench compare on a planted run store (no training).
const root = path.resolve(__dirname, '..', '..');

function plantRun(ws: string, file: string, hash: string, seed: number, best: number, budget: BudgetId = 'quick'): string {
  const id = `20261201-12${String(seed).padStart(2, '0')}${hash.slice(0, 2)}-${budget}-resnet20-cifar10-0000`;
  const spec: RunSpec = {
    runId: id,
    bench: 'resnet20-cifar10',
    arch: 'resnet20',
    dataset: 'cifar10',
    numClasses: 10,
    budget,
    epochs: 5,
    trainSubset: 10000,
    testSubset: 2000,
    seed,
    recipe: { ...RECIPE },
    engine: 'tfjs',
    variantPath: file,
    variantHash: hash,
    variantKind: { regularizer: true, norm: false },
    runDir: path.join(ws, '.regbench', 'runs', id),
  };
  const at = new Date(Date.UTC(2026, 11, 1, 12, seed)).toISOString();
  const record: RunRecord = {
    id,
    name: id,
    spec,
    status: 'completed',
    createdAt: at,
    startedAt: at,
    epochsCompleted: 5,
    totalEpochs: 5,
    bestTestAcc: best,
    finalTestAcc: best,
    epochSeconds: 1,
    variantSnapshot: 'variant.ts',
  };
  fs.mkdirSync(spec.runDir, { recursive: true });
  fs.writeFileSync(path.join(spec.runDir, 'record.json'), JSON.stringify(record));
  return id;
}

test('regbench compare: a variant file against the baseline; a run id stands for its group; mixed budgets are refused', () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-compare-'));
  const blank = path.join(root, 'templates/regularizers/blank.ts');
  const cp = path.join(ws, 'cp.ts');
  fs.writeFileSync(cp, 'export function computeRegularization() {}\n');
  const blankHash = variantHash(fs.readFileSync(blank, 'utf8'));
  const cpHash = variantHash(fs.readFileSync(cp, 'utf8'));
  const [a, b] = CASES[0];
  a.forEach((v, s) => plantRun(ws, blank, blankHash, s, v));
  const cpIds = b.map((v, s) => plantRun(ws, cp, cpHash, s, v));
  const cmd = (args: string[]) =>
    spawnSync(process.execPath, [path.join(root, 'bin', 'regbench.js'), 'compare', ...args, '--workspace', ws], { encoding: 'utf8', cwd: ws });
  const one = cmd(['cp.ts']);
  assert.equal(one.status, 0, one.stderr);
  const c = compareGroups(a, b);
  assert.match(one.stdout, /^A: blank \(/);
  // The same seeds on both sides: paired (scipy ttest_rel: t = 6.10, p = 0.0258; all three differences positive: sign-flip p = 2/8).
  assert.match(one.stdout, /\ncomparison: paired, n=3 seeds\n/);
  assert.match(
    one.stdout,
    new RegExp(`difference B - A: \\${formatDiff(c.diff)} points, 95% CI \\[\\d+\\.\\d\\d, \\d+\\.\\d\\d\\] \\(paired t, 3 differences\\)`),
  );
  assert.match(one.stdout, /paired t-test: t = 6\.10, df = 2, p=0\.03 \(two-sided\)/);
  assert.match(one.stdout, /exact sign-flip test: p=0\.25 \(two-sided, all 8 sign flips\)/);
  assert.match(one.stdout, new RegExp(`Welch t-test: .*${formatP(c.welch?.p ?? 1)} \\(two-sided\\) \\[unpaired, for reference\\]`));
  assert.match(one.stdout, /exact permutation test: p=0\.10 /);
  assert.match(one.stdout, /P\(B > A\) = 1\.00, bootstrap 95% CI/);
  const json = cmd([blankHash.slice(0, 8), cpIds[1], '--json']);
  assert.equal(json.status, 0, json.stderr);
  const parsed = JSON.parse(json.stdout) as { comparison: Comparison; method: string; p: number; paired: PairedResult };
  assert.equal(parsed.comparison.welch?.p, c.welch?.p);
  assert.equal(parsed.method, 'paired, n=3 seeds');
  assert.equal(parsed.p, parsed.paired.tP);
  assert.equal(parsed.paired.tP?.toFixed(4), '0.0258');
  // One more candidate seed: the seeds differ, so Welch is the headline and the output says so.
  plantRun(ws, cp, cpHash, 7, 73.0);
  const unpaired = cmd(['cp.ts']);
  assert.equal(unpaired.status, 0, unpaired.stderr);
  assert.match(unpaired.stdout, /\ncomparison: unpaired: seeds differ\n/);
  assert.match(unpaired.stdout, /points, 95% CI .* \(Welch\)\n/);
  assert.doesNotMatch(unpaired.stdout, /paired t-test|sign-flip|for reference/);
  plantRun(ws, cp, cpHash, 9, 60, 'smoke');
  const ambiguous = cmd(['cp.ts']);
  assert.equal(ambiguous.status, 2);
  assert.match(ambiguous.stderr, /names 2 groups .*choose with --budget/);
  const smoke = cmd([cpIds[0], `20261201-1209${cpHash.slice(0, 2)}-smoke`]);
  assert.equal(smoke.status, 2);
  assert.match(smoke.stderr, /cannot compare cp with cp: they ran at different budgets \(quick vs smoke\)/);
  const n1 = cmd(['cp.ts', '--budget', 'smoke']);
  assert.equal(n1.status, 2, 'no smoke baseline');
  assert.match(n1.stderr, /no baseline runs .*regbench run templates\/regularizers\/blank\.ts --bench resnet20-cifar10 --budget smoke --seeds 0,1,2/);
});

test('lens text from the run store: the newest group against the baseline; held-out numbers hidden', () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-lens-'));
  const blankFile = path.join(root, 'templates/regularizers/blank.ts');
  const blankHash = variantHash(fs.readFileSync(blankFile, 'utf8'));
  [72.0, 72.1, 72.2].forEach((v, s) => plantRun(ws, blankFile, blankHash, s, v));
  [72.6, 72.9, 73.2].forEach((v, s) => plantRun(ws, '/ws/cp.ts', 'c0ffee', s, v));
  const records = new RunStore(path.join(ws, '.regbench')).list();
  const baselines = baselineHashes(path.join(root, 'templates'));
  assert.equal(
    groupSignificanceText(records, 'c0ffee', 'resnet20-cifar10', baselines, 'ResNet-20'),
    'ResNet-20 72.9 ± 0.3 (n=3), +0.8 vs baseline, p=0.02 (paired, n=3 seeds)',
  );
  assert.equal(groupSignificanceText(records, blankHash, 'resnet20-cifar10', baselines), 'ResNet-20/C10 72.1 ± 0.1 (n=3)');
  assert.equal(groupSignificanceText(records, 'c0ffee', 'resnet56-cifar100', baselines), undefined);
  const heldOut = records.map((r) => ({ ...r, spec: { ...r.spec, bench: 'mobilenetv2-fmnist' as const } }));
  assert.equal(groupSignificanceText(heldOut, 'c0ffee', 'mobilenetv2-fmnist', baselines), undefined, 'no final evaluation yet');
});
