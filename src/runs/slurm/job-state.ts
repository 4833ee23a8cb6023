/**
 * Reading a job array's state from the controller: `squeue -h -t all -r -j J -o ...` (one line per
 * array task, pending ones included thanks to -r) and `scontrol -o show job J` (restarts, exit
 * codes). In 22.05 `squeue --json` ignores -j/-t and scontrol has no --json, so both are parsed as
 * text. A finished job stays visible for MinJobAge seconds; after that the run store is the truth.
 */
import { runSlurmCommand, type SlurmClientOptions } from './client';

export type TaskState = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled' | 'timeout' | 'node_fail';

export interface SlurmTask {
  arrayJobId: string;
  arrayTaskId: number;
  /** The task's own job id (equal to the array id for one of the tasks). */
  jobId: string;
  slurmState: string;
  state: TaskState;
  reason: string;
  nodes: string;
}

const STATE_MAP: Record<string, TaskState> = {
  PENDING: 'pending',
  REQUEUED: 'pending',
  REQUEUE_HOLD: 'pending',
  REQUEUE_FED: 'pending',
  CONFIGURING: 'pending',
  RESV_DEL_HOLD: 'pending',
  RUNNING: 'running',
  COMPLETING: 'running',
  SIGNALING: 'running',
  STAGE_OUT: 'running',
  RESIZING: 'running',
  SUSPENDED: 'running',
  STOPPED: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  OUT_OF_MEMORY: 'failed',
  BOOT_FAIL: 'failed',
  DEADLINE: 'failed',
  SPECIAL_EXIT: 'failed',
  CANCELLED: 'cancelled',
  PREEMPTED: 'cancelled',
  REVOKED: 'cancelled',
  TIMEOUT: 'timeout',
  NODE_FAIL: 'node_fail',
};

export function taskState(slurmState: string): TaskState {
  // "CANCELLED by 0" and similar carry a suffix.
  return STATE_MAP[slurmState.split(/\s/)[0]] ?? 'failed';
}

const SQUEUE_FORMAT = '%F|%K|%A|%T|%r|%N';

/** Parses squeue lines printed with SQUEUE_FORMAT. */
export function parseSqueue(text: string): SlurmTask[] {
  const out: SlurmTask[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split('|');
    if (f.length < 6) continue;
    const [arrayJobId, taskId, jobId, slurmState, reason, nodes] = f;
    const arrayTaskId = Number(taskId);
    if (!Number.isInteger(arrayTaskId)) continue;
    out.push({ arrayJobId, arrayTaskId, jobId, slurmState, state: taskState(slurmState), reason, nodes });
  }
  return out.sort((a, b) => a.arrayTaskId - b.arrayTaskId);
}

/** Every task of the array, finished ones included while the controller keeps them. */
export async function squeueArray(arrayJobId: string, opts: SlurmClientOptions = {}): Promise<SlurmTask[]> {
  const { stdout } = await runSlurmCommand('squeue', ['-h', '-t', 'all', '-r', '-j', arrayJobId, '-o', SQUEUE_FORMAT], opts).catch((err: Error) => {
    // A job the controller has already forgotten is an error for squeue -j; it simply has no tasks.
    if (/Invalid job id/i.test(err.message)) return { stdout: '' };
    throw err;
  });
  return parseSqueue(stdout);
}

/** `scontrol -o show job J`: one line of Key=Value per job (one per array task). */
export function parseShowJob(text: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const rec: Record<string, string> = {};
    // Values have no spaces except a few (Command=, WorkDir=, Comment=) which we do not need.
    for (const m of line.matchAll(/(\w+)=(\S*)/g)) rec[m[1]] = m[2];
    out.push(rec);
  }
  return out;
}

export async function showJob(jobId: string, opts: SlurmClientOptions = {}): Promise<Array<Record<string, string>>> {
  const { stdout } = await runSlurmCommand('scontrol', ['-o', 'show', 'job', jobId], opts);
  return parseShowJob(stdout);
}
