import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exportTable, FORMAT_FILES, tableBudgets } from '../src/analysis/table-export';
import { TABLE_FORMATS } from '../src/analysis/results-format';
import { BASELINES, BLANK, record } from './research-records';

test('budgets offered are those with completed runs of the kind', () => {
  const rs = [record({ budget: 'quick' }), record({ budget: 'full' }), record({ budget: 'smoke', status: 'failed' })];
  assert.deepEqual(tableBudgets(rs, 'regularizer'), ['quick', 'full']);
  assert.deepEqual(tableBudgets(rs, 'norm'), []);
});

test('every format has a label, an editor language and an extension', () => {
  for (const f of TABLE_FORMATS) assert.ok(FORMAT_FILES[f].label && FORMAT_FILES[f].language && FORMAT_FILES[f].extension);
});

test('the table is made in the chosen format; mixed budgets are refused with the reason', () => {
  const rs = [70.1, 70.5, 70.3].map((best, seed) => record({ path: BLANK, hash: 'blank', seed, best, budget: 'quick' }));
  const ok = exportTable(rs, 'regularizer', 'quick', 'json', BASELINES);
  assert.ok(ok.ok);
  assert.doesNotThrow(() => JSON.parse(ok.text));
  const md = exportTable(rs, 'regularizer', 'quick', 'md', BASELINES);
  assert.ok(md.ok);
  assert.match(md.text, /\| blank \(baseline\) \| measured here \| 70\.3 ± 0\.2 \(n=3\) \| — \|/);
  const mixed = exportTable([...rs, record({ budget: 'smoke' })], 'regularizer', undefined, 'md', BASELINES);
  assert.equal(mixed.ok, false);
  assert.match(mixed.ok ? '' : mixed.reason, /different budgets/);
});

test("the JSON export holds the table: kind, budget, engine, columns, and each row's mean, sample std, n and difference to the baseline", () => {
  const base = [70.1, 70.5, 70.3].map((best, seed) => record({ path: BLANK, hash: 'blank', seed, best, budget: 'quick' }));
  const mine = [71.0, 71.4, 71.2].map((best, seed) => record({ seed, best, budget: 'quick' }));
  const out = exportTable([...base, ...mine], 'regularizer', 'quick', 'json', BASELINES);
  assert.ok(out.ok, out.ok ? '' : out.reason);
  const t = JSON.parse(out.text) as {
    format: string;
    kind: string;
    budget: string;
    engine: string;
    baselineName: string | null;
    columns: Array<{ bench: string }>;
    rows: Array<{
      name: string;
      baseline: boolean;
      variantHash: string;
      cells: Record<string, { mean: number; std: number; n: number; diff: number | null; best: boolean }>;
    }>;
  };
  assert.equal(t.format, 'regbench-results-table/2');
  assert.deepEqual([t.kind, t.budget, t.engine], ['regularizer', 'quick', 'tfjs']);
  // The kind's benchmarks that are not held out; only ResNet-56/C100 has runs.
  assert.deepEqual(
    t.columns.map((c) => c.bench),
    ['resnet56-cifar100', 'vgg16bn-cifar100'],
  );
  const byHash = new Map(t.rows.map((r) => [r.variantHash, r]));
  assert.deepEqual([...byHash.keys()].sort(), ['blank', 'h1']);
  const b = byHash.get('blank')!.cells['resnet56-cifar100'];
  const v = byHash.get('h1')!.cells['resnet56-cifar100'];
  assert.equal(byHash.get('h1')!.cells['vgg16bn-cifar100'], undefined);
  assert.equal(byHash.get('blank')!.baseline, true);
  assert.equal(byHash.get('h1')!.baseline, false);
  // Sample std of (70.1, 70.5, 70.3) and of (71.0, 71.4, 71.2): 0.2 each.
  assert.ok(Math.abs(b.mean - 70.3) < 1e-9 && Math.abs(b.std - 0.2) < 1e-9 && b.n === 3, JSON.stringify(b));
  assert.ok(Math.abs(v.mean - 71.2) < 1e-9 && Math.abs(v.std - 0.2) < 1e-9 && v.n === 3, JSON.stringify(v));
  assert.ok(v.diff !== null && Math.abs(v.diff - 0.9) < 1e-9, `diff ${v.diff}`);
  assert.equal(v.best, true);
  assert.equal(b.best, false);
});
