/**
 * The record of one run as the store keeps it in `runs/<id>/record.json`: the spec it ran with,
 * where it got to and how it ended. It is derived from the run's events (see applyEvent), so a
 * record can always be rebuilt from `events.jsonl`.
 */
import type { RunSpec } from '../protocol/benchmarks';
import type { ErrorKind, RunEndEvent, RunEnvironment, RunEvent, RunStatus } from '../protocol/events';

export interface RunRecord {
  id: string;
  /** Readable name: variant, benchmark, seed, date. */
  name: string;
  /** A name the user gave the run (`regbench run --name`, Rename Run… in the editor); not derived from events. */
  displayName?: string;
  spec: RunSpec;
  env?: RunEnvironment;
  status: RunStatus;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  epochsCompleted: number;
  totalEpochs: number;
  bestTestAcc: number | null;
  finalTestAcc: number | null;
  /** Mean seconds per completed epoch. */
  epochSeconds: number | null;
  error?: { kind: ErrorKind; message: string; file?: string; line?: number; epoch?: number; step?: number };
  /** Snapshot of the variant source inside the run directory (file name). */
  variantSnapshot: string;
  /** Process that owns the run while it is running; a dead owner means the run was interrupted. */
  ownerPid?: number;
  /**
   * Where the run executes when not in a local process: a Slurm array task on some node. Such a
   * run is never reconciled by `ownerPid` (that pid is on another host, or is the submitting
   * CLI); its state comes from the scheduler (`regbench jobs`) and from the task itself.
   */
  executor?: RunExecutor;
  reason?: string;
  /**
   * Each time a process worked on the run: when it started and stopped, why it stopped, where
   * it continued from (a resume), and on which host. The last one is open while it runs.
   */
  segments?: RunSegment[];
  /** The run this one repeats (`regbench rerun`). */
  rerunOf?: string;
  /**
   * A final evaluation: a run of the variant's held-out benchmark (`regbench final`, or a plain run
   * on that benchmark). Set when the run is created; see src/analysis/held-out.ts.
   */
  final?: boolean;
}

export interface RunSegment {
  start: string;
  end?: string;
  /** How the segment ended: the run-end status ('interrupted' when it can be resumed). */
  status?: RunStatus;
  reason?: string;
  resumedFrom?: { epoch: number; step: number };
  host?: string;
  pid?: number;
}

/**
 * The run-end that Regbench itself writes when the worker cannot (cancelled while queued, a
 * worker that died, an owner process that is gone): the record's figures so far, and the reason.
 */
export function syntheticRunEnd(
  record: Pick<RunRecord, 'id' | 'bestTestAcc' | 'finalTestAcc' | 'epochsCompleted'>,
  status: RunEndEvent['status'],
  reason: string,
  seconds = 0,
  now = new Date(),
): RunEndEvent {
  return {
    type: 'run-end',
    runId: record.id,
    time: now.toISOString(),
    status,
    bestTestAcc: record.bestTestAcc,
    finalTestAcc: record.finalTestAcc,
    epochsCompleted: record.epochsCompleted,
    seconds,
    reason,
  };
}

export interface SlurmExecutor {
  kind: 'slurm';
  /** `.regbench/matrices/<id>/`: the batch script, tasks.json and the tasks' Slurm output. */
  matrixId: string;
  arrayTaskId: number;
  /** The array's job id; set once `sbatch` has answered (or by the task when it starts). */
  jobId?: string;
  /** One entry per time a task started on a node (a requeued task adds one). */
  segments?: Array<{ host: string; startedAt: string; restart: number; slurmJobId?: string }>;
}

export type RunExecutor = SlurmExecutor;

/** Returns the record updated by one event (a new object; the input is not changed). */
export function applyEvent(record: RunRecord, e: RunEvent): RunRecord {
  const r: RunRecord = { ...record };
  switch (e.type) {
    case 'run-start':
      r.status = 'running';
      r.startedAt = r.startedAt ?? e.time;
      r.env = e.env;
      r.totalEpochs = e.spec.epochs;
      r.endedAt = undefined;
      r.reason = undefined;
      r.error = undefined;
      // A later segment continues where its checkpoint was (epoch 0 when there was none).
      if (r.segments?.length) r.epochsCompleted = Math.min(r.epochsCompleted, e.resumedFrom?.epoch ?? 0);
      r.segments = [...(r.segments ?? []), { start: e.time, resumedFrom: e.resumedFrom, host: e.env.hostname }];
      break;
    case 'epoch': {
      const previous = r.epochSeconds === null ? 0 : r.epochSeconds * r.epochsCompleted;
      r.epochsCompleted = e.epoch + 1;
      r.totalEpochs = e.totalEpochs;
      r.finalTestAcc = e.testAcc;
      r.bestTestAcc = r.bestTestAcc === null ? e.testAcc : Math.max(r.bestTestAcc, e.testAcc);
      r.epochSeconds = (previous + e.seconds) / r.epochsCompleted;
      break;
    }
    case 'error':
      r.error = { kind: e.kind, message: e.message, file: e.file, line: e.line, epoch: e.epoch, step: e.step };
      break;
    case 'run-end':
      r.status = e.status;
      r.endedAt = e.time;
      r.reason = e.reason;
      if (e.bestTestAcc !== null) r.bestTestAcc = e.bestTestAcc;
      if (e.finalTestAcc !== null) r.finalTestAcc = e.finalTestAcc;
      r.epochsCompleted = Math.max(r.epochsCompleted, e.epochsCompleted);
      r.ownerPid = undefined;
      r.segments = closeLastSegment(r.segments, e);
      break;
    default:
      break;
  }
  return r;
}

/**
 * A run's events as one history: when a later segment continues from an earlier epoch (a resume
 * from the last checkpoint), the epochs it repeats replace those the stopped segment had
 * reported, so every epoch appears once.
 */
export function foldSegments(events: readonly RunEvent[]): RunEvent[] {
  const out: RunEvent[] = [];
  let started = false;
  for (const e of events) {
    if (e.type === 'run-start') {
      if (started) {
        const from = e.resumedFrom?.epoch ?? 0;
        for (let i = out.length - 1; i >= 0; i--) {
          const old = out[i];
          if (old.type === 'epoch' && old.epoch >= from) out.splice(i, 1);
        }
      }
      started = true;
    }
    out.push(e);
  }
  return out;
}

function closeLastSegment(segments: RunSegment[] | undefined, e: RunEndEvent): RunSegment[] | undefined {
  const list = [...(segments ?? [])];
  const last = list[list.length - 1];
  // A run that never started (cancelled while queued, a worker that could not start) has none.
  if (!last || last.end) return segments;
  list[list.length - 1] = { ...last, end: e.time, status: e.status, reason: e.reason };
  return list;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "confidence-penalty · ResNet-20/C10 · seed 0 · 23 Nov 19:58" */
export function runName(variantFile: string, benchShort: string, seed: number, date: Date): string {
  const base =
    variantFile
      .replace(/\\/g, '/')
      .split('/')
      .pop()
      ?.replace(/\.(ts|js|py|mjs|cjs)$/, '') ?? variantFile;
  const pad = (n: number) => String(n).padStart(2, '0');
  const when = `${date.getDate()} ${MONTHS[date.getMonth()]} ${pad(date.getHours())}:${pad(date.getMinutes())}`;
  return `${base} · ${benchShort} · seed ${seed} · ${when}`;
}

/** Run ids sort by creation time: 20261123-195812-resnet20-cifar10-a3f1. */
export function newRunId(bench: string, date: Date, random: string): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${date.getFullYear()}${pad(date.getMonth() + 1)}${pad(date.getDate())}-${pad(date.getHours())}${pad(date.getMinutes())}${pad(date.getSeconds())}`;
  return `${stamp}-${bench}-${random}`;
}
