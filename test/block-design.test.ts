/**
 * src/analysis/block-design.ts against an independent computation in Python: the additive
 * two-way model fitted by least squares on dummy variables (numpy.linalg.lstsq), its residual
 * mean square and degrees of freedom, and each contrast's t, one-sided p and 95% interval from
 * scipy.stats.t. With two entrants the design is exactly the paired t test (scipy's ttest_rel).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockContrast, blockResidual, contrastOneSidedP } from '../src/analysis/block-design';
import { seededRandom } from '../src/analysis/statistics';
import { close, closeInterval, runScipy } from './scipy';
import { requireTool, skipUnless } from './requirements';

const SCIPY_SCRIPT = String.raw`
import json, sys
import numpy as np
from scipy import stats
out = []
for table in json.load(sys.stdin):
    y = np.array(table, dtype=float); k, n = y.shape
    rows = []
    for i in range(k):
        for j in range(n):
            x = np.zeros(1 + (k - 1) + (n - 1)); x[0] = 1
            if i > 0: x[i] = 1
            if j > 0: x[k - 1 + j] = 1
            rows.append(x)
    X = np.array(rows); obs = y.reshape(-1)
    beta = np.linalg.lstsq(X, obs, rcond=None)[0]
    df = k * n - X.shape[1]
    mse = float(((obs - X @ beta) ** 2).sum() / df)
    se = np.sqrt(2 * mse / n)
    contrasts = []
    for i in range(1, k):
        d = float((y[i] - y[0]).mean()); t = d / se
        contrasts.append({'d': d, 't': t, 'pLess': float(stats.t.cdf(t, df)),
                          'ci': list(stats.t.interval(0.95, df, loc=d, scale=se))})
    r = {'mse': mse, 'df': df, 'contrasts': contrasts}
    if k == 2: r['ttestRel'] = float(stats.ttest_rel(y[1], y[0], alternative='less').pvalue)
    out.append(r)
print(json.dumps(out))
`;

interface ScipyBlock {
  mse: number;
  df: number;
  contrasts: Array<{ d: number; t: number; pLess: number; ci: [number, number] }>;
  ttestRel?: number;
}

/** k entrants x n cells: a shared cell effect, an entrant effect, run noise (2-decimal accuracies). */
function table(seed: number, k: number, n: number): number[][] {
  const r = seededRandom(seed);
  const cell = Array.from({ length: n }, () => 4 * (r() - 0.5));
  return Array.from({ length: k }, (_, i) => cell.map((c) => Math.round((70 + c + (i % 3) * 0.4 - i * 0.1 + (r() - 0.5)) * 100) / 100));
}

const TABLES = [table(1, 2, 3), table(2, 3, 2), table(3, 7, 2), table(4, 7, 3), table(5, 4, 6)];
const figures = runScipy<ScipyBlock[]>(SCIPY_SCRIPT, TABLES);
const noScipy = typeof figures === 'string' ? figures : undefined;
const skip = skipUnless('scipy', !noScipy, noScipy);

const asMap = (row: readonly number[], keys = row.map((_, j) => `b/${j}`)): Map<string, number> => new Map(row.map((v, j) => [keys[j], v]));

test('the pooled residual variance, its degrees of freedom and every contrast agree with a least-squares fit and scipy.stats.t', { skip }, (t) => {
  if (!requireTool(t, 'scipy', !noScipy, noScipy) || typeof figures === 'string') return;
  TABLES.forEach((y, i) => {
    const label = `table ${i} (${y.length} entrants x ${y[0].length} cells)`;
    const model = blockResidual(y.map((row) => asMap(row)));
    assert.ok(model, label);
    assert.equal(model.df, figures[i].df, `${label} df`);
    close(model.mse, figures[i].mse, `${label} residual mean square`, 1e-8);
    figures[i].contrasts.forEach((s, c) => {
      const r = blockContrast(asMap(y[0]), asMap(y[c + 1]), model);
      assert.ok(r && r.t !== null, `${label} contrast ${c + 1}`);
      close(r.meanDiff, s.d, `${label} contrast ${c + 1} mean`, 1e-9);
      close(r.t, s.t, `${label} contrast ${c + 1} t`, 1e-8);
      close(contrastOneSidedP(r, 'less'), s.pLess, `${label} contrast ${c + 1} one-sided p`, 1e-8);
      closeInterval(r.ci95, s.ci, `${label} contrast ${c + 1} CI`);
    });
    if (figures[i].ttestRel !== undefined) {
      const r = blockContrast(asMap(y[0]), asMap(y[1]), model);
      assert.ok(r);
      close(contrastOneSidedP(r, 'less'), figures[i].ttestRel, `${label}: two entrants are the paired t test`, 1e-8);
    }
  });
});

test('only cells every entrant has take part; fewer than two such cells or two entrants give no model', () => {
  const a = new Map([
    ['r20/0', 70],
    ['r20/1', 72],
    ['r20/2', 71],
    ['r56/0', 60],
  ]);
  const b = new Map([
    ['r20/0', 69],
    ['r20/1', 71.5],
    ['r20/2', 70.2],
  ]);
  const c = new Map([
    ['r20/0', 70.5],
    ['r20/1', 72.1],
    ['r20/2', 71.4],
    ['r56/0', 61],
  ]);
  const model = blockResidual([a, b, c]);
  assert.deepEqual(model?.cells, ['r20/0', 'r20/1', 'r20/2']);
  assert.equal(model?.df, 4);
  assert.equal(blockResidual([a, new Map([['r20/0', 1]])]), null, 'one shared cell');
  assert.equal(blockResidual([a]), null, 'one entrant');
  assert.equal(blockContrast(a, new Map([['r20/0', 1]]), model as NonNullable<typeof model>), null, 'a candidate without the model cells');
  assert.throws(
    () =>
      blockResidual([
        a,
        new Map([
          ['r20/0', Number.NaN],
          ['r20/1', 1],
        ]),
      ]),
    /finite/,
  );
});

test('an exactly additive table (no noise) has zero residual variance and no t statistic', () => {
  const base = new Map([
    ['0', 70],
    ['1', 72],
    ['2', 71],
  ]);
  const shifted = (d: number) => new Map([...base].map(([k, v]) => [k, v + d]));
  const model = blockResidual([base, shifted(-1), shifted(0.5)]);
  assert.equal(model?.mse, 0);
  const r = blockContrast(base, shifted(-1), model as NonNullable<typeof model>);
  assert.equal(r?.t, null);
  assert.equal(r?.meanDiff, -1);
  assert.deepEqual(r?.ci95, [-1, -1]);
});
