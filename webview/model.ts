/**
 * What the page holds of the host's data (no DOM): runs, their epochs and the leaderboard, kept
 * up to date by snapshot, append and remove. Labels come from src/present/run-label.ts, the same
 * function the tree and the pickers use.
 */
import { BENCHMARKS } from '../src/protocol/benchmarks';
import type { EpochEvent } from '../src/protocol/events';
import {
  EPOCH_METRICS,
  type EpochColumns,
  type HostToWebviewMessage,
  type LeaderboardColumn,
  type LeaderboardRow,
  type LeaderboardRowUpdate,
  type RunSummary,
  type StepLoss,
} from '../src/protocol/webview';
import { runLabel } from '../src/present/run-label';
import { mergeStepLoss, NO_STEP_LOSS } from '../src/present/step-loss';

type Payload<T extends HostToWebviewMessage['type']> = Extract<HostToWebviewMessage, { type: T }>['payload'];

const benchOrder = (bench: string) => BENCHMARKS.findIndex((b) => b.id === bench);

function emptyColumns(): EpochColumns {
  const cols = { epoch: [] as number[] } as EpochColumns;
  for (const k of EPOCH_METRICS) cols[k] = [];
  return cols;
}
const NO_EPOCHS: EpochColumns = emptyColumns();

export class DashboardData {
  readonly runs = new Map<string, RunSummary>();
  private readonly epochs = new Map<string, EpochColumns>();
  /** Within-epoch training loss per run (at most STEP_LOSS_LIMIT points each). */
  private readonly steps = new Map<string, StepLoss>();
  readonly rows = new Map<string, LeaderboardRow>();
  columns: LeaderboardColumn[] = [];

  snapshot(p: Payload<'snapshot'>): void {
    this.runs.clear();
    this.epochs.clear();
    this.steps.clear();
    this.rows.clear();
    for (const r of p.runs) this.runs.set(r.id, r);
    for (const [id, cols] of Object.entries(p.epochs)) this.epochs.set(id, cols);
    for (const [id, points] of Object.entries(p.stepLoss ?? {})) this.steps.set(id, mergeStepLoss(NO_STEP_LOSS, points));
    for (const row of p.leaderboard.rows) this.rows.set(row.key, row);
    this.columns = [...p.leaderboard.columns];
  }

  /** Returns whether the run is new to the page. */
  append(p: Payload<'append'>): boolean {
    const isNew = !this.runs.has(p.run.id);
    this.runs.set(p.run.id, p.run);
    if (p.event && p.event.runId === p.run.id) this.storeEpoch(p.event);
    if (p.leaderboard) this.updateRow(p.leaderboard);
    if (!this.columns.some((c) => c.bench === p.run.bench)) {
      this.columns = [...this.columns, { bench: p.run.bench, heldOut: p.run.heldOut === true }].sort((a, b) => benchOrder(a.bench) - benchOrder(b.bench));
    }
    return isNew;
  }

  remove(p: Payload<'remove'>): void {
    this.runs.delete(p.runId);
    this.epochs.delete(p.runId);
    this.steps.delete(p.runId);
    if (p.leaderboard) this.updateRow(p.leaderboard);
    const benches = new Set([...this.runs.values()].map((r) => r.bench));
    this.columns = this.columns.filter((c) => benches.has(c.bench));
  }

  /** Merges new within-epoch points of a known run (thinned to the limit); false for an unknown run. */
  addStepLoss(p: Payload<'stepLoss'>): boolean {
    if (!this.runs.has(p.runId) || this.runs.get(p.runId)?.heldOut) return false;
    this.steps.set(p.runId, mergeStepLoss(this.steps.get(p.runId) ?? NO_STEP_LOSS, p.points));
    return true;
  }

  stepLossOf(runId: string): StepLoss | undefined {
    return this.steps.get(runId);
  }

  epochsOf(runId: string): EpochColumns {
    return this.epochs.get(runId) ?? NO_EPOCHS;
  }

  label(runId: string): string {
    const r = this.runs.get(runId);
    return r ? runLabel(r) : runId;
  }

  /** Runs in creation order (oldest first). */
  runsByAge(): RunSummary[] {
    return [...this.runs.values()].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Benchmarks with runs, in the benchmarks' order. */
  benches(): string[] {
    return this.columns.map((c) => c.bench);
  }

  isHeldOut(bench: string): boolean {
    return this.columns.some((c) => c.bench === bench && c.heldOut);
  }

  private updateRow(u: LeaderboardRowUpdate): void {
    if (u.row) this.rows.set(u.key, u.row);
    else this.rows.delete(u.key);
  }

  /** Appends one epoch, or replaces it when the page has it already (a resent epoch). */
  private storeEpoch(e: EpochEvent): void {
    let cols = this.epochs.get(e.runId);
    if (!cols) this.epochs.set(e.runId, (cols = emptyColumns()));
    const last = cols.epoch[cols.epoch.length - 1];
    let at = cols.epoch.length;
    if (last !== undefined && last >= e.epoch) {
      at = cols.epoch.findIndex((x) => x >= e.epoch);
      if (cols.epoch[at] !== e.epoch) cols.epoch.splice(at, 0, e.epoch);
    } else cols.epoch.push(e.epoch);
    const inserted = cols.epoch.length > cols.trainLoss.length;
    for (const k of EPOCH_METRICS) cols[k].splice(at, inserted ? 0 : 1, Number.isFinite(e[k]) ? e[k] : null);
  }
}
