import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RunSummary } from '../src/protocol/webview';
import { hiddenBenchmarks, significanceOf } from '../src/present/dashboard-deps';
import { BASELINES, BLANK, record } from './research-records';

test('a held-out benchmark is hidden while one of its runs has no final evaluation of its source', () => {
  const plain = record({ bench: 'mobilenetv2-fmnist', hash: 'h1' });
  assert.deepEqual([...hiddenBenchmarks([record(), plain])], ['mobilenetv2-fmnist']);
  assert.deepEqual([...hiddenBenchmarks([plain, record({ bench: 'mobilenetv2-fmnist', hash: 'h1', final: true })])], []);
  // A benchmark that is not held out for the variant's kind is never hidden.
  assert.deepEqual([...hiddenBenchmarks([record({ bench: 'resnet110-cifar100' })])], []);
});

test('significance of a cell against the baseline group: Welch p and the difference; none for the baseline or n=1', () => {
  const base = [70.1, 70.5, 70.3].map((best, seed) => record({ path: BLANK, hash: 'blank', seed, best }));
  const mine = [71.0, 71.4, 71.2].map((best, seed) => record({ seed, best }));
  const single = record({ hash: 'h2', best: 71.0 });
  const all = [...base, ...mine, single];
  let asked = 0;
  const sig = significanceOf(() => (asked++, all), () => BASELINES);
  const cell = (rs: typeof mine) => rs.map((r) => ({ id: r.id }) as RunSummary);
  const s = sig(cell(mine), 'resnet56-cifar100');
  assert.ok(s);
  assert.equal(s.p.toFixed(3), '0.005');
  assert.equal(s.diff.toFixed(1), '0.9');
  assert.equal(sig(cell(base), 'resnet56-cifar100'), undefined);
  assert.equal(sig(cell([single]), 'resnet56-cifar100'), undefined);
  assert.equal(sig(cell(mine), 'vgg16bn-cifar100'), undefined);
  assert.equal(asked, 4);
});
