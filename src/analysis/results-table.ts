/**
 * The results table of one task kind at one budget and engine: benchmark columns x variant rows,
 * mean ± sample std (n) of the best test accuracy over seeds, the best mean per column marked,
 * significance marks against the task's baseline (paired t-test where the seeds match, Welch's
 * where they differ; Holm-adjusted over each column's variants), held-out columns only once a
 * final evaluation exists, and the benchmarks' published figures as external rows (measured
 * elsewhere, full protocol). Runs of different budgets, engines or recipes are never mixed: the
 * table refuses and says why. Rendering to md / LaTeX / CSV / JSON is in results-format.ts.
 */
import { getBenchmark, TASK_KINDS, type BenchId, type BudgetId, type EngineId, type TaskKind } from '../protocol/benchmarks';
import { PUBLISHED, type PublishedValue } from '../protocol/published';
import type { RunRecord } from '../runs/run-record';
import { trackBenchmarks } from '../protocol/benchmark-tracks';
import { visibleGroups } from './held-out';
import { baselineGroupFor, groupRuns, recipeDiff, type BaselineHashes, type RunGroup } from './run-groups';
import { describe, type Interval } from './statistics';
import { compareSeeded, holmAdjust, seededOf, type SeedComparison } from './seed-comparison';

export class TableError extends Error {}

export interface TableOptions {
  kind: TaskKind;
  budget?: BudgetId;
  engine?: EngineId;
  baselines: BaselineHashes;
  /** A variant hash (or prefix) to use as the baseline instead of the task's template. */
  baselineHash?: string;
}

export type SignificanceMark = '' | '†' | '‡';

export interface TableCell {
  mean: number;
  std: number;
  n: number;
  ci95: Interval | null;
  /** mean - baseline mean; null for the baseline row or without a baseline group. */
  diff: number | null;
  /**
   * Two-sided p against the baseline: the paired t-test's when both ran the same seeds, Welch's
   * otherwise (`test` says which); null when no test is possible.
   */
  p: number | null;
  /** p Holm-adjusted over the column's variants compared with the baseline (the marks use it). */
  pHolm: number | null;
  /** "paired, n=3 seeds" or "unpaired: seeds differ"; null without a comparison. */
  test: string | null;
  /** Welch's two-sided p (unpaired), also when the paired test is the headline. */
  pWelch: number | null;
  permutationP: number | null;
  /** Exact sign-flip p of the paired differences; null when unpaired or n < 2. */
  signFlipP: number | null;
  mark: SignificanceMark;
  best: boolean;
  /** The column is a held-out benchmark: these are final evaluations. */
  final: boolean;
}

export interface TableColumn {
  bench: BenchId;
  title: string;
  heldOut: boolean;
}

export interface MeasuredRow {
  name: string;
  variantHash: string;
  baseline: boolean;
  cells: Partial<Record<BenchId, TableCell>>;
  /** Held-out columns whose numbers stay hidden for this variant (no final evaluation yet). */
  hidden: BenchId[];
}

export interface ExternalRow {
  name: string;
  source: string;
  note?: string;
  values: Partial<Record<BenchId, PublishedValue>>;
}

export interface ResultsTable {
  kind: TaskKind;
  budget: BudgetId;
  engine: EngineId;
  columns: TableColumn[];
  rows: MeasuredRow[];
  external: ExternalRow[];
  baselineName: string | null;
  notes: string[];
}

function pickOne<T extends string>(values: Set<T>, chosen: T | undefined, what: string, flag: string): T {
  if (chosen !== undefined) return chosen;
  if (values.size > 1)
    throw new TableError(`the runs are at ${values.size} different ${what}s (${[...values].join(', ')}); a table never mixes them: choose one with ${flag}`);
  const [only] = [...values];
  return only;
}

/** Checks that each benchmark's groups share one recipe; throws TableError naming the difference. */
function checkRecipes(groups: readonly RunGroup[]): void {
  const byBench = new Map<BenchId, RunGroup>();
  for (const g of groups) {
    const first = byBench.get(g.bench);
    if (!first) byBench.set(g.bench, g);
    else if (first.protocol !== g.protocol) {
      throw new TableError(
        `on ${getBenchmark(g.bench).title} the runs of ${first.name} and ${g.name} used different recipes (${recipeDiff(first.protocol, g.protocol)}); a table never mixes them: delete or re-run the odd runs, or keep to the budget's own settings`,
      );
    }
  }
}

export function buildResultsTable(records: readonly RunRecord[], opts: TableOptions): ResultsTable {
  const ofKind = records.filter((r) => (opts.kind === 'regularizer' ? r.spec.variantKind.regularizer : r.spec.variantKind.norm));
  const done = ofKind.filter((r) => r.status === 'completed' && r.bestTestAcc !== null);
  if (!done.length) throw new TableError(`no completed runs of ${TASK_KINDS[opts.kind].title} yet`);
  const budget = pickOne(new Set(done.map((r) => r.spec.budget)), opts.budget, 'budget', '--budget');
  const atBudget = done.filter((r) => r.spec.budget === budget);
  if (!atBudget.length) throw new TableError(`no completed runs of ${TASK_KINDS[opts.kind].title} at budget ${budget}`);
  const engine = pickOne(new Set(atBudget.map((r) => r.spec.engine)), opts.engine, 'engine', '--engine tfjs|pytorch');
  const chosen = atBudget.filter((r) => r.spec.engine === engine);
  if (!chosen.length) throw new TableError(`no completed ${engine} runs of ${TASK_KINDS[opts.kind].title} at budget ${budget}`);
  const all = groupRuns(chosen);
  checkRecipes(all);
  const groups = visibleGroups(all, records).filter((g) => g.values.length > 0);
  const baselineOf = baselineFinder(groups, opts);
  const columns = tableColumns(opts.kind, groups);
  const isBase = (g: RunGroup) => isBaselineGroup(g, opts);
  const rows = measuredRows(groups, all, columns, baselineOf, isBase);
  markSignificance(rows, columns);
  markBest(rows, columns);
  const baselineName = groups.find(isBase)?.name ?? null;
  return {
    kind: opts.kind,
    budget,
    engine,
    columns,
    rows,
    external: externalRows(opts.kind, columns),
    baselineName,
    notes: tableNotes(opts.kind, budget, engine, baselineName, rows, columns),
  };
}

function isBaselineGroup(g: RunGroup, opts: TableOptions): boolean {
  if (opts.baselineHash) return g.variantHash.startsWith(opts.baselineHash);
  const b = opts.baselines.get(g.variantHash);
  return b !== undefined && b.kind === opts.kind;
}

/** For a group, its baseline group on the same benchmark (undefined for a baseline itself). */
function baselineFinder(groups: readonly RunGroup[], opts: TableOptions): (g: RunGroup) => RunGroup | undefined {
  return (g) => {
    if (isBaselineGroup(g, opts)) return undefined;
    if (opts.baselineHash) return groups.find((b) => b.bench === g.bench && isBaselineGroup(b, opts));
    return baselineGroupFor(g, groups, opts.baselines);
  };
}

function tableColumns(kind: TaskKind, groups: readonly RunGroup[]): TableColumn[] {
  const track = trackBenchmarks({ regularizer: kind === 'regularizer', norm: kind === 'norm' });
  const heldOut = TASK_KINDS[kind].heldOut;
  const measured = new Set(groups.map((g) => g.bench));
  const benches = track.filter((b) => b !== heldOut || measured.has(b));
  for (const g of groups) if (!benches.includes(g.bench)) benches.push(g.bench);
  return benches.map((bench) => ({ bench, title: getBenchmark(bench).short, heldOut: bench === heldOut }));
}

function measuredRows(
  groups: readonly RunGroup[],
  all: readonly RunGroup[],
  columns: readonly TableColumn[],
  baselineOf: (g: RunGroup) => RunGroup | undefined,
  isBase: (g: RunGroup) => boolean,
): MeasuredRow[] {
  const hashes = [...new Set(groups.map((g) => g.variantHash))];
  const names = new Map(hashes.map((h) => [h, groups.find((g) => g.variantHash === h)?.name ?? h]));
  const rows = hashes.map((hash): MeasuredRow => {
    const mine = groups.filter((g) => g.variantHash === hash);
    const name = names.get(hash) ?? hash;
    const clash = [...names.entries()].some(([h, n]) => h !== hash && n === name);
    const cells: Partial<Record<BenchId, TableCell>> = {};
    for (const g of mine) cells[g.bench] = makeCell(g, baselineOf(g), columns);
    const hidden = columns.filter((c) => c.heldOut && !cells[c.bench] && all.some((g) => g.variantHash === hash && g.bench === c.bench)).map((c) => c.bench);
    return { name: clash ? `${name} (${hash.slice(0, 6)})` : name, variantHash: hash, baseline: mine.some(isBase), cells, hidden };
  });
  return rows.sort((a, b) => Number(b.baseline) - Number(a.baseline));
}

function makeCell(g: RunGroup, baseline: RunGroup | undefined, columns: readonly TableColumn[]): TableCell {
  const s = describe(g.values);
  const c: SeedComparison | undefined = baseline && baseline.values.length ? compareSeeded(seededOf(baseline), seededOf(g)) : undefined;
  const heldOut = columns.some((col) => col.bench === g.bench && col.heldOut);
  return {
    mean: s.mean,
    std: s.std,
    n: s.n,
    ci95: s.ci95,
    diff: c ? c.diff : null,
    p: c?.p ?? null,
    pHolm: null,
    test: c?.method ?? null,
    pWelch: c?.unpaired.welch?.p ?? null,
    permutationP: c?.unpaired.permutationP ?? null,
    signFlipP: c?.paired?.signFlipP ?? null,
    mark: '',
    best: false,
    final: heldOut,
  };
}

/** Per column, Holm over the variants compared with the baseline; the marks follow the adjusted p. */
function markSignificance(rows: MeasuredRow[], columns: readonly TableColumn[]): void {
  for (const col of columns) {
    const cells = rows.map((r) => r.cells[col.bench]).filter((c): c is TableCell => c !== undefined && c.test !== null);
    const adjusted = holmAdjust(cells.map((c) => c.p));
    cells.forEach((c, i) => {
      const p = adjusted[i];
      c.pHolm = p;
      c.mark = p === null ? '' : p < 0.01 ? '‡' : p < 0.05 ? '†' : '';
    });
  }
}

/** "ResNet-20/C10: paired, n=3 seeds (2 variants against the baseline, Holm over 2)." per column with comparisons. */
function testNotes(rows: readonly MeasuredRow[], columns: readonly TableColumn[]): string[] {
  const out: string[] = [];
  for (const col of columns) {
    const tested = rows.filter((r) => r.cells[col.bench]?.test);
    if (!tested.length) continue;
    const byTest = new Map<string, string[]>();
    for (const r of tested) {
      const t = r.cells[col.bench]?.test as string;
      byTest.set(t, [...(byTest.get(t) ?? []), r.name]);
    }
    const holmOver = tested.filter((r) => r.cells[col.bench]?.p !== null).length;
    const methods = byTest.size === 1 ? [...byTest.keys()][0] : [...byTest.entries()].map(([t, names]) => `${t} for ${names.join(', ')}`).join('; ');
    out.push(
      `${col.title}: ${methods} (${tested.length} variant${tested.length === 1 ? '' : 's'} against the baseline${holmOver > 1 ? `, Holm over ${holmOver}` : ''}).`,
    );
  }
  return out;
}

function markBest(rows: MeasuredRow[], columns: readonly TableColumn[]): void {
  for (const col of columns) {
    const cells = rows.map((r) => r.cells[col.bench]).filter((c): c is TableCell => c !== undefined);
    if (cells.length < 2) continue;
    const top = Math.max(...cells.map((c) => c.mean));
    for (const c of cells) c.best = c.mean === top;
  }
}

function externalRows(kind: TaskKind, columns: readonly TableColumn[]): ExternalRow[] {
  return PUBLISHED.filter((p) => p.kinds.includes(kind))
    .map((p) => ({
      name: p.name,
      source: p.source,
      note: p.note,
      values: Object.fromEntries(columns.filter((c) => p.values[c.bench] !== undefined).map((c) => [c.bench, p.values[c.bench]])),
    }))
    .filter((r) => Object.keys(r.values).length > 0);
}

function tableNotes(
  kind: TaskKind,
  budget: BudgetId,
  engine: EngineId,
  baselineName: string | null,
  rows: readonly MeasuredRow[],
  columns: readonly TableColumn[],
): string[] {
  const notes = [`Best test accuracy (%), mean ± sample std over seeds (n runs); budget ${budget}, engine ${engine}; best mean per column in bold.`];
  if (baselineName) {
    notes.push(
      `† p < 0.05, ‡ p < 0.01 against the baseline (${baselineName}) on the same benchmark: two-sided paired t-test where both ran the same seeds, Welch's t-test where the seeds differ ("unpaired"); Holm-adjusted over the variants of each column; no mark with n = 1.`,
    );
    notes.push(...testNotes(rows, columns));
  } else
    notes.push(
      `No baseline runs (${kind === 'regularizer' ? 'templates/regularizers/blank' : 'templates/norms/batchnorm'}) at this budget and engine: no significance marks.`,
    );
  const heldOut = TASK_KINDS[kind].heldOut;
  const shown = columns.some((c) => c.heldOut);
  notes.push(
    shown
      ? `${getBenchmark(heldOut).short} is held out: only final evaluations are shown; "held out" marks a variant without one.`
      : `${getBenchmark(heldOut).short} is held out and has no final evaluation yet: its column is not shown.`,
  );
  if (rows.some((r) => r.hidden.length)) notes.push('Held-out runs without a final evaluation of the same source are hidden.');
  notes.push('External rows: published figures of the benchmarks (full protocol, 200 epochs), not measured here.');
  return notes;
}
