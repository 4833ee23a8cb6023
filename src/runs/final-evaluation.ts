/**
 * The editor's "Final Evaluation…" as data: for a variant source (hash) of some task kinds, the
 * held-out benchmark of each kind, the final evaluations it already has there at the budget, and
 * the runs of the source still going; with the sentences the command shows. The CLI's
 * `regbench final` applies the same rules. No `vscode` import.
 */
import { getBenchmark, TASK_KINDS, type BenchId, type BudgetId, type TaskKind } from '../protocol/benchmarks';
import { activeRunsOf, priorFinals } from './held-out';
import type { RunRecord } from './run-record';

export interface FinalPlan {
  hash: string;
  budget: BudgetId;
  benches: BenchId[];
  /** Final evaluations of this source on those benchmarks at this budget (done or going). */
  prior: RunRecord[];
  /** Runs of this source (any benchmark) still queued or running. */
  active: RunRecord[];
}

export function finalPlan(records: readonly RunRecord[], hash: string, kinds: readonly TaskKind[], budget: BudgetId): FinalPlan {
  const benches = [...new Set(kinds.map((k) => TASK_KINDS[k].heldOut))];
  return {
    hash,
    budget,
    benches,
    prior: benches.flatMap((b) => priorFinals(records, hash, b, budget)),
    active: activeRunsOf(records, hash),
  };
}

function benchTitles(benches: readonly BenchId[]): string {
  return benches.map((b) => getBenchmark(b).title).join(' and ');
}

/** "3 runs of this source are still going (...)": why the evaluation waits. */
export function activeText(plan: FinalPlan, name: string): string {
  const n = plan.active.length;
  const list = plan.active.map((r) => `${getBenchmark(r.spec.bench).short} seed ${r.spec.seed}, ${r.status}`).join('; ');
  return `${n} run${n === 1 ? '' : 's'} of this source of ${name} ${n === 1 ? 'is' : 'are'} still going (${list}). A final evaluation judges the finished variant: wait for ${n === 1 ? 'it' : 'them'} to end first.`;
}

/** The modal question before a second final evaluation of the same source. */
export function repeatText(plan: FinalPlan, name: string): string {
  const done = plan.prior.map((r) => (r.bestTestAcc !== null ? `${r.bestTestAcc.toFixed(2)}%` : r.status)).join(', ');
  return `${name} (source ${plan.hash}) already has ${plan.prior.length === 1 ? 'a final evaluation' : `${plan.prior.length} final evaluations`} on ${benchTitles(plan.benches)} at budget ${plan.budget} (${done}). Another one is shown beside it, never instead of it. Run it again?`;
}

/** The notification once the runs are queued. */
export function startedText(plan: FinalPlan, name: string, runs: number): string {
  return `Final evaluation of ${name} (source ${plan.hash}) on ${benchTitles(plan.benches)}: ${runs} run${runs === 1 ? '' : 's'} queued at budget ${plan.budget}. Its numbers show in the lens, the dashboard and tables from now on.`;
}
