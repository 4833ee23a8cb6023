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
 * - Held-out benchmarks: the host never sends their numbers. A run on one arrives with
 *   `heldOut: true`, null accuracies and no epoch events; its leaderboard cells are HeldOutCell
 *   (a run count, no accuracy). Absent, not merely hidden: the page cannot show what it never got.
 * Contracts only: types, message unions and their validators. It imports nothing outside
 * src/protocol/ and no `vscode`; the host builds payloads with src/present/dashboard-model.ts.
 */
import type { BackendId, BenchId, BudgetId, EngineId } from './benchmarks';
import type { EpochEvent, RunStatus } from './events';
import type { RaceView } from './race-view';

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
  /** The user's name for the run, when given (see src/present/run-label.ts). */
  displayName?: string;
  /** 1-based edit number of the variant file (n-th distinct source hash, by time); null when unknown. */
  edit: number | null;
  /** Set on runs of a held-out benchmark: accuracies are null and no epochs are sent. */
  heldOut?: true;
}

/** The per-epoch metrics the dashboard draws (fields of EpochEvent). */
export const EPOCH_METRICS = ['trainLoss', 'testLoss', 'trainAcc', 'testAcc', 'lr', 'regTerm'] as const;
export type EpochMetric = (typeof EPOCH_METRICS)[number];

/**
 * A run's epochs column-wise: `epoch[i]` (0-based) and each metric's value at it, null where it
 * was not finite. One array per metric instead of an object per epoch: a snapshot of 500 runs x
 * 200 epochs clones and sits in memory several times cheaper.
 */
export type EpochColumns = { epoch: number[] } & Record<EpochMetric, Array<number | null>>;

/**
 * A run's training loss inside its epochs (from `progress` events), column-wise: x = 0-based
 * epoch + step/steps (the end of epoch e is e + 1, where its epoch point is drawn), `loss` = the
 * epoch's running mean loss at that step. Sorted by x; at most STEP_LOSS_LIMIT points.
 */
export interface StepLoss {
  x: number[];
  loss: number[];
}
export const STEP_LOSS_LIMIT = 200;

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

/** A further run compared with the same baseline `a`, with its own differences against it. */
export interface ComparedRun {
  run: RunSummary;
  settingsDiff: SettingDifference[];
  accuracyDeltas: AccuracyDelta[];
}

export interface Comparison {
  a: RunSummary;
  b: RunSummary;
  /** Only the keys that differ, sorted by key. */
  settingsDiff: SettingDifference[];
  /** One row per benchmark that either variant ran on, sorted by bench id. */
  accuracyDeltas: AccuracyDelta[];
  /** Runs C, D, … against the same baseline; there is no cap on how many. */
  more?: ComparedRun[];
}

/**
 * Significance of a cell's difference against the baseline variant on that benchmark (computed by
 * the statistics module on the host; optional until it exists). `diff` in percentage points.
 */
export interface Significance {
  /** The p the mark follows: Holm-adjusted over the benchmark's variants against the same baseline. */
  p: number;
  diff: number;
  /** "paired, n=3 seeds" (paired t-test) or "unpaired: seeds differ" (Welch). */
  test?: string;
  /** The unadjusted p, and how many variants Holm corrected over (set when more than one). */
  rawP?: number;
  holmOver?: number;
}

/** A seed group on one benchmark: mean ± sample std of the best test accuracy. */
export interface ScoredCell {
  heldOut?: false;
  /** Null while no run of the group has an accuracy. */
  mean: number | null;
  /** Sample std (n - 1); null below two accuracies. */
  std: number | null;
  /** Runs with an accuracy (what mean and std are over). */
  n: number;
  /** Every run of the group, for "show its curves". */
  runIds: string[];
  significance?: Significance;
}

/** A held-out benchmark's cell: how many runs there are, and nothing measured. */
export interface HeldOutCell {
  heldOut: true;
  runs: number;
}

export type LeaderboardCell = ScoredCell | HeldOutCell;

/** One variant (same source hash, budget and engine) across the benchmarks. */
export interface LeaderboardRow {
  /** variantHash, budget and engine: see variantKey in src/present/dashboard-model.ts. */
  key: string;
  variantName: string;
  variantHash: string;
  edit: number | null;
  displayName?: string;
  budget: BudgetId;
  engine: EngineId;
  /** Only benchmarks the variant ran on. */
  cells: Partial<Record<BenchId, LeaderboardCell>>;
}

export interface LeaderboardColumn {
  bench: BenchId;
  heldOut: boolean;
}

export interface Leaderboard {
  columns: LeaderboardColumn[];
  rows: LeaderboardRow[];
}

/** A changed leaderboard row; `row: null` removes the row (its last run was deleted). */
export interface LeaderboardRowUpdate {
  key: string;
  row: LeaderboardRow | null;
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
  /** Ask for a comparison of run a (baseline) with run b (and `more`); the host answers with `compare`. */
  | { type: 'compare'; payload: { a: string; b: string; more?: string[] } }
  | { type: 'cancelRun'; payload: { runId: string } }
  /** Continue an interrupted run from its last checkpoint (the tree's Resume Run). */
  | { type: 'resumeRun'; payload: { runId: string } }
  /** Copy the command recorded with the run that repeats it. */
  | { type: 'copyRerunCommand'; payload: { runId: string } }
  /** Open the run's events/log in an editor or output channel. */
  | { type: 'showLog'; payload: { runId: string } }
  /** Stop a running race (its runs are cancelled; `regbench race --resume` continues it). */
  | { type: 'cancelRace'; payload: { raceId: string } };

/** host -> webview */
export type HostToWebviewMessage =
  | {
      type: 'snapshot';
      payload: {
        runs: RunSummary[];
        /** Completed epochs per run id, in epoch order; held-out runs are absent. */
        epochs: Record<string, EpochColumns>;
        selected: string[];
        comparison?: Comparison;
        leaderboard: Leaderboard;
        /** Within-epoch training loss per run id (runs with progress events; held-out runs are absent). */
        stepLoss?: Record<string, StepLoss>;
        /** The workspace's races, newest first (src/protocol/race-view.ts). */
        races?: RaceView[];
        /** One line per race.json that could not be read (naming the file): shown, never hidden. */
        raceProblems?: string[];
      };
    }
  /**
   * The run's new summary; `event` is set when the change was a completed epoch, `leaderboard`
   * when the run's variant row changed.
   */
  | { type: 'append'; payload: { runId: string; run: RunSummary; event?: EpochEvent; leaderboard?: LeaderboardRowUpdate } }
  | { type: 'remove'; payload: { runId: string; leaderboard?: LeaderboardRowUpdate } }
  | { type: 'select'; payload: { runIds: string[] } }
  | { type: 'compare'; payload: { comparison: Comparison } }
  /** New within-epoch loss points of a run (merged into what the page holds, then thinned). */
  | { type: 'stepLoss'; payload: { runId: string; points: StepLoss } }
  /** A race is new or changed (the whole view of that race); `reveal`: show it now (a race just started). */
  | { type: 'race'; payload: { race: RaceView; reveal?: boolean } };

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
  compare: (p) => nonEmpty(p.a) && nonEmpty(p.b) && (p.more === undefined || (isStringArray(p.more) && p.more.every(nonEmpty))),
  cancelRun: (p) => nonEmpty(p.runId),
  resumeRun: (p) => nonEmpty(p.runId),
  copyRerunCommand: (p) => nonEmpty(p.runId),
  showLog: (p) => nonEmpty(p.runId),
  cancelRace: (p) => nonEmpty(p.raceId),
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

function isComparedRun(x: unknown): x is ComparedRun {
  return isObject(x) && isRunSummary(x.run) && Array.isArray(x.settingsDiff) && Array.isArray(x.accuracyDeltas);
}

function isComparison(x: unknown): x is Comparison {
  const more = isObject(x) ? x.more : undefined;
  return (
    isObject(x) &&
    isRunSummary(x.a) &&
    isRunSummary(x.b) &&
    Array.isArray(x.settingsDiff) &&
    Array.isArray(x.accuracyDeltas) &&
    (more === undefined || (Array.isArray(more) && more.every(isComparedRun)))
  );
}

function isLeaderboardRow(x: unknown): x is LeaderboardRow {
  return isObject(x) && nonEmpty(x.key) && typeof x.variantName === 'string' && isObject(x.cells);
}

function isLeaderboard(x: unknown): x is Leaderboard {
  return (
    isObject(x) &&
    Array.isArray(x.columns) &&
    x.columns.every((c) => isObject(c) && typeof c.bench === 'string') &&
    Array.isArray(x.rows) &&
    x.rows.every(isLeaderboardRow)
  );
}

function isRowUpdate(x: unknown): x is LeaderboardRowUpdate {
  return isObject(x) && nonEmpty(x.key) && (x.row === null || isLeaderboardRow(x.row));
}

function isEpochColumns(x: unknown): x is EpochColumns {
  if (!isObject(x) || !Array.isArray(x.epoch)) return false;
  const n = x.epoch.length;
  return EPOCH_METRICS.every((k) => Array.isArray(x[k]) && (x[k] as unknown[]).length === n);
}

function isStepLoss(x: unknown): x is StepLoss {
  return (
    isObject(x) &&
    Array.isArray(x.x) &&
    Array.isArray(x.loss) &&
    x.x.length === x.loss.length &&
    x.x.every((v) => typeof v === 'number') &&
    x.loss.every((v) => typeof v === 'number')
  );
}

function isRaceView(x: unknown): x is RaceView {
  return (
    isObject(x) &&
    nonEmpty(x.id) &&
    typeof x.status === 'string' &&
    Array.isArray(x.entrants) &&
    Array.isArray(x.rungs) &&
    Array.isArray(x.ranking) &&
    Array.isArray(x.taus)
  );
}

function isEpochEvent(x: unknown): x is EpochEvent {
  return isObject(x) && x.type === 'epoch' && typeof x.epoch === 'number' && typeof x.runId === 'string';
}

const HOST_PAYLOAD_CHECKS: Record<HostToWebviewType, (p: Record<string, unknown>) => boolean> = {
  snapshot: (p) =>
    Array.isArray(p.runs) &&
    p.runs.every(isRunSummary) &&
    isObject(p.epochs) &&
    Object.values(p.epochs).every(isEpochColumns) &&
    isStringArray(p.selected) &&
    (p.comparison === undefined || isComparison(p.comparison)) &&
    isLeaderboard(p.leaderboard) &&
    (p.stepLoss === undefined || (isObject(p.stepLoss) && Object.values(p.stepLoss).every(isStepLoss))) &&
    (p.races === undefined || (Array.isArray(p.races) && p.races.every(isRaceView))) &&
    (p.raceProblems === undefined || isStringArray(p.raceProblems)),
  append: (p) =>
    nonEmpty(p.runId) && isRunSummary(p.run) && (p.event === undefined || isEpochEvent(p.event)) && (p.leaderboard === undefined || isRowUpdate(p.leaderboard)),
  remove: (p) => nonEmpty(p.runId) && (p.leaderboard === undefined || isRowUpdate(p.leaderboard)),
  select: (p) => isStringArray(p.runIds),
  compare: (p) => isComparison(p.comparison),
  stepLoss: (p) => nonEmpty(p.runId) && isStepLoss(p.points),
  race: (p) => isRaceView(p.race) && (p.reveal === undefined || typeof p.reveal === 'boolean'),
};

/** True when `x` is a well-formed message from the host (checked shallowly: ids, arrays, tags). */
export function isHostToWebviewMessage(x: unknown): x is HostToWebviewMessage {
  if (!isObject(x) || typeof x.type !== 'string' || !isObject(x.payload)) return false;
  return Object.hasOwn(HOST_PAYLOAD_CHECKS, x.type) && HOST_PAYLOAD_CHECKS[x.type as HostToWebviewType](x.payload);
}
