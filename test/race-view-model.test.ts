/**
 * The Race view payload (src/present/race-view-model.ts) from a race record: each entrant's state
 * per rung, drop rules with their p, leaders, the final ranking, taus, compute, the notification
 * texts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isHostToWebviewMessage } from '../src/protocol/webview';
import { computeText, finishedRungs, raceEndNotification, raceView, rungNotification } from '../src/present/race-view-model';
import { raceFixture } from './fixtures/race-record';

const states = (view: ReturnType<typeof raceView>) => Object.fromEntries(view.entrants.map((e) => [e.id, e.cells.map((c) => c.state).join(' ')]));

test('live race: rung 1 done (one dropped, one failed), rung 2 running, rung 3 pending', () => {
  const v = raceView(raceFixture('live'));
  assert.deepEqual(states(v), {
    baseline: 'baseline baseline pending',
    c1: 'advanced running pending',
    c2: 'advanced running pending',
    c3: 'dropped out out',
    c4: 'failed out out',
  });
  const c3 = v.entrants.find((e) => e.id === 'c3');
  assert.equal(c3?.cells[0].note, 'worse than the baseline (p = 0.004, level 0.025)');
  assert.equal(v.entrants.find((e) => e.id === 'c4')?.cells[0].note, 'failed: variants/broken.ts:3: syntax error');
  assert.equal(v.leader, 'c1');
  assert.equal(v.entrants.find((e) => e.id === 'c1')?.cells[0].leader, true);
  // Means over finished cells: c1 at rung 1 = 41.5 + (0 + 0.3) / 2.
  const c1 = v.entrants.find((e) => e.id === 'c1');
  assert.equal(c1?.cells[0].mean, 41.65);
  assert.deepEqual([c1?.cells[0].done, c1?.cells[0].total, c1?.cells[1].done, c1?.cells[1].total], [2, 2, 0, 3]);
  assert.equal(c1?.cells[0].diff, 1.65);
  assert.deepEqual(v.ranking, []);
  assert.equal(v.compute, null);
  assert.equal(v.rungs[1].title, 'Rung 2 · quick:epochs=2 · 2 epochs · seeds 0,1,2 · ResNet-20/C10');
  assert.match(v.title, /^4 candidates vs blank \(baseline\) · ResNet-20\/C10, ResNet-56\/C100 · smoke → quick:epochs=2 · alpha 0.05$/);
  assert.ok(isHostToWebviewMessage({ type: 'race', payload: { race: v } }));
});

test('finished race: c2 out at rung 2 against the leader, final ranking, taus and compute', () => {
  const v = raceView(raceFixture('done'));
  assert.deepEqual(states(v), {
    baseline: 'baseline baseline baseline',
    c1: 'advanced advanced advanced',
    c2: 'advanced dropped out',
    c3: 'dropped out out',
    c4: 'failed out out',
  });
  assert.equal(v.entrants.find((e) => e.id === 'c2')?.cells[1].note, 'worse than the leader conf (p = 0.020, level 0.0125)');
  assert.deepEqual(v.ranking, [{ rank: 1, candidate: 'c1', label: 'conf', reached: 'rung 3', n: 6, diff: 1.55, ci95: [0.9, 2.2], p: 0.97 }]);
  assert.deepEqual(v.taus, [
    { label: 'rung 1 → 2', tau: 1, n: 2 },
    { label: 'rung 2 → 3', tau: null, n: 1 },
  ]);
  assert.equal(computeText(raceFixture('done')), '27 runs (+2 reused), 0.9 h; exhaustive: 30 runs, 2.4 h; the race used 38% of it');
});

test('one notification per finished rung, and a final one with the ranking', () => {
  const live = raceFixture('live');
  const done = raceFixture('done');
  assert.deepEqual(
    finishedRungs(undefined, live).map((r) => r.index),
    [0],
  );
  assert.deepEqual(finishedRungs(live, live), []);
  const now = finishedRungs(live, done);
  assert.deepEqual(
    now.map((r) => r.index),
    [1, 2],
  );
  assert.equal(
    rungNotification(done, done.rungs[0]),
    'Race race-20261207-1, rung 1 done: 2 advance (leader conf +1.65), 2 out: bad-idea worse than the baseline (p = 0.004, level 0.025); broken failed: variants/broken.ts:3: syntax error',
  );
  assert.equal(
    rungNotification(done, done.rungs[1]),
    'Race race-20261207-1, rung 2 done: 1 advance (leader conf +1.60), 1 out: ortho worse than the leader conf (p = 0.020, level 0.0125)',
  );
  assert.equal(raceEndNotification(done), 'Race race-20261207-1 completed: 1. conf +1.55 (p = 0.970)');
  assert.equal(raceEndNotification({ ...live, status: 'cancelled', reason: 'cancelled by the user' }), 'Race race-20261207-1 cancelled: cancelled by the user');
});
