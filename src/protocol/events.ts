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
import { PROTOCOL, type BackendId, type EngineId, type RunSpec } from './benchmarks';
import schemaJson from './events.schema.json';

export const PROTOCOL_VERSION: number = PROTOCOL.protocolVersion;

/**
 * `interrupted`: the run's process stopped before the run ended (SIGTERM/SIGUSR1 after writing a
 * checkpoint, an editor or machine restart, a preempted Slurm task). Not final: `regbench resume`
 * continues it from its last checkpoint and appends to the same run.
 */
export type RunStatus = 'queued' | 'running' | 'completed' | 'failed' | 'diverged' | 'cancelled' | 'interrupted';

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
  /** tfjs backend 'torch': the libtorch device the run used (cpu, cuda:0, ...). */
  device?: string;
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

/*
 * events.schema.json is the one statement of the event fields, statuses and error kinds (the
 * PyTorch worker checks its events against the same file). The validator below works from a table
 * derived from it: for each event type, each field's JSON types and, where the schema gives them,
 * its allowed values.
 */
type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array' | 'null';

interface SchemaNode {
  $ref?: string;
  type?: JsonType | JsonType[];
  enum?: string[];
  const?: string;
  anyOf?: SchemaNode[];
  required?: string[];
  properties?: Record<string, SchemaNode>;
  $defs?: Record<string, SchemaNode>;
  events?: Record<string, SchemaNode>;
}

// The JSON import's inferred type has no index signatures; SchemaNode is the subset this file reads.
const SCHEMA = schemaJson as unknown as SchemaNode & { $defs: Record<string, SchemaNode> & { events: Record<string, SchemaNode> } };

function resolveRef(node: SchemaNode): SchemaNode {
  if (!node.$ref) return node;
  let target: unknown = SCHEMA;
  for (const part of node.$ref.replace(/^#\//, '').split('/')) target = (target as Record<string, unknown>)[part];
  if (!target) throw new Error(`events.schema.json: unresolved $ref ${node.$ref}`);
  return resolveRef(target as SchemaNode);
}

/** The string values a schema node allows (enum, const, anyOf of those), or undefined: any. */
function allowedValues(node: SchemaNode): string[] | undefined {
  const n = resolveRef(node);
  if (n.enum) return [...n.enum];
  if (n.const !== undefined) return [n.const];
  if (n.anyOf) return n.anyOf.flatMap((a) => allowedValues(a) ?? []);
  return undefined;
}

interface FieldRule {
  types: readonly JsonType[];
  values?: readonly string[];
  required: boolean;
}

function fieldRule(node: SchemaNode, required: boolean): FieldRule {
  const n = resolveRef(node);
  const values = allowedValues(n);
  const types: JsonType[] = n.type === undefined ? (values ? ['string'] : []) : Array.isArray(n.type) ? n.type : [n.type];
  return { types, values, required };
}

/** Per event type: its fields (required ones and optional ones with their types). */
export const EVENT_FIELDS: Readonly<Record<RunEventType, Readonly<Record<string, FieldRule>>>> = Object.fromEntries(
  Object.entries(SCHEMA.$defs.events).map(([type, node]) => {
    const required = new Set(node.required ?? []);
    const fields = Object.entries(node.properties ?? {})
      .filter(([name]) => name !== 'type')
      .map(([name, p]) => [name, fieldRule(p, required.has(name))]);
    return [type, Object.fromEntries(fields)];
  }),
) as Record<RunEventType, Record<string, FieldRule>>;

/** The error kinds of events.schema.json, in its order. */
export const ERROR_KINDS = allowedValues(SCHEMA.$defs.ErrorKind) as readonly ErrorKind[];
/** Every status a run can have. */
export const RUN_STATUSES = allowedValues(SCHEMA.$defs.RunStatus) as readonly RunStatus[];
/** Statuses after which nothing more happens to a run. */
export const FINAL_STATUSES = allowedValues(SCHEMA.$defs.FinalStatus) as readonly RunStatus[];
/** Statuses in which no process works on the run (final ones, and interrupted: resumable). */
export const STOPPED_STATUSES = allowedValues(SCHEMA.$defs.EndStatus) as readonly RunStatus[];

const KNOWN: ReadonlySet<string> = new Set(Object.keys(EVENT_FIELDS));

function jsonTypeOf(v: unknown): JsonType {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v as JsonType;
}

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

/** Returns a description of the first schema violation, or undefined when the event is valid. */
export function validateEvent(e: Record<string, unknown>): string | undefined {
  const fields = Object.prototype.hasOwnProperty.call(EVENT_FIELDS, String(e.type)) ? EVENT_FIELDS[e.type as RunEventType] : undefined;
  if (!fields) return `unknown type '${String(e.type)}'`;
  for (const [name, rule] of Object.entries(fields)) {
    const v = e[name];
    if (v === undefined && !rule.required) continue;
    const t = jsonTypeOf(v);
    // An integer is a number too (JSON Schema's rule).
    const ok = rule.types.length === 0 || rule.types.includes(t) || (t === 'integer' && rule.types.includes('number'));
    if (!ok) return `field '${name}' must be ${rule.types.join('|')}, got ${v === undefined ? 'nothing' : t}`;
    if (rule.values && !rule.values.includes(v as string)) {
      return name === 'status' && e.type === 'run-end'
        ? `status '${String(v)}' is not a final status`
        : `field '${name}' must be one of ${rule.values.join(', ')}, got '${String(v)}'`;
    }
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
