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
  const mixed = exportTable([...rs, record({ budget: 'smoke' })], 'regularizer', undefined, 'md', BASELINES);
  assert.equal(mixed.ok, false);
  assert.match(mixed.ok ? '' : mixed.reason, /different budgets/);
});
