/**
 * What the editor's "Slurm Matrices" view shows of the submitted matrices, as data: the rows of a
 * matrix whose runs have all ended (read from the store alone, no scheduler call), labels, what a
 * task can do (Cancel while pending or running; Resume when its run stopped with a checkpoint or
 * because Slurm ended the task), and the key whose changes reset the polling back-off.
 * No `vscode` import.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FINAL_STATUSES } from '../../protocol/events';
import type { RunRecord } from '../run-record';
import { RECONCILED_PREFIX, type TaskRow } from './jobs';
import type { MatrixInfo } from './matrix';

/** Whether `command` is an executable file in one of PATH's folders. */
export function onPath(command: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = (env.PATH ?? '').split(path.delimiter).filter(Boolean);
  return dirs.some((d) => {
    try {
      fs.accessSync(path.join(d, command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function rowOf(m: Pick<MatrixInfo, 'id' | 'jobId'>, i: number, r: RunRecord): TaskRow {
  return {
    matrixId: m.id,
    jobId: m.jobId,
    arrayTaskId: i,
    runId: r.id,
    state: r.status === 'completed' ? 'completed' : r.status === 'cancelled' ? 'cancelled' : 'failed',
    slurmState: '',
    runStatus: r.status,
    lastEpoch: r.epochsCompleted,
    totalEpochs: r.totalEpochs,
    bestTestAcc: r.bestTestAcc,
    reason: r.error?.message ?? r.reason,
  };
}

/**
 * The rows of a matrix from the store alone when every run of it has ended (completed, failed,
 * cancelled, diverged): the scheduler has nothing to add. Undefined while a run is not final
 * (or missing): then `matrixTasks` asks squeue.
 */
export function finishedRows(m: MatrixInfo, get: (runId: string) => RunRecord | undefined): TaskRow[] | undefined {
  const records = m.runIds.map(get);
  if (records.some((r) => r === undefined || !FINAL_STATUSES.includes(r.status))) return undefined;
  return records.map((r, i) => rowOf(m, i, r as RunRecord));
}

/** A row after its run's record changed: progress from the record; the state too once the run is final. */
export function rowWithRecord(row: TaskRow, r: RunRecord): TaskRow {
  const progress = { lastEpoch: r.epochsCompleted, totalEpochs: r.totalEpochs, bestTestAcc: r.bestTestAcc, runStatus: r.status };
  if (!FINAL_STATUSES.includes(r.status)) return { ...row, ...progress };
  return { ...rowOf({ id: row.matrixId, jobId: row.jobId }, row.arrayTaskId, r), slurmState: row.slurmState };
}

export function isUnfinished(row: TaskRow): boolean {
  return row.state === 'pending' || row.state === 'running';
}

export function canCancel(row: TaskRow): boolean {
  return isUnfinished(row);
}

/** A stopped task whose run can continue from its checkpoint when Slurm requeues it. */
export function canResume(row: TaskRow): boolean {
  if (isUnfinished(row)) return false;
  return row.runStatus === 'interrupted' || (row.runStatus === 'failed' && (row.reason ?? '').startsWith(RECONCILED_PREFIX));
}

/** Changes when any task's state or progress changes (resets the polling back-off). */
export function rowsKey(rows: readonly TaskRow[]): string {
  return rows.map((r) => `${r.jobId}_${r.arrayTaskId}:${r.state}:${r.lastEpoch}`).join(',');
}

/** "3 running, 1 pending, 2 completed" in a fixed order of states. */
export function matrixSummary(rows: readonly TaskRow[]): string {
  const order = ['running', 'pending', 'completed', 'failed', 'timeout', 'node_fail', 'cancelled'] as const;
  return order
    .map((s) => [s, rows.filter((r) => r.state === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s.replace('_', ' ')}`)
    .join(', ');
}

/** A task's description: "running · epoch 3/30 · best 61.20%" (the reason's first line when failed). */
export function taskDescription(row: TaskRow): string {
  const parts: string[] = [row.state.replace('_', ' ')];
  if (row.totalEpochs > 0) parts.push(`epoch ${row.lastEpoch}/${row.totalEpochs}`);
  if (row.bestTestAcc !== null) parts.push(`best ${row.bestTestAcc.toFixed(2)}%`);
  if ((row.state === 'failed' || row.state === 'timeout' || row.state === 'node_fail') && row.reason) parts.push(row.reason.split('\n')[0]);
  return parts.join(' · ');
}

/** The matrix's label: "job 1234 · confidence-penalty.ts · 6 tasks". */
export function matrixLabel(m: MatrixInfo): string {
  return `job ${m.jobId} · ${path.basename(m.variantPath)} · ${m.runIds.length} task${m.runIds.length === 1 ? '' : 's'}`;
}
