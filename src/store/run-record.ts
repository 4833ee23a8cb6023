/**
 * The record of one run as the store keeps it in `runs/<id>/record.json`: the spec it ran with,
 * where it got to and how it ended. It is derived from the run's events (see applyEvent), so a
 * record can always be rebuilt from `events.jsonl`.
 */
import type { RunSpec } from '../protocol/benchmarks';
import type { ErrorKind, RunEnvironment, RunEvent, RunStatus } from '../protocol/events';

export interface RunRecord {
  id: string;
  /** Readable name: variant, benchmark, seed, date. */
  name: string;
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
  /** Process that owns the run while it is running; a dead owner means the run failed. */
  ownerPid?: number;
  reason?: string;
  /**
   * A final evaluation: a run of the variant's held-out benchmark (`regbench final`, or a plain run
   * on that benchmark). Set when the run is created; see src/runs/held-out.ts.
   */
  final?: boolean;
}

/** Returns the record updated by one event (a new object; the input is not changed). */
export function applyEvent(record: RunRecord, e: RunEvent): RunRecord {
  const r: RunRecord = { ...record };
  switch (e.type) {
    case 'run-start':
      r.status = 'running';
      r.startedAt = e.time;
      r.env = e.env;
      r.totalEpochs = e.spec.epochs;
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
      break;
    default:
      break;
  }
  return r;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "confidence-penalty · ResNet-20/C10 · seed 0 · 23 Nov 19:58" */
export function runName(variantFile: string, benchShort: string, seed: number, date: Date): string {
  const base = variantFile.replace(/\\/g, '/').split('/').pop()?.replace(/\.(ts|js|py|mjs|cjs)$/, '') ?? variantFile;
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
