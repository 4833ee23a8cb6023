/**
 * What one array task runs on a node (`regbench task <run-id>`): the run through the ordinary
 * runner with `resume: true` (it continues from its own checkpoint when there is one). USR1/TERM
 * are forwarded to the worker's process group so that it checkpoints and ends as interrupted.
 * Exit codes: 0 completed, 3 interrupted (the batch script may requeue), 1 otherwise.
 */
import * as os from 'node:os';
import { RunHandle } from '../runner';
import { FINAL_STATUSES, type RunEvent } from '../../protocol/events';
import type { RunStore } from '../run-store';
import type { RunRecord, SlurmExecutor } from '../run-record';
import { RECONCILED_PREFIX } from './jobs';

export const TASK_EXIT = { completed: 0, failed: 1, interrupted: 3 } as const;

export interface TaskOptions {
  store: RunStore;
  env?: NodeJS.ProcessEnv;
  python?: string;
  /** Where progress lines go (the task's Slurm output). */
  log?: (line: string) => void;
}

function exitCodeFor(r: RunRecord): number {
  if (r.status === 'completed') return TASK_EXIT.completed;
  if (r.status === 'interrupted') return TASK_EXIT.interrupted;
  return TASK_EXIT.failed;
}

/** Notes this segment (host, restart, job ids from Slurm's environment) in the record. */
function recordSegment(store: RunStore, r: RunRecord, env: NodeJS.ProcessEnv): void {
  const prev: SlurmExecutor = r.executor ?? { kind: 'slurm', matrixId: '', arrayTaskId: Number(env.SLURM_ARRAY_TASK_ID ?? 0) };
  const segment = { host: os.hostname(), startedAt: new Date().toISOString(), restart: Number(env.SLURM_RESTART_COUNT ?? 0), slurmJobId: env.SLURM_JOB_ID };
  store.setExecutor(r.id, { ...prev, jobId: prev.jobId ?? env.SLURM_ARRAY_JOB_ID, segments: [...(prev.segments ?? []), segment] });
}

function describe(e: RunEvent): string | undefined {
  if (e.type === 'run-start') return `run-start${e.resumedFrom ? ` (resumed from epoch ${e.resumedFrom.epoch + 1}, step ${e.resumedFrom.step})` : ''}`;
  if (e.type === 'epoch')
    return `epoch ${e.epoch + 1}/${e.totalEpochs}: test ${e.testAcc.toFixed(2)}%, best ${e.bestTestAcc.toFixed(2)}%, ${e.seconds.toFixed(1)} s`;
  if (e.type === 'checkpoint') return `checkpoint at epoch ${e.epoch + 1}, step ${e.step}`;
  if (e.type === 'error') return `error (${e.kind}): ${e.message}`;
  if (e.type === 'run-end') return `run-end: ${e.status}${e.reason ? ` (${e.reason})` : ''}`;
  return undefined;
}

/** Sends a signal to the worker's process group (it is spawned detached: pgid = pid). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

export async function runSlurmTask(runId: string, opts: TaskOptions): Promise<number> {
  const log = opts.log ?? ((l: string) => process.stdout.write(l + '\n'));
  const env = opts.env ?? process.env;
  const record = opts.store.get(runId);
  if (!record) {
    log(`regbench task: no run '${runId}' in ${opts.store.runsDir}`);
    return TASK_EXIT.failed;
  }
  const endedByJobs = record.status === 'failed' && (record.reason ?? '').startsWith(RECONCILED_PREFIX);
  if (FINAL_STATUSES.includes(record.status) && !endedByJobs) {
    // A requeued task whose run already ended (e.g. the whole array was requeued): nothing to do.
    log(`regbench task: run ${runId} is already ${record.status}; nothing to do`);
    return exitCodeFor(record);
  }
  recordSegment(opts.store, record, env);
  const handle = new RunHandle(record.spec, { store: opts.store, env, python: opts.python, resume: true, onStderr: (l) => log(`  ${l}`) });
  let workerPid: number | undefined;
  let pending: NodeJS.Signals | undefined;
  handle.onEvent((e) => {
    if (e.type === 'hello') {
      workerPid = e.pid;
      if (pending) signalGroup(workerPid, pending);
    }
    const line = describe(e);
    if (line) log(`regbench task: ${line}`);
  });
  const forward = (signal: NodeJS.Signals) => () => {
    log(`regbench task: ${signal} received; asking the worker to checkpoint and stop`);
    pending = signal;
    if (workerPid !== undefined) signalGroup(workerPid, signal);
  };
  const onUsr1 = forward('SIGUSR1');
  const onTerm = forward('SIGTERM');
  process.on('SIGUSR1', onUsr1);
  process.on('SIGTERM', onTerm);
  try {
    await handle.start();
    const done = await handle.done;
    return exitCodeFor(done);
  } finally {
    process.off('SIGUSR1', onUsr1);
    process.off('SIGTERM', onTerm);
  }
}
