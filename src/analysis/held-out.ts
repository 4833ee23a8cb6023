/**
 * The held-out benchmark of each task kind (TASK_KINDS in src/protocol/benchmarks.ts): its numbers
 * stay hidden in lenses, dashboard and tables until a final evaluation of that exact variant source
 * (hash) exists. Every run of a held-out benchmark started from the CLI is recorded as a final
 * evaluation (`final: true` in the record); all final evaluations stay visible. A run of the
 * held-out benchmark without the mark (older runs) shows only once its hash has a final evaluation.
 */
import { getBenchmark, TASK_KINDS, type BenchId, type BudgetId, type RunSpec, type TaskKind } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import type { RunStore } from '../runs/run-store';
import { taskKindsOf, variantName, type RunGroup } from './run-groups';

/** The task kinds (of the variant's kinds) that hold `bench` out. */
export function heldOutKinds(bench: BenchId, variantKind: { regularizer: boolean; norm: boolean }): TaskKind[] {
  return taskKindsOf(variantKind).filter((k) => TASK_KINDS[k].heldOut === bench);
}

export function isHeldOut(spec: Pick<RunSpec, 'bench' | 'variantKind'>): boolean {
  return heldOutKinds(spec.bench, spec.variantKind).length > 0;
}

/** A final evaluation exists once a final run has started (a run that never started shows nothing). */
export function finalHashes(records: readonly RunRecord[]): Set<string> {
  return new Set(records.filter((r) => r.final === true && r.startedAt !== undefined && isHeldOut(r.spec)).map((r) => r.spec.variantHash));
}

export function isVisible(r: RunRecord, finals: ReadonlySet<string>): boolean {
  return !isHeldOut(r.spec) || r.final === true || finals.has(r.spec.variantHash);
}

/** The records a view may show: held-out runs only after their variant's final evaluation. */
export function visibleRecords(records: readonly RunRecord[]): RunRecord[] {
  const finals = finalHashes(records);
  return records.filter((r) => isVisible(r, finals));
}

/** The groups a view may show, with their hidden runs taken out (`records`: all of them). */
export function visibleGroups(groups: readonly RunGroup[], records: readonly RunRecord[]): RunGroup[] {
  const finals = finalHashes(records);
  const out: RunGroup[] = [];
  for (const g of groups) {
    const runs = g.runs.filter((r) => isVisible(r, finals));
    const pending = g.pending.filter((r) => isVisible(r, finals));
    if (!runs.length && !pending.length) continue;
    out.push({ ...g, runs, values: runs.map((r) => r.bestTestAcc as number), pending });
  }
  return out;
}

/** Final evaluations of `hash` on `bench` at `budget` that produced or are producing a result. */
export function priorFinals(records: readonly RunRecord[], hash: string, bench: BenchId, budget: BudgetId): RunRecord[] {
  return records.filter(
    (r) =>
      r.final === true &&
      r.spec.variantHash === hash &&
      r.spec.bench === bench &&
      r.spec.budget === budget &&
      (r.epochsCompleted > 0 || r.status === 'running' || r.status === 'queued'),
  );
}

/** Runs of `hash` (any benchmark) still queued or running. */
export function activeRunsOf(records: readonly RunRecord[], hash: string): RunRecord[] {
  return records.filter((r) => r.spec.variantHash === hash && (r.status === 'queued' || r.status === 'running'));
}

/** The line the CLI prints before a run of a held-out benchmark starts. */
export function finalNotice(spec: RunSpec, previous: number): string {
  const kinds = heldOutKinds(spec.bench, spec.variantKind)
    .map((k) => TASK_KINDS[k].title)
    .join(' and ');
  const again = previous > 0 ? `; it is final evaluation ${previous + 1} of this source at this budget, and every one stays visible` : '';
  return `${getBenchmark(spec.bench).title} is the held-out benchmark for ${kinds}: this run is recorded as a final evaluation of ${variantName(spec.variantPath)} (source ${spec.variantHash})${again}`;
}

/** Marks a freshly created (queued) run as a final evaluation, before its worker starts. */
export function markFinal(store: RunStore, runId: string): RunRecord {
  const r = store.get(runId);
  if (!r) throw new Error(`run ${runId} has no record`);
  if (r.status !== 'queued') throw new Error(`run ${runId} has already started; only a queued run can be marked final`);
  return store.update(runId, (current) => ({ ...current, final: true }));
}
