/**
 * The messages between the extension host and the dashboard webview. Contract:
 * - Every message is `{ type, payload }`; `type` is a string literal, so each direction is a
 *   discriminated union. Only plain data crosses (postMessage structured-clones it).
 * - Handshake: the webview posts `ready` once it is mounted (again after every reload); the host
 *   sends nothing before it, and answers each `ready` with one full `snapshot`.
 * - After the snapshot the host sends deltas only: one `append` per new store event that changes a
 *   run (its status, an epoch), `remove` when a run is deleted, `select` / `compare` when the user
 *   picks runs elsewhere (tree, commands). It never resends the whole state except on `ready`.
 * - Both sides must ignore a message whose `type` they do not know (isWebviewToHostMessage and
 *   isHostToWebviewMessage return false for it).
 * - Accuracies are percentages (0-100), as in events.ts.
 * No `vscode` import: the host (src/vscode/dashboard-panel.ts) and the page (webview/) share it.
 */
import type { BackendId, BenchId, BudgetId, EngineId, RunSpec } from './benchmarks';
import type { EpochEvent, RunStatus } from './events';
import type { RunRecord } from '../runs/run-record';

// ---------------------------------------------------------------------------------------------
// Data
// ---------------------------------------------------------------------------------------------

/** What the dashboard shows of one run: a flat, small projection of a RunRecord. */
export interface RunSummary {
  id: string;
  name: string;
  status: RunStatus;
  bench: BenchId;
  budget: BudgetId;
  seed: number;
  /** Variant file name without folder and extension, e.g. "confidence-penalty". */
  variantName: string;
  /** sha256 prefix of the variant source (runs with the same hash ran the same code). */
  variantHash: string;
  engine: EngineId;
  /** The backend that actually ran (env), else the one requested, else null (not started). */
  backend: BackendId | string | null;
  bestTestAcc: number | null;
  finalTestAcc: number | null;
  epochsCompleted: number;
  totalEpochs: number;
  /** Mean seconds per completed epoch. */
  epochSeconds: number | null;
  /** One line: the error message, else the end reason (cancelled, diverged), else null. */
  errorMessage: string | null;
  createdAt: string;
}

export type SettingValue = string | number | boolean | null;

/** One setting that differs between two runs; undefined when a run does not have the key. */
export interface SettingDifference {
  /** Dotted path, e.g. "recipe.lr", "variantKind.norm", "env.backend". */
  key: string;
  a: SettingValue | undefined;
  b: SettingValue | undefined;
}

/** Best test accuracy of two variants on one benchmark (mean over seeds when there are several). */
export interface AccuracyDelta {
  bench: BenchId;
  a: number | null;
  b: number | null;
  /** b - a in percentage points; null when either side is missing. */
  delta: number | null;
}

export interface Comparison {
  a: RunSummary;
  b: RunSummary;
  /** Only the keys that differ, sorted by key. */
  settingsDiff: SettingDifference[];
  /** One row per benchmark that either variant ran on, sorted by bench id. */
  accuracyDeltas: AccuracyDelta[];
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/** webview -> host */
export type WebviewToHostMessage =
  | { type: 'ready'; payload: Record<string, never> }
  /** Reveal the run in the runs tree. */
  | { type: 'openRun'; payload: { runId: string } }
  /** The user changed the selection in the table (the host may mirror it in the tree). */
  | { type: 'selectRuns'; payload: { runIds: string[] } }
  /** Ask for a comparison of run a (baseline) with run b; the host answers with `compare`. */
  | { type: 'compare'; payload: { a: string; b: string } }
  | { type: 'cancelRun'; payload: { runId: string } }
  /** Open the run's events/log in an editor or output channel. */
  | { type: 'showLog'; payload: { runId: string } };

/** host -> webview */
export type HostToWebviewMessage =
  | {
      type: 'snapshot';
      payload: {
        runs: RunSummary[];
        /** Completed epochs per run id, in epoch order. */
        epochs: Record<string, EpochEvent[]>;
        selected: string[];
        comparison?: Comparison;
      };
    }
  /** The run's new summary; `event` is set when the change was a completed epoch. */
  | { type: 'append'; payload: { runId: string; run: RunSummary; event?: EpochEvent } }
  | { type: 'remove'; payload: { runId: string } }
  | { type: 'select'; payload: { runIds: string[] } }
  | { type: 'compare'; payload: { comparison: Comparison } };

export type WebviewToHostType = WebviewToHostMessage['type'];
export type HostToWebviewType = HostToWebviewMessage['type'];

// ---------------------------------------------------------------------------------------------
// Validation (messages come from another JavaScript context: trust nothing)
// ---------------------------------------------------------------------------------------------

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isStringArray(x: unknown): x is string[] {
  return Array.isArray(x) && x.every((s) => typeof s === 'string');
}

const nonEmpty = (x: unknown): boolean => typeof x === 'string' && x.length > 0;

const WEBVIEW_PAYLOAD_CHECKS: Record<WebviewToHostType, (p: Record<string, unknown>) => boolean> = {
  ready: () => true,
  openRun: (p) => nonEmpty(p.runId),
  selectRuns: (p) => isStringArray(p.runIds),
  compare: (p) => nonEmpty(p.a) && nonEmpty(p.b),
  cancelRun: (p) => nonEmpty(p.runId),
  showLog: (p) => nonEmpty(p.runId),
};

/** True when `x` is a well-formed message from the webview (unknown types are rejected). */
export function isWebviewToHostMessage(x: unknown): x is WebviewToHostMessage {
  if (!isObject(x) || typeof x.type !== 'string' || !isObject(x.payload)) return false;
  // hasOwn: a type such as 'toString' must not find Object.prototype's members.
  return Object.hasOwn(WEBVIEW_PAYLOAD_CHECKS, x.type) && WEBVIEW_PAYLOAD_CHECKS[x.type as WebviewToHostType](x.payload);
}

function isRunSummary(x: unknown): x is RunSummary {
  return isObject(x) && nonEmpty(x.id) && typeof x.status === 'string' && typeof x.bench === 'string' && typeof x.name === 'string';
}

function isComparison(x: unknown): x is Comparison {
  return isObject(x) && isRunSummary(x.a) && isRunSummary(x.b) && Array.isArray(x.settingsDiff) && Array.isArray(x.accuracyDeltas);
}

function isEpochEvent(x: unknown): x is EpochEvent {
  return isObject(x) && x.type === 'epoch' && typeof x.epoch === 'number' && typeof x.runId === 'string';
}

const HOST_PAYLOAD_CHECKS: Record<HostToWebviewType, (p: Record<string, unknown>) => boolean> = {
  snapshot: (p) =>
    Array.isArray(p.runs) &&
    p.runs.every(isRunSummary) &&
    isObject(p.epochs) &&
    Object.values(p.epochs).every((list) => Array.isArray(list) && list.every(isEpochEvent)) &&
    isStringArray(p.selected) &&
    (p.comparison === undefined || isComparison(p.comparison)),
  append: (p) => nonEmpty(p.runId) && isRunSummary(p.run) && (p.event === undefined || isEpochEvent(p.event)),
  remove: (p) => nonEmpty(p.runId),
  select: (p) => isStringArray(p.runIds),
  compare: (p) => isComparison(p.comparison),
};

/** True when `x` is a well-formed message from the host (checked shallowly: ids, arrays, tags). */
export function isHostToWebviewMessage(x: unknown): x is HostToWebviewMessage {
  if (!isObject(x) || typeof x.type !== 'string' || !isObject(x.payload)) return false;
  return Object.hasOwn(HOST_PAYLOAD_CHECKS, x.type) && HOST_PAYLOAD_CHECKS[x.type as HostToWebviewType](x.payload);
}

// ---------------------------------------------------------------------------------------------
// Building payloads (pure; the host calls these)
// ---------------------------------------------------------------------------------------------

/** "…/variants/confidence-penalty.ts" -> "confidence-penalty" */
export function variantNameOf(variantPath: string): string {
  const file = variantPath.replace(/\\/g, '/').split('/').pop() ?? variantPath;
  return file.replace(/\.(ts|js|mjs|cjs|py)$/, '') || variantPath;
}

export function toRunSummary(record: RunRecord): RunSummary {
  const spec = record.spec;
  return {
    id: record.id,
    name: record.name,
    status: record.status,
    bench: spec.bench,
    budget: spec.budget,
    seed: spec.seed,
    variantName: variantNameOf(spec.variantPath),
    variantHash: spec.variantHash,
    engine: record.env?.engine ?? spec.engine,
    backend: record.env?.backend ?? spec.backend ?? spec.device ?? null,
    bestTestAcc: record.bestTestAcc,
    finalTestAcc: record.finalTestAcc,
    epochsCompleted: record.epochsCompleted,
    totalEpochs: record.totalEpochs,
    epochSeconds: record.epochSeconds,
    errorMessage: record.error?.message ?? record.reason ?? null,
    createdAt: record.createdAt,
  };
}

/**
 * Keys that identify a run rather than configure it: they differ between any two runs, so a
 * diff listing them says nothing. Matched against the last segment of a dotted key.
 */
const IDENTITY_KEYS: ReadonlySet<string> = new Set(['runId', 'runDir', 'time', 'date', 'pid', 'hostname']);
const TIME_LIKE = /(At|Time|Date)$/;

function isIgnoredKey(key: string): boolean {
  const last = key.slice(key.lastIndexOf('.') + 1);
  return IDENTITY_KEYS.has(last) || TIME_LIKE.test(last);
}

function flatten(value: unknown, prefix: string, out: Map<string, SettingValue>): void {
  if (prefix && isIgnoredKey(prefix)) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(v, prefix ? `${prefix}.${i}` : String(i), out));
  } else if (isObject(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (value === undefined || typeof value === 'function' || typeof value === 'symbol') {
    // Absent: a key set to undefined is the same as a missing key.
  } else if (typeof value === 'bigint') {
    out.set(prefix, value.toString());
  } else {
    out.set(prefix, value as SettingValue);
  }
}

/**
 * The settings that differ between two run specs (or any JSON-like objects), flattened to dotted
 * keys ("recipe.lr", "variantKind.norm", arrays as "x.0"), sorted by key. Identity and time keys
 * (runId, runDir, *At, *Time, *Date, ...) are ignored at every depth.
 */
export function settingsDiff(a: object, b: object): SettingDifference[] {
  const fa = new Map<string, SettingValue>();
  const fb = new Map<string, SettingValue>();
  flatten(a, '', fa);
  flatten(b, '', fb);
  const keys = [...new Set([...fa.keys(), ...fb.keys()])].sort();
  const out: SettingDifference[] = [];
  for (const key of keys) {
    const va = fa.get(key);
    const vb = fb.get(key);
    if (!Object.is(va, vb)) out.push({ key, a: va, b: vb });
  }
  return out;
}

function mean(xs: number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/**
 * Per benchmark, the mean best test accuracy of the runs in `a` and in `b` (runs without an
 * accuracy are left out) and b - a. One row per benchmark present on either side, sorted by id.
 */
export function accuracyDeltas(a: readonly RunSummary[], b: readonly RunSummary[]): AccuracyDelta[] {
  const benches = [...new Set([...a, ...b].map((r) => r.bench))].sort();
  const meanOn = (runs: readonly RunSummary[], bench: BenchId): number | null => {
    const accs = runs.filter((r) => r.bench === bench && r.bestTestAcc !== null).map((r) => r.bestTestAcc as number);
    return accs.length ? mean(accs) : null;
  };
  return benches.map((bench) => {
    const ma = meanOn(a, bench);
    const mb = meanOn(b, bench);
    return { bench, a: ma, b: mb, delta: ma !== null && mb !== null ? mb - ma : null };
  });
}

/** The settings a comparison diffs: the spec plus what the environment decided (actual backend, versions). */
function comparableSettings(r: RunRecord): Record<string, unknown> {
  const env = r.env ? { backend: r.env.backend, versions: r.env.versions, threads: r.env.threads } : {};
  return { ...(r.spec as RunSpec), env };
}

/**
 * The comparison of run `a` (baseline) with run `b`. Accuracy deltas compare the two *variants*:
 * every run in `all` with the same variant source (variantHash) and budget as a, resp. b, averaged
 * over seeds per benchmark. When a and b ran the same source, only a and b themselves are used.
 */
export function buildComparison(a: RunRecord, b: RunRecord, all: readonly RunRecord[]): Comparison {
  const sa = toRunSummary(a);
  const sb = toRunSummary(b);
  const summaries = all.map(toRunSummary);
  const sameVariant = (x: RunSummary, ref: RunSummary) => x.variantHash === ref.variantHash && x.budget === ref.budget && x.engine === ref.engine;
  const groupA = sa.variantHash === sb.variantHash ? [sa] : withRun(summaries.filter((x) => sameVariant(x, sa)), sa);
  const groupB = sa.variantHash === sb.variantHash ? [sb] : withRun(summaries.filter((x) => sameVariant(x, sb)), sb);
  return { a: sa, b: sb, settingsDiff: settingsDiff(comparableSettings(a), comparableSettings(b)), accuracyDeltas: accuracyDeltas(groupA, groupB) };
}

function withRun(group: RunSummary[], run: RunSummary): RunSummary[] {
  return group.some((x) => x.id === run.id) ? group : [...group, run];
}
