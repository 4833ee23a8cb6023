import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rerunCommandOf } from '../src/present/rerun-text';
import { record } from './research-records';

test('the recorded command is copied as is; without one the reason names regbench rerun', () => {
  assert.deepEqual(rerunCommandOf(record({ command: 'regbench run v.ts --bench resnet56-cifar100 --seed 0 --budget quick ' })), {
    ok: true,
    command: 'regbench run v.ts --bench resnet56-cifar100 --seed 0 --budget quick',
  });
  const none = rerunCommandOf(record());
  assert.equal(none.ok, false);
  assert.match(none.ok ? '' : none.reason, /regbench rerun /);
});
