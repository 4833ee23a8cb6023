import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PollBackoff } from '../src/runs/poll-backoff';

function backoff() {
  const clock = { t: 0 };
  return { clock, b: new PollBackoff({ minMs: 5_000, maxMs: 60_000, now: () => clock.t }) };
}

test('the delay doubles while nothing changes, capped at the maximum', () => {
  const { b } = backoff();
  assert.deepEqual(
    ['a', 'a', 'a', 'a', 'a', 'a'].map((k) => b.observe(k)),
    [5_000, 10_000, 20_000, 40_000, 60_000, 60_000],
  );
});

test('a change resets the delay to the minimum', () => {
  const { b } = backoff();
  b.observe('a');
  b.observe('a');
  b.observe('a');
  assert.equal(b.observe('b'), 5_000);
  assert.equal(b.observe('b'), 10_000);
});

test('reset() starts over; due() follows the injected clock', () => {
  const { clock, b } = backoff();
  assert.equal(b.due(), true);
  b.observe('a');
  b.observe('a');
  assert.equal(b.due(), false);
  clock.t = 9_999;
  assert.equal(b.due(), false);
  clock.t = 10_000;
  assert.equal(b.due(), true);
  b.reset();
  assert.equal(b.delayMs, 5_000);
  assert.equal(b.due(), true);
  assert.equal(b.observe('a'), 5_000);
});
