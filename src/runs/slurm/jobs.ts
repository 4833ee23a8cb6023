/**
 * The tasks of submitted matrices, reconciled with the run store: the store's record is the truth
 * for a finished run; the scheduler's state (squeue) for a run still queued or running. A task that
 * Slurm says has ended while its run is not final (killed, node failure, time limit without a
 * checkpoint, purged from the controller) marks the run failed with the reason and its output's tail.
 */
import { FINAL_STATUSES, type RunStatus } from '../../protocol/events';
import type { RunStore } from '../run-store';
import { syntheticRunEnd, type RunRecord } from '../run-record';
import { scancel, type SlurmClientOptions } from './client';
import { damageText } from '../json-file';
import { squeueArray, type SlurmTask, type TaskState } from './job-state';
import { listMatrices, taskOutputTail, type MatrixInfo } from './matrix';

/**
 * Starts the reason of a run ended here because Slurm said its task had ended: if that task is
 * requeued later (by hand or by Slurm), `regbench task` continues the run instead of skipping it.
 */
export const RECONCILED_PREFIX = 'Slurm task';

export interface TaskRow {
  matrixId: string;
  jobId: string;
  arrayTaskId: number;
  runId: string;
  state: TaskState;
  /** The scheduler's word (PENDING, RUNNING, ...), or '' when it no longer knows the task. */
  slurmState: string;
  runStatus: RunStatus | 'missing';
  /** 1-based last completed epoch (0: none yet). */
  lastEpoch: number;
  totalEpochs: number;
  bestTestAcc: number | null;
  reason?: string;
}

function stateOfRecord(r: RunRecord): TaskState {
  if (r.status === 'completed') return 'completed';
  if (r.status === 'cancelled') return 'cancelled';
  return 'failed';
}

function endRun(store: RunStore, r: RunRecord, status: 'failed' | 'cancelled', reason: string): RunRecord {
  return store.append(r.id, syntheticRunEnd(r, status, reason));
}

/** A run not final whose task Slurm reports as ended (or forgot) is ended in the store too. */
function reconcileRun(store: RunStore, m: MatrixInfo, i: number, r: RunRecord, t: SlurmTask | undefined): RunRecord {
  if (FINAL_STATUSES.includes(r.status)) return r;
  // A run submitted again in a later matrix (a race continuing it) is that matrix's to reconcile.
  if (r.executor && r.executor.matrixId !== m.id) return r;
  if (t && (t.state === 'pending' || t.state === 'running')) return r;
  // TIMEOUT after a checkpoint leaves the run interrupted: `regbench resume` can continue it.
  if (t?.state === 'timeout' && r.status === 'interrupted') return r;
  const tail = taskOutputTail(store, m.id, i);
  if (t?.state === 'cancelled') return endRun(store, r, 'cancelled', `Slurm task ${m.jobId}_${i} was cancelled`);
  const what = t ? `ended ${t.slurmState}${t.reason && t.reason !== 'None' ? ` (${t.reason})` : ''}` : 'is no longer known to the Slurm controller';
  return endRun(store, r, 'failed', `${RECONCILED_PREFIX} ${m.jobId}_${i} ${what} before its run ended${tail ? `; last output:\n${tail}` : ''}`);
}

export async function matrixTasks(store: RunStore, m: MatrixInfo, opts: SlurmClientOptions = {}): Promise<TaskRow[]> {
  const tasks = await squeueArray(m.jobId, opts);
  return m.runIds.map((runId, i) => {
    const t = tasks.find((x) => x.arrayTaskId === i);
    const read = store.read(runId);
    let r = read.ok ? read.record : undefined;
    if (r) r = reconcileRun(store, m, i, r, t);
    // A damaged record is not ended here (its status is unknown): the row says why it is missing.
    const damaged = !read.ok && 'damaged' in read ? `${damageText(read.damaged.damage)}; regbench repair rebuilds it` : undefined;
    const final = r !== undefined && FINAL_STATUSES.includes(r.status);
    return {
      matrixId: m.id,
      jobId: m.jobId,
      arrayTaskId: i,
      runId,
      state: r && final ? stateOfRecord(r) : (t?.state ?? 'failed'),
      slurmState: t?.slurmState ?? '',
      runStatus: r?.status ?? 'missing',
      lastEpoch: r?.epochsCompleted ?? 0,
      totalEpochs: r?.totalEpochs ?? 0,
      bestTestAcc: r?.bestTestAcc ?? null,
      reason: damaged ?? r?.error?.message ?? r?.reason,
    };
  });
}

/** Every task of every matrix (or of the one with this job id). */
export async function allTasks(store: RunStore, opts: SlurmClientOptions = {}, jobId?: string): Promise<TaskRow[]> {
  const rows: TaskRow[] = [];
  for (const m of listMatrices(store)) {
    if (jobId && m.jobId !== jobId) continue;
    rows.push(...(await matrixTasks(store, m, opts)));
  }
  return rows;
}

/** What `regbench cancel <job|run>` names: a whole array, or one run's array task. */
export function cancelTargets(store: RunStore, target: string): { matrix: MatrixInfo; tasks: number[] } {
  const matrices = listMatrices(store);
  const whole = matrices.find((m) => m.jobId === target);
  if (whole) return { matrix: whole, tasks: whole.runIds.map((_, i) => i) };
  const hits = matrices
    .flatMap((m) => m.runIds.map((id, i) => ({ m, id, i })))
    .filter((h) => h.id === target || h.id.startsWith(target) || h.id.endsWith(target));
  if (hits.length === 1) return { matrix: hits[0].m, tasks: [hits[0].i] };
  throw new Error(
    hits.length ? `'${target}' matches ${hits.length} runs; give more of the id` : `'${target}' is neither a submitted job id nor a run of a Slurm matrix`,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * scancel, then wait (up to `waitMs`) until the tasks have stopped, so that a task's own last word
 * cannot come after ours. Then every run that is not final, or that ended after the scancel
 * (interrupted after its checkpoint, or its worker killed by the TERM Slurm sent) is marked
 * cancelled: the user's cancel is why it stopped.
 */
export async function cancelTasks(store: RunStore, target: string, opts: SlurmClientOptions & { waitMs?: number } = {}): Promise<RunRecord[]> {
  const { matrix, tasks } = cancelTargets(store, target);
  const ids = tasks.length === matrix.runIds.length ? [matrix.jobId] : tasks.map((i) => `${matrix.jobId}_${i}`);
  const cancelledAt = new Date().toISOString();
  await scancel(ids, opts);
  const deadline = Date.now() + (opts.waitMs ?? 30_000);
  while (Date.now() < deadline) {
    const live = (await squeueArray(matrix.jobId, opts)).filter((t) => tasks.includes(t.arrayTaskId) && t.state === 'running');
    if (!live.length) break;
    await sleep(500);
  }
  const out: RunRecord[] = [];
  for (const i of tasks) {
    const r = store.get(matrix.runIds[i]);
    if (!r) continue;
    const endedBefore = FINAL_STATUSES.includes(r.status) && (r.status === 'completed' || (r.endedAt ?? '') < cancelledAt);
    out.push(endedBefore ? r : endRun(store, r, 'cancelled', `cancelled with regbench cancel (scancel ${ids.join(' ')})`));
  }
  return out;
}
