/**
 * src/analysis/paired.ts against scipy.stats on seeded data sets: `ttest_rel` (two-sided and
 * one-sided), `t.interval` of the mean difference, a sign-flip `permutation_test`
 * (permutation_type='samples', every flip enumerated) and Holm's correction written out by hand in
 * Python. Includes ties (zero differences), n = 2, n = 16 (all 65,536 flips), n = 18 (seeded Monte
 * Carlo here, exact in scipy), unmatched seeds and the zero-variance / n = 1 cases the module
 * documents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { holm, pairedCompare, pairedOneSidedP, SIGN_FLIP_RESAMPLES, type PairedResult } from '../src/analysis/paired';
import { seededRandom } from '../src/analysis/statistics';
import { close, closeInterval, runScipy } from './scipy';
import { requireTool, skipUnless } from './requirements';

const SCIPY_SCRIPT = String.raw`
import json, sys
import numpy as np
from scipy import stats
cases, holm_lists = json.load(sys.stdin)
out = []
def holm(ps):
    m = len(ps); order = sorted(range(m), key=lambda i: (ps[i], i)); adj = [0.0] * m; run = 0.0
    for k, i in enumerate(order):
        run = max(run, min(1.0, (m - k) * ps[i])); adj[i] = run
    return adj
for base, cand in cases:
    a = np.array(base, dtype=float); b = np.array(cand, dtype=float); d = b - a
    r = {'mean': float(d.mean())}
    stat = lambda x, y, axis: np.mean(x - y, axis=axis)
    perm = stats.permutation_test((b, a), stat, permutation_type='samples', vectorized=True,
                                  n_resamples=np.inf, alternative='two-sided', batch=4096)
    r['signFlip'] = float(perm.pvalue)
    if d.std(ddof=1) > 1e-12 * max(1.0, np.abs(a).max(), np.abs(b).max()):
        r['t'] = float(stats.ttest_rel(b, a).statistic)
        r['p'] = float(stats.ttest_rel(b, a).pvalue)
        r['pLess'] = float(stats.ttest_rel(b, a, alternative='less').pvalue)
        r['pGreater'] = float(stats.ttest_rel(b, a, alternative='greater').pvalue)
        r['ci'] = list(stats.t.interval(0.95, len(d) - 1, loc=d.mean(), scale=stats.sem(d)))
    out.append(r)
print(json.dumps({'cases': out, 'holm': [holm(ps) for ps in holm_lists]}))
`;

interface ScipyPaired {
  mean: number;
  signFlip: number;
  t?: number;
  p?: number;
  pLess?: number;
  pGreater?: number;
  ci?: [number, number];
}

/** n accuracies around `level` (2 decimals, like a best test accuracy) from a seeded stream. */
function accuracies(seed: number, n: number, level: number, spread: number): number[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => Math.round((level + spread * (random() - 0.5)) * 100) / 100);
}

/** The candidate: the baseline plus a seeded per-seed effect (correlated pairs, as seeds make them). */
function shifted(base: readonly number[], seed: number, effect: number, spread: number): number[] {
  const random = seededRandom(seed);
  return base.map((x) => Math.round((x + effect + spread * (random() - 0.5)) * 100) / 100);
}

const b3 = accuracies(1, 3, 72, 1);
const b5 = accuracies(2, 5, 91, 2);
const b16 = accuracies(3, 16, 60, 4);
const b18 = accuracies(4, 18, 50, 3);
const CASES: Array<[number[], number[]]> = [
  [b3, shifted(b3, 11, 0.6, 0.4)],
  [
    [72.1, 72.5],
    [72.9, 72.6],
  ], // n = 2
  [b5, shifted(b5, 12, -0.8, 1.0)], // candidate worse
  [b16, shifted(b16, 13, 0.3, 1.5)], // n = 16: all 65,536 flips
  [
    [70, 71, 72, 73, 74],
    [70, 71.5, 72, 73.5, 74],
  ], // ties: three zero differences
  [
    [70, 71, 72],
    [70.5, 71.5, 72.5],
  ], // zero variance of the differences
  [
    [70.1, 70.5, 70.3],
    [71.0, 71.4, 71.2],
  ], // zero variance up to rounding (0.9 in the last bits)
  [b18, shifted(b18, 14, 0.5, 2.0)], // n = 18: Monte Carlo here, exact in scipy
];
const HOLM_LISTS: number[][] = [
  [0.01, 0.04, 0.03, 0.005],
  [0.2, 0.2, 0.01], // ties
  [0.5, 0.6, 0.9], // capped at 1
  [0.03],
  [],
];

function asMap(values: readonly number[], keys = values.map((_, i) => String(i))): Map<string, number> {
  return new Map(values.map((v, i) => [keys[i], v]));
}

const figures = runScipy<{ cases: ScipyPaired[]; holm: number[][] }>(SCIPY_SCRIPT, [CASES, HOLM_LISTS]);
const noScipy = typeof figures === 'string' ? figures : undefined;
const skip = skipUnless('scipy', !noScipy, noScipy);

function checkCase(i: number, r: PairedResult, s: ScipyPaired): void {
  const label = `case ${i} (n=${CASES[i][0].length})`;
  assert.equal(r.n, CASES[i][0].length, label);
  close(r.meanDiff, s.mean, `${label} mean difference`);
  if (r.signFlipExact) close(r.signFlipP, s.signFlip, `${label} sign-flip p`);
  else {
    // Seeded Monte Carlo against scipy's exact value: within four binomial standard errors.
    const tolerance = 4 * Math.sqrt((s.signFlip * (1 - s.signFlip)) / SIGN_FLIP_RESAMPLES) + 1 / SIGN_FLIP_RESAMPLES;
    assert.ok(
      r.signFlipP !== null && Math.abs(r.signFlipP - s.signFlip) <= tolerance,
      `${label} Monte Carlo sign-flip p ${r.signFlipP} vs exact ${s.signFlip}`,
    );
  }
  if (s.t === undefined) {
    assert.equal(r.t, null, `${label}: zero variance has no t`);
    assert.equal(r.tP, null);
    assert.deepEqual(r.ci95, [r.meanDiff, r.meanDiff]);
    assert.equal(pairedOneSidedP(r, 'less'), null);
    return;
  }
  close(r.t, s.t, `${label} paired t`);
  close(r.tP, s.p, `${label} paired t p`);
  close(pairedOneSidedP(r, 'less'), s.pLess, `${label} one-sided p (less)`);
  close(pairedOneSidedP(r, 'greater'), s.pGreater, `${label} one-sided p (greater)`);
  closeInterval(r.ci95, s.ci, `${label} CI of the mean difference`);
}

test('paired t, its CI, one-sided p and the sign-flip p agree with scipy.stats', { skip }, (t) => {
  if (!requireTool(t, 'scipy', !noScipy, noScipy) || typeof figures === 'string') return;
  CASES.forEach(([a, b], i) => {
    const r = pairedCompare(asMap(a), asMap(b));
    assert.ok(r, `case ${i}`);
    checkCase(i, r, figures.cases[i]);
  });
  assert.equal(pairedCompare(asMap(CASES[3][0]), asMap(CASES[3][1]))?.signFlipExact, true, 'n = 16 is enumerated');
  assert.equal(pairedCompare(asMap(CASES[7][0]), asMap(CASES[7][1]))?.signFlipExact, false, 'n = 18 is sampled');
});

test("Holm's correction agrees with the hand-written Python one, keeps the input's order and is monotone", { skip }, (t) => {
  if (!requireTool(t, 'scipy', !noScipy, noScipy) || typeof figures === 'string') return;
  HOLM_LISTS.forEach((ps, i) => {
    const adjusted = holm(ps);
    assert.equal(adjusted.length, ps.length);
    adjusted.forEach((p, j) => close(p, figures.holm[i][j], `list ${i}, p ${j}`, 1e-12));
  });
  // By hand: 0.005 x 4, 0.01 x 3, 0.03 x 2, then 0.04 x 1 raised to the running maximum 0.06.
  holm([0.01, 0.04, 0.03, 0.005]).forEach((p, j) => close(p, [0.03, 0.06, 0.06, 0.02][j], `hand-computed Holm ${j}`, 1e-12));
  assert.throws(() => holm([0.1, Number.NaN]), /\[0, 1\]/);
});

test('pairs are matched by key, not by position; unmatched keys are listed and left out', () => {
  const base = new Map([
    ['r56/0', 72.0],
    ['r56/1', 72.4],
    ['r56/2', 71.8],
    ['r56/3', 72.2],
  ]);
  const cand = new Map([
    ['r56/2', 72.5],
    ['r56/0', 72.6],
    ['r56/1', 72.9],
    ['r56/7', 10],
  ]);
  const r = pairedCompare(base, cand);
  assert.ok(r);
  assert.equal(r.n, 3);
  close(r.meanDiff, (0.6 + 0.5 + 0.7) / 3, 'mean of the matched differences');
  assert.deepEqual(r.unmatched, { baselineOnly: ['r56/3'], candidateOnly: ['r56/7'] });
  assert.equal(pairedCompare(new Map([['0', 1]]), new Map([['1', 2]])), null, 'no shared key');
});

test('n = 1: the difference with a degenerate interval and no p-values', () => {
  const r = pairedCompare(
    new Map([['0', 72.0]]),
    new Map([
      ['0', 72.5],
      ['1', 73],
    ]),
  );
  assert.ok(r);
  assert.equal(r.n, 1);
  assert.deepEqual(r.ci95, [0.5, 0.5]);
  assert.equal(r.tP, null);
  assert.equal(r.signFlipP, null);
  assert.equal(pairedOneSidedP(r, 'greater'), null);
  assert.throws(() => pairedCompare(new Map([['0', Number.NaN]]), new Map([['0', 1]])), /value of 0 must be a finite number/);
});
