/**
 * The one event stream of Regbench. Contract:
 * - A training worker (TensorFlow.js or PyTorch) writes one JSON object per line on stdout and
 *   nothing else there; its diagnostics go to stderr.
 * - The first line is `hello` (protocol version); then `run-start` (only `log` lines may come
 *   before it); then any number of `progress`, `epoch` and `log` lines; at most one `error`; the
 *   last is `run-end`. A worker that fails before training writes `error` and `run-end` without
 *   `run-start`.
 * - The run store appends the same lines to `runs/<id>/events.jsonl`; the CLI prints them with
 *   --json; the dashboard receives them as they come.
 * - A reader must skip unknown event types (forward compatibility) but reject a hello whose
 *   version differs from PROTOCOL_VERSION.
 * Accuracies are percentages (0-100); losses are per-example means; times are ISO-8601 strings.
 */
import type { BackendId, EngineId, RunSpec } from './benchmarks';

export const PROTOCOL_VERSION = 1;

/**
 * `interrupted`: the run's process stopped before the run ended (SIGTERM/SIGUSR1 after writing a
 * checkpoint, an editor or machine restart, a preempted Slurm task). Not final: `regbench resume`
 * continues it from its last checkpoint and appends to the same run.
 */
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'diverged' | 'cancelled' | 'interrupted';
export const FINAL_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'diverged', 'cancelled'];
/** Statuses in which no process works on the run (final ones, and interrupted: resumable). */
export const STOPPED_STATUSES: readonly RunStatus[] = [...FINAL_STATUSES, 'interrupted'];

export type ErrorKind =
  /** The variant failed: compile error, throw, NaN/Inf or non-scalar term, shape change. */
  | 'variant'
  /** A dataset file is missing or corrupt. */
  | 'data'
  /** The loss became NaN or Inf. */
  | 'diverged'
  /** Bad arguments or a backend/device that cannot load. */
  | 'usage'
  /** The worker process died or an engine bug. */
  | 'internal'
  | 'cancelled';

export interface RunEnvironment {
  engine: EngineId;
  /** tfjs: the backend that actually ran; pytorch: 'torch-cpu' / 'torch-cuda'. */
  backend: BackendId | string;
  /** e.g. { node: '20.20.2', tfjs: '4.22.0' } or { python: '3.11.2', torch: '1.13.0' }. */
  versions: Record<string, string>;
  platform: string;
  cpus: number;
  hostname: string;
  /** Threads used by the backend, when it says. */
  threads?: number;
  /**
   * Gradient slice size when the engine computes a batch's gradient in slices to fit in memory
   * (norm layers then see batch statistics of the slice). Absent: whole batches.
   */
  microBatch?: number;
  /** HEAD of the git repository holding the variant, with '+dirty' when the tree has changes. */
  gitCommit?: string;
  /** sha256 (first 16 hex) of `git diff HEAD` when the tree was dirty: which changes ran. */
  gitDiffSha256?: string;
  /** Regbench's own version (package.json). */
  regbenchVersion?: string;
  /** The CPU model of the machine that trained (os.cpus()[0].model). */
  cpuModel?: string;
  /** The GPU used, when one was (the engine says). */
  gpu?: string;
  /** The command that repeats this run (`regbench run ...`). */
  command?: string;
  /** The Slurm job, array job and task that ran this segment. */
  slurm?: { jobId: string; arrayJobId?: string; arrayTaskId?: string };
}

interface Base {
  runId: string;
  /** ISO-8601 time the event was written. */
  time: string;
}

export interface HelloEvent extends Base {
  type: 'hello';
  protocol: number;
  pid: number;
}

export interface RunStartEvent extends Base {
  type: 'run-start';
  spec: RunSpec;
  /**
   * Present when this segment continues from a checkpoint: the 0-based epoch it continues in and
   * the steps of that epoch already done (0: the epoch starts afresh).
   */
  resumedFrom?: { epoch: number; step: number };
  env: RunEnvironment;
  /** Steps per epoch and test images actually used, after subsets. */
  stepsPerEpoch: number;
  trainImages: number;
  testImages: number;
}

/** Emitted every few steps so a progress bar can move within an epoch. */
export interface ProgressEvent extends Base {
  type: 'progress';
  /** 0-based epoch. */
  epoch: number;
  /** 1-based step within the epoch. */
  step: number;
  steps: number;
  /** Running mean training loss (cross-entropy + term) of this epoch so far. */
  loss: number;
  imagesPerSec: number;
}

export interface EpochEvent extends Base {
  type: 'epoch';
  /** 0-based epoch index; the dashboard shows epoch + 1. */
  epoch: number;
  totalEpochs: number;
  /** Mean total loss (cross-entropy + regularization term) over the epoch's steps. */
  trainLoss: number;
  /** Mean cross-entropy over the epoch's steps. */
  trainCe: number;
  /** Mean regularization term over the epoch's steps (0 without a regularizer). */
  regTerm: number;
  trainAcc: number;
  testLoss: number;
  testAcc: number;
  /** Learning rate at the epoch's first step. */
  lr: number;
  /** Wall-clock seconds of the epoch, training and evaluation. */
  seconds: number;
  trainImagesPerSec: number;
  bestTestAcc: number;
  /** Worker resident memory after the epoch (MB). */
  rssMb?: number;
}

/**
 * A checkpoint was written (atomically) into `<runDir>/checkpoint/`: at the end of every epoch and
 * at the next step boundary after SIGTERM/SIGUSR1. `epoch`/`step` say where a resume continues:
 * the 0-based epoch and the steps of it already done (`step` = 0 after an epoch's end, with
 * `epoch` then the next epoch).
 */
export interface CheckpointEvent extends Base {
  type: 'checkpoint';
  epoch: number;
  step: number;
  /** Size of the checkpoint data file. */
  bytes: number;
  /** Wall-clock seconds spent writing it. */
  seconds: number;
  /** sha256 (hex) of the model's weights and buffers at this point, for bitwise comparisons. */
  weightsSha256: string;
}

export interface LogEvent extends Base {
  type: 'log';
  level: 'debug' | 'info' | 'warn';
  message: string;
}

export interface ErrorEvent extends Base {
  type: 'error';
  kind: ErrorKind;
  /** One line, fit for a status bar or a CLI exit message. */
  message: string;
  /** File to fix (the variant, a dataset file), when there is one. */
  file?: string;
  /** 1-based line in that file, when known. */
  line?: number;
  column?: number;
  /** 0-based epoch and 1-based step where it happened, when during training. */
  epoch?: number;
  step?: number;
  /** Longer detail: stack trace, stderr tail. */
  detail?: string;
}

export interface RunEndEvent extends Base {
  type: 'run-end';
  /** `interrupted`: stopped by SIGTERM/SIGUSR1 after writing a checkpoint (resumable). */
  status: Exclude<RunStatus, 'queued' | 'running'>;
  /** Best test accuracy over completed epochs (null when no epoch completed). */
  bestTestAcc: number | null;
  finalTestAcc: number | null;
  epochsCompleted: number;
  seconds: number;
  /** One-line reason when status is not 'completed'. */
  reason?: string;
}

export type RunEvent = HelloEvent | RunStartEvent | ProgressEvent | EpochEvent | CheckpointEvent | LogEvent | ErrorEvent | RunEndEvent;
export type RunEventType = RunEvent['type'];

const KNOWN: ReadonlySet<string> = new Set<RunEventType>(['hello', 'run-start', 'progress', 'epoch', 'checkpoint', 'log', 'error', 'run-end']);

/** A line that is not an event at all (not JSON, no `type`): a stray print, kept as a log line. */
export class EventParseError extends Error {}
/** A line that is an event of a known type but breaks the schema: a protocol error. */
export class EventSchemaError extends EventParseError {}

/**
 * Parses one line of a worker's stdout. Returns undefined for an empty line or an unknown event
 * type; throws EventParseError for a line that is not a JSON object with a string `type`.
 */
export function parseEventLine(line: string): RunEvent | undefined {
  const text = line.trim();
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new EventParseError(`not a JSON event line: ${text.slice(0, 200)}`);
  }
  if (typeof value !== 'object' || value === null || typeof (value as { type?: unknown }).type !== 'string') {
    throw new EventParseError(`event line without a 'type': ${text.slice(0, 200)}`);
  }
  const type = (value as { type: string }).type;
  if (!KNOWN.has(type)) return undefined;
  const problem = validateEvent(value as Record<string, unknown>);
  if (problem) throw new EventSchemaError(`invalid '${type}' event: ${problem}`);
  return value as RunEvent;
}

type FieldType = 'string' | 'number' | 'object' | 'number|null' | 'boolean';
const REQUIRED: Record<RunEventType, Record<string, FieldType>> = {
  hello: { runId: 'string', time: 'string', protocol: 'number', pid: 'number' },
  'run-start': { runId: 'string', time: 'string', spec: 'object', env: 'object', stepsPerEpoch: 'number', trainImages: 'number', testImages: 'number' },
  progress: { runId: 'string', time: 'string', epoch: 'number', step: 'number', steps: 'number', loss: 'number', imagesPerSec: 'number' },
  epoch: {
    runId: 'string', time: 'string', epoch: 'number', totalEpochs: 'number', trainLoss: 'number', trainCe: 'number', regTerm: 'number',
    trainAcc: 'number', testLoss: 'number', testAcc: 'number', lr: 'number', seconds: 'number', trainImagesPerSec: 'number', bestTestAcc: 'number',
  },
  checkpoint: { runId: 'string', time: 'string', epoch: 'number', step: 'number', bytes: 'number', seconds: 'number', weightsSha256: 'string' },
  log: { runId: 'string', time: 'string', level: 'string', message: 'string' },
  error: { runId: 'string', time: 'string', kind: 'string', message: 'string' },
  'run-end': { runId: 'string', time: 'string', status: 'string', bestTestAcc: 'number|null', finalTestAcc: 'number|null', epochsCompleted: 'number', seconds: 'number' },
};

/** Returns a description of the first schema violation, or undefined when the event is valid. */
export function validateEvent(e: Record<string, unknown>): string | undefined {
  const fields = REQUIRED[e.type as RunEventType];
  if (!fields) return `unknown type '${String(e.type)}'`;
  for (const [name, t] of Object.entries(fields)) {
    const v = e[name];
    const ok =
      t === 'number|null' ? v === null || typeof v === 'number' : t === 'object' ? typeof v === 'object' && v !== null : typeof v === t;
    if (!ok) return `field '${name}' must be ${t}, got ${v === null ? 'null' : typeof v}`;
  }
  if (e.type === 'run-end' && !(STOPPED_STATUSES as readonly string[]).includes(e.status as string)) {
    return `status '${String(e.status)}' is not a final status`;
  }
  return undefined;
}

/** Serializes an event as one line (no trailing newline). Non-finite numbers become null. */
export function formatEventLine(e: RunEvent): string {
  return JSON.stringify(e, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v));
}

/** Splits a byte stream into complete lines; keeps the partial tail for the next chunk. */
export class LineSplitter {
  private tail = '';
  push(chunk: string): string[] {
    const text = this.tail + chunk;
    const parts = text.split('\n');
    this.tail = parts.pop() ?? '';
    return parts;
  }
  /** Returns what remains when the stream ends (a last line without newline). */
  flush(): string[] {
    const rest = this.tail;
    this.tail = '';
    return rest.trim() ? [rest] : [];
  }
}
