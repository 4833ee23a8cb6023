/**
 * What the dashboard is sent, computed from run records: summaries (with edit numbers), the
 * comparison of two runs, the leaderboard, and the messages of a snapshot and its deltas. Pure
 * (no `vscode`): the host (src/vscode/dashboard-panel.ts) calls it, the tests call it directly.
 *
 * Held-out benchmarks are redacted here, before anything is posted: their runs lose their
 * accuracies and epochs, their leaderboard cells carry a run count only.
 */
import type { BenchId, RunSpec } from '../protocol/benchmarks';
import { BENCHMARKS } from '../protocol/benchmarks';
import type { EpochEvent } from '../protocol/events';
import { EPOCH_METRICS } from '../protocol/webview';
import type {
  AccuracyDelta,
  Comparison,
  EpochColumns,
  HostToWebviewMessage,
  Leaderboard,
  LeaderboardCell,
  LeaderboardRow,
  LeaderboardRowUpdate,
  RunSummary,
  SettingDifference,
  SettingValue,
  Significance,
  StepLoss,
} from '../protocol/webview';
import type { RunRecord } from '../runs/run-record';
import { editNumbers } from './run-label';
import { mean, sampleStd } from '../analysis/descriptive';

/**
 * The significance hook: given a variant's runs on one benchmark (a seed group, all with
 * accuracies or not), the difference against the baseline and its p-value, or undefined when
 * there is nothing to say (too few seeds, the baseline itself). Never asked about held-out cells.
 */
export type SignificanceOf = (group: readonly RunSummary[], bench: BenchId) => Significance | undefined;

/** What a leaderboard is built with. */
export interface LeaderboardOptions {
  heldOut: ReadonlySet<BenchId>;
  /** Set by the statistics module; without it no cell has a significance mark. */
  significance?: SignificanceOf;
}

/** How the host sees the workspace's runs: held-out benchmarks, significance, each run's edit number. */
export interface DashboardContext extends LeaderboardOptions {
  /** Edit numbers by run id (editNumbers in run-label.ts); a missing id has none. */
  edits: ReadonlyMap<string, number>;
}

export const NO_HELD_OUT: ReadonlySet<BenchId> = new Set();

export function dashboardContext(records: readonly RunRecord[], heldOut: ReadonlySet<BenchId> = NO_HELD_OUT, significance?: SignificanceOf): DashboardContext {
  return { heldOut, significance, edits: editNumbers(records) };
}

// ---------------------------------------------------------------------------------------------
// Run summaries
// ---------------------------------------------------------------------------------------------

/** "…/variants/confidence-penalty.ts" -> "confidence-penalty" */
export function variantNameOf(variantPath: string): string {
  const file = variantPath.replace(/\\/g, '/').split('/').pop() ?? variantPath;
  return file.replace(/\.(ts|js|mjs|cjs|py)$/, '') || variantPath;
}

/** The user's name for a run. The record field is new (optional); older records have none. */
function displayNameOf(record: RunRecord): string | undefined {
  const name = (record as RunRecord & { displayName?: unknown }).displayName;
  return typeof name === 'string' && name.trim() ? name : undefined;
}

const EMPTY_CONTEXT: DashboardContext = { heldOut: NO_HELD_OUT, edits: new Map() };

export function toRunSummary(record: RunRecord, ctx: DashboardContext = EMPTY_CONTEXT): RunSummary {
  const spec = record.spec;
  const heldOut = ctx.heldOut.has(spec.bench);
  const summary: RunSummary = {
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
    bestTestAcc: heldOut ? null : record.bestTestAcc,
    finalTestAcc: heldOut ? null : record.finalTestAcc,
    epochsCompleted: record.epochsCompleted,
    totalEpochs: record.totalEpochs,
    epochSeconds: record.epochSeconds,
    errorMessage: record.error?.message ?? record.reason ?? null,
    createdAt: record.createdAt,
    edit: ctx.edits.get(record.id) ?? null,
  };
  const displayName = displayNameOf(record);
  if (displayName) summary.displayName = displayName;
  if (heldOut) summary.heldOut = true;
  return summary;
}

/** Epoch events (in epoch order) column-wise, as a snapshot carries them. */
export function toEpochColumns(events: readonly EpochEvent[]): EpochColumns {
  const cols = { epoch: events.map((e) => e.epoch) } as EpochColumns;
  for (const k of EPOCH_METRICS) cols[k] = events.map((e) => (Number.isFinite(e[k]) ? e[k] : null));
  return cols;
}

// ---------------------------------------------------------------------------------------------
// Comparison
// ---------------------------------------------------------------------------------------------

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

function isPlainObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function flatten(value: unknown, prefix: string, out: Map<string, SettingValue>): void {
  if (prefix && isIgnoredKey(prefix)) return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => flatten(v, prefix ? `${prefix}.${i}` : String(i), out));
  } else if (isPlainObject(value)) {
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

export { mean, sampleStd };

const accuracies = (runs: readonly RunSummary[]): number[] => runs.flatMap((r) => (r.bestTestAcc === null ? [] : [r.bestTestAcc]));

/**
 * Per benchmark, the mean best test accuracy of the runs in `a` and in `b` (runs without an
 * accuracy are left out) and b - a. One row per benchmark present on either side, sorted by id;
 * held-out benchmarks are left out.
 */
export function accuracyDeltas(a: readonly RunSummary[], b: readonly RunSummary[]): AccuracyDelta[] {
  const benches = [...new Set([...a, ...b].filter((r) => !r.heldOut).map((r) => r.bench))].sort();
  const meanOn = (runs: readonly RunSummary[], bench: BenchId): number | null => {
    const accs = accuracies(runs.filter((r) => r.bench === bench));
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

/** A variant: the same source, budget and engine (a leaderboard row; plus the benchmark, a seed group). */
export function variantKey(r: Pick<RunSummary, 'variantHash' | 'budget' | 'engine'>): string {
  return `${r.variantHash}|${r.budget}|${r.engine}`;
}

/**
 * The comparison of run `a` (baseline) with run `b`, and with every run in `more` (no cap).
 * Accuracy deltas compare *variants*: every run in `all` with the same variant source
 * (variantHash), budget and engine as the baseline, resp. the other run, averaged over seeds per
 * benchmark. When the two ran the same source, only the two runs themselves are used.
 */
export function buildComparison(
  a: RunRecord,
  b: RunRecord,
  all: readonly RunRecord[],
  ctx: DashboardContext = EMPTY_CONTEXT,
  more: readonly RunRecord[] = [],
): Comparison {
  const summaries = all.map((r) => toRunSummary(r, ctx));
  const versus = (other: RunRecord) => {
    const sa = toRunSummary(a, ctx);
    const so = toRunSummary(other, ctx);
    const groupOf = (ref: RunSummary) =>
      withRun(
        summaries.filter((x) => variantKey(x) === variantKey(ref)),
        ref,
      );
    const same = sa.variantHash === so.variantHash;
    const deltas = accuracyDeltas(same ? [sa] : groupOf(sa), same ? [so] : groupOf(so));
    return { run: so, settingsDiff: settingsDiff(comparableSettings(a), comparableSettings(other)), accuracyDeltas: deltas };
  };
  const ab = versus(b);
  const comparison: Comparison = { a: toRunSummary(a, ctx), b: ab.run, settingsDiff: ab.settingsDiff, accuracyDeltas: ab.accuracyDeltas };
  if (more.length) comparison.more = more.map(versus);
  return comparison;
}

function withRun(group: RunSummary[], run: RunSummary): RunSummary[] {
  return group.some((x) => x.id === run.id) ? group : [...group, run];
}

// ---------------------------------------------------------------------------------------------
// Leaderboard
// ---------------------------------------------------------------------------------------------

function cellOf(runs: readonly RunSummary[], bench: BenchId, opts: LeaderboardOptions): LeaderboardCell {
  if (opts.heldOut.has(bench)) return { heldOut: true, runs: runs.length };
  const accs = accuracies(runs);
  const cell: LeaderboardCell = {
    mean: accs.length ? mean(accs) : null,
    std: accs.length >= 2 ? sampleStd(accs) : null,
    n: accs.length,
    runIds: runs.map((r) => r.id),
  };
  const significance = opts.significance?.(runs, bench);
  if (significance) cell.significance = significance;
  return cell;
}

/** The row of one variant, from its runs (all with the same variantKey); null without runs. */
export function leaderboardRow(runs: readonly RunSummary[], opts: LeaderboardOptions): LeaderboardRow | null {
  if (!runs.length) return null;
  const newest = runs.reduce((m, r) => (r.createdAt > m.createdAt ? r : m));
  const byBench = new Map<BenchId, RunSummary[]>();
  for (const r of runs) byBench.set(r.bench, [...(byBench.get(r.bench) ?? []), r]);
  const cells: LeaderboardRow['cells'] = {};
  for (const [bench, list] of byBench) cells[bench] = cellOf(list, bench, opts);
  const row: LeaderboardRow = {
    key: variantKey(newest),
    variantName: newest.variantName,
    variantHash: newest.variantHash,
    edit: newest.edit,
    budget: newest.budget,
    engine: newest.engine,
    cells,
  };
  const named = runs.find((r) => r.displayName);
  if (named?.displayName) row.displayName = named.displayName;
  return row;
}

/** Variants as rows (newest first), the benchmarks that have runs as columns (in benchmark order). */
export function buildLeaderboard(summaries: readonly RunSummary[], opts: LeaderboardOptions): Leaderboard {
  const byKey = new Map<string, RunSummary[]>();
  for (const r of summaries) byKey.set(variantKey(r), [...(byKey.get(variantKey(r)) ?? []), r]);
  const rows = [...byKey.values()].map((runs) => leaderboardRow(runs, opts)).filter((r): r is LeaderboardRow => r !== null);
  const newestOf = (key: string) => (byKey.get(key) ?? []).reduce((m, r) => (r.createdAt > m ? r.createdAt : m), '');
  rows.sort((x, y) => newestOf(y.key).localeCompare(newestOf(x.key)) || x.key.localeCompare(y.key));
  const present = new Set(summaries.map((r) => r.bench));
  const columns = BENCHMARKS.filter((b) => present.has(b.id)).map((b) => ({ bench: b.id, heldOut: opts.heldOut.has(b.id) }));
  return { columns, rows };
}

/** The update of the row that `run` belongs to, recomputed from every summary. */
export function rowUpdate(key: string, summaries: readonly RunSummary[], opts: LeaderboardOptions): LeaderboardRowUpdate {
  return {
    key,
    row: leaderboardRow(
      summaries.filter((r) => variantKey(r) === key),
      opts,
    ),
  };
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

type Message<T extends HostToWebviewMessage['type']> = Extract<HostToWebviewMessage, { type: T }>;

/** The one full message: every run, the epochs the page may see, the leaderboard. */
export function snapshotMessage(
  records: readonly RunRecord[],
  epochsOf: (runId: string) => readonly EpochEvent[],
  selected: string[],
  comparison: Comparison | undefined,
  ctx: DashboardContext,
  /** A run's within-epoch loss (src/present/step-loss.ts); runs without points are left out. */
  stepLossOf?: (runId: string) => StepLoss,
): Message<'snapshot'> {
  const runs = records.map((r) => toRunSummary(r, ctx));
  const epochs: Record<string, EpochColumns> = {};
  const stepLoss: Record<string, StepLoss> = {};
  for (const r of records) {
    if (ctx.heldOut.has(r.spec.bench)) continue;
    epochs[r.id] = toEpochColumns(epochsOf(r.id));
    const points = stepLossOf?.(r.id);
    if (points?.x.length) stepLoss[r.id] = points;
  }
  const payload: Message<'snapshot'>['payload'] = { runs, epochs, selected, comparison, leaderboard: buildLeaderboard(runs, ctx) };
  if (stepLossOf) payload.stepLoss = stepLoss;
  return { type: 'snapshot', payload };
}

/**
 * The delta for a changed run: its summary, its variant's leaderboard row, and the epoch when
 * there is one the page may see.
 */
export function appendMessage(record: RunRecord, all: readonly RunRecord[], ctx: DashboardContext, event?: EpochEvent): Message<'append'> {
  const run = toRunSummary(record, ctx);
  const summaries = all.map((r) => toRunSummary(r, ctx));
  const payload: Message<'append'>['payload'] = { runId: record.id, run, leaderboard: rowUpdate(variantKey(run), summaries, ctx) };
  if (event && !run.heldOut) payload.event = event;
  return { type: 'append', payload };
}

/** The delta for a deleted run: `key` is its variantKey, `rest` the records left. */
export function removeMessage(runId: string, key: string, rest: readonly RunRecord[], ctx: DashboardContext): Message<'remove'> {
  const summaries = rest.map((r) => toRunSummary(r, ctx));
  return { type: 'remove', payload: { runId, leaderboard: rowUpdate(key, summaries, ctx) } };
}
