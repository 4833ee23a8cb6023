import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunSummary } from '../src/protocol/webview';
import type { RunRecord } from '../src/runs/run-record';
import { hiddenBenchmarks, significanceOf } from '../src/present/dashboard-deps';
import { BASELINES, BLANK, record } from './research-records';

test('a held-out benchmark is hidden while one of its runs has no final evaluation of its source', () => {
  const plain = record({ bench: 'mobilenetv2-fmnist', hash: 'h1' });
  assert.deepEqual([...hiddenBenchmarks([record(), plain])], ['mobilenetv2-fmnist']);
  assert.deepEqual([...hiddenBenchmarks([plain, record({ bench: 'mobilenetv2-fmnist', hash: 'h1', final: true })])], []);
  // A benchmark that is not held out for the variant's kind is never hidden.
  assert.deepEqual([...hiddenBenchmarks([record({ bench: 'resnet110-cifar100' })])], []);
});

test("significance of a cell against the baseline group: paired p, Holm over the benchmark's variants, and the difference; none for the baseline or n=1", () => {
  const base = [70.1, 70.5, 70.3].map((best, seed) => record({ path: BLANK, hash: 'blank', seed, best }));
  const mine = [71.0, 71.6, 71.1].map((best, seed) => record({ seed, best }));
  const single = record({ hash: 'h2', best: 71.0 });
  const all = [...base, ...mine, single];
  let asked = 0;
  const sig = significanceOf(
    () => (asked++, all),
    () => BASELINES,
  );
  const cell = (rs: readonly RunRecord[]) => rs.map((r) => ({ id: r.id }) as RunSummary);
  // scipy.stats.ttest_rel on the seeds 0-2: p = 0.00881; one tested variant, so no Holm.
  const s = sig(cell(mine), 'resnet56-cifar100');
  assert.ok(s);
  assert.equal(s.p.toFixed(5), '0.00881');
  assert.equal(s.diff.toFixed(1), '0.9');
  assert.equal(s.test, 'paired, n=3 seeds');
  assert.equal(s.holmOver, undefined);
  assert.equal(sig(cell(base), 'resnet56-cifar100'), undefined);
  assert.equal(sig(cell([single]), 'resnet56-cifar100'), undefined);
  assert.equal(sig(cell(mine), 'vgg16bn-cifar100'), undefined);
  assert.equal(asked, 4);
});

test('two variants against one baseline: Holm-adjusted p (by hand: 2 x 0.00881, then max(0.0176, 0.0351)); other seeds fall back to Welch', () => {
  const base = [70.1, 70.5, 70.3].map((best, seed) => record({ path: BLANK, hash: 'blank', seed, best }));
  const mine = [71.0, 71.6, 71.1].map((best, seed) => record({ seed, best }));
  const other = [70.4, 70.9, 70.5].map((best, seed) => record({ path: '/ws/variants/other.ts', hash: 'h3', seed, best }));
  const sig = significanceOf(
    () => [...base, ...mine, ...other],
    () => BASELINES,
  );
  const cell = (rs: readonly RunRecord[]) => rs.map((r) => ({ id: r.id }) as RunSummary);
  const a = sig(cell(mine), 'resnet56-cifar100');
  const b = sig(cell(other), 'resnet56-cifar100');
  assert.ok(a && b);
  assert.equal(a.p.toFixed(5), '0.01762');
  assert.equal(a.rawP?.toFixed(5), '0.00881');
  assert.equal(b.p.toFixed(5), '0.03510');
  assert.equal(a.holmOver, 2);
  const shifted = [71.0, 71.6, 71.1].map((best, i) => record({ seed: [0, 1, 5][i], best, hash: 'h4' }));
  const w = significanceOf(
    () => [...base, ...shifted],
    () => BASELINES,
  )(cell(shifted), 'resnet56-cifar100');
  // scipy.stats.ttest_ind(equal_var=False): p = 0.0189.
  assert.equal(w?.test, 'unpaired: seeds differ');
  assert.equal(w?.p.toFixed(4), '0.0189');
});
