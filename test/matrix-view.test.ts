import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TaskRow } from '../src/runs/slurm/jobs';
import type { MatrixInfo } from '../src/runs/slurm/matrix';
import { canCancel, canResume, finishedRows, matrixLabel, matrixSummary, onPath, rowsKey, taskDescription } from '../src/runs/slurm/matrix-view';
import { record } from './research-records';

const MATRIX: MatrixInfo = { id: 'm1', jobId: '42', createdAt: '', variantPath: '/ws/v/cp.ts', runIds: ['a', 'b'], options: {} };

function row(o: Partial<TaskRow> = {}): TaskRow {
  return {
    matrixId: 'm1',
    jobId: '42',
    arrayTaskId: 0,
    runId: 'a',
    state: 'running',
    slurmState: 'RUNNING',
    runStatus: 'running',
    lastEpoch: 3,
    totalEpochs: 30,
    bestTestAcc: 61.2,
    ...o,
  };
}

test('a matrix whose runs have all ended is read from the store alone; otherwise squeue is needed', () => {
  const done = { a: record({ best: 70 }), b: record({ status: 'cancelled', best: null }) };
  const rows = finishedRows(MATRIX, (id) => done[id as 'a' | 'b']);
  assert.deepEqual(
    rows?.map((r) => [r.jobId, r.arrayTaskId, r.state]),
    [
      ['42', 0, 'completed'],
      ['42', 1, 'cancelled'],
    ],
  );
  assert.equal(
    finishedRows(MATRIX, (id) => (id === 'a' ? done.a : record({ status: 'running' }))),
    undefined,
  );
  assert.equal(
    finishedRows(MATRIX, (id) => (id === 'a' ? done.a : undefined)),
    undefined,
  );
});

test('Cancel while pending or running; Resume after a checkpointed stop or a task Slurm ended', () => {
  assert.equal(canCancel(row()), true);
  assert.equal(canCancel(row({ state: 'completed', runStatus: 'completed' })), false);
  assert.equal(canResume(row({ state: 'timeout', runStatus: 'interrupted' })), true);
  assert.equal(canResume(row({ state: 'node_fail', runStatus: 'failed', reason: 'Slurm task 42_0 ended NODE_FAIL before its run ended' })), true);
  assert.equal(canResume(row({ state: 'failed', runStatus: 'failed', reason: 'NaN loss' })), false);
  assert.equal(canResume(row({ state: 'cancelled', runStatus: 'cancelled' })), false);
  assert.equal(canResume(row()), false);
});

test('labels, summaries and the change key', () => {
  assert.equal(taskDescription(row()), 'running · epoch 3/30 · best 61.20%');
  assert.equal(taskDescription(row({ state: 'node_fail', bestTestAcc: null, reason: 'lost node\nmore' })), 'node fail · epoch 3/30 · lost node');
  assert.equal(matrixSummary([row(), row({ state: 'pending' }), row({ state: 'running' })]), '2 running, 1 pending');
  assert.equal(matrixLabel(MATRIX), 'job 42 · cp.ts · 2 tasks');
  assert.notEqual(rowsKey([row()]), rowsKey([row({ lastEpoch: 4 })]));
  assert.equal(rowsKey([row()]), rowsKey([row({ bestTestAcc: 70 })]));
});

test('onPath finds executables in PATH only', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-path-'));
  fs.writeFileSync(path.join(dir, 'sbatch'), '#!/bin/sh\n', { mode: 0o755 });
  assert.equal(onPath('sbatch', { PATH: dir }), true);
  assert.equal(onPath('sbatch', { PATH: '' }), false);
  fs.rmSync(dir, { recursive: true });
});
