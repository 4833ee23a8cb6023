import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunRecord } from '../src/runs/run-record';
import type { RunStore } from '../src/runs/run-store';
import type { TaskRow } from '../src/runs/slurm/jobs';
import type { MatrixInfo } from '../src/runs/slurm/matrix';
import { MatrixPoller, type PollerClock } from '../src/runs/slurm/matrix-poller';
import { record } from './research-records';

const MATRIX: MatrixInfo = { id: '20261202-030000-ab12', jobId: '42', createdAt: '', variantPath: '/ws/v/cp.ts', runIds: ['run-a'], options: {} };

/** A store with one matrix on disk and records from `records`. */
function fakeStore(records: Record<string, RunRecord>): RunStore {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-poller-'));
  fs.mkdirSync(path.join(root, 'matrices', MATRIX.id), { recursive: true });
  fs.writeFileSync(path.join(root, 'matrices', MATRIX.id, 'matrix.json'), JSON.stringify(MATRIX));
  // Only what the poller reads: the store's folder and its records.
  return { root, get: (id: string) => records[id] } as unknown as RunStore;
}

function fakeClock() {
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const clock: PollerClock & { t: number } = {
    t: 0,
    now: () => clock.t,
    setTimer: (fn, ms) => (timers.push({ fn, ms }), timers.length),
    clearTimer: () => undefined,
  };
  return { clock, timers };
}

function row(state: TaskRow['state'], lastEpoch = 1): TaskRow {
  return {
    matrixId: MATRIX.id,
    jobId: '42',
    arrayTaskId: 0,
    runId: 'run-a',
    state,
    slurmState: state.toUpperCase(),
    runStatus: 'running',
    lastEpoch,
    totalEpochs: 5,
    bestTestAcc: null,
  };
}

test('polls every 5 s doubling to 60 s while a task runs unchanged, back to 5 s on a change, and stops when it ends', async () => {
  const { clock, timers } = fakeClock();
  let answer = [row('running')];
  let asked = 0;
  const poller = new MatrixPoller({ store: fakeStore({}), changed: () => undefined, visible: () => true, clock, tasks: async () => (asked++, answer) });
  await poller.poll();
  for (let i = 0; i < 5; i++) await poller.poll();
  assert.deepEqual(
    timers.map((t) => t.ms),
    [5_000, 10_000, 20_000, 40_000, 60_000, 60_000],
  );
  answer = [row('running', 2)];
  await poller.poll();
  assert.equal(timers.at(-1)?.ms, 5_000);
  answer = [row('completed', 5)];
  await poller.poll();
  assert.equal(poller.scheduled, false, 'no timer once nothing is pending or running');
  assert.equal(asked, 8);
});

test('a matrix whose runs all ended in the store asks no scheduler and sets no timer', async () => {
  const { clock, timers } = fakeClock();
  let asked = 0;
  let answer = [row('completed')];
  const poller = new MatrixPoller({
    store: fakeStore({ 'run-a': record({ status: 'failed' }) }),
    changed: () => undefined,
    visible: () => true,
    clock,
    tasks: async () => (asked++, answer),
  });
  await poller.poll();
  assert.equal(asked, 0);
  assert.equal(timers.length, 0);
  assert.equal(poller.matrices[0].rows[0].state, 'failed');
  // Resumed: asked through the scheduler, and polled while the requeue is not visible yet.
  poller.kick(MATRIX.id);
  await poller.poll();
  assert.equal(asked, 1);
  assert.equal(poller.scheduled, true);
  // Once the scheduler lists the task again, the usual rule applies: no timer after it ends.
  answer = [row('pending')];
  await poller.poll();
  answer = [row('completed')];
  await poller.poll();
  assert.equal(poller.scheduled, false);
});

test('no timer while the view is hidden; a scheduler error keeps the rows and says why', async () => {
  const { clock, timers } = fakeClock();
  let fail = false;
  let visible = false;
  const poller = new MatrixPoller({
    store: fakeStore({}),
    changed: () => undefined,
    visible: () => visible,
    clock,
    tasks: async () => {
      if (fail) throw new Error('squeue did not answer within 15 s: is the Slurm controller reachable?');
      return [row('pending')];
    },
  });
  await poller.poll();
  assert.equal(timers.length, 0);
  visible = true;
  fail = true;
  await poller.poll();
  assert.equal(poller.matrices[0].rows[0].state, 'pending');
  assert.match(poller.matrices[0].error ?? '', /controller reachable/);
  assert.equal(poller.scheduled, true);
});

test('a run record that changes updates its row; a final one ends the row', async () => {
  const { clock } = fakeClock();
  const poller = new MatrixPoller({ store: fakeStore({}), changed: () => undefined, visible: () => true, clock, tasks: async () => [row('running')] });
  await poller.poll();
  const r = { ...record({ status: 'running', best: 40 }), id: 'run-a', epochsCompleted: 3 };
  assert.equal(poller.onRecord(r), true);
  assert.equal(poller.matrices[0].rows[0].lastEpoch, 3);
  assert.equal(poller.matrices[0].rows[0].state, 'running');
  assert.equal(poller.onRecord({ ...r, status: 'completed' }), true);
  assert.equal(poller.matrices[0].rows[0].state, 'completed');
  assert.equal(poller.onRecord({ ...r, id: 'other' }), false);
});
