/**
 * The editor's "Final Evaluation…" as data: for a variant source (hash) of some task kinds, the
 * held-out benchmark of each kind, the final evaluations it already has there at the budget, and
 * the runs of the source still going; with the sentences the command shows. The CLI's
 * `regbench final` applies the same rules. No `vscode` import.
 */
import { getBenchmark, TASK_KINDS, type BenchId, type BudgetId, type TaskKind } from '../protocol/benchmarks';
import { activeRunsOf, priorFinals } from './held-out';
import type { RunRecord } from '../runs/run-record';

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

/** The editor's side of a final evaluation: its questions and the run service. */
export interface FinalFlow {
  records(): readonly RunRecord[];
  /** Says why it must wait (`text`) and offers to; true once the runs ended, false when declined. */
  waitForActive(text: string): PromiseLike<boolean>;
  /** The modal question before another final evaluation of the same source; true to go on. */
  confirmRepeat(text: string): PromiseLike<boolean>;
  /** Queues one run of the held-out benchmark and marks it final before its worker starts. */
  startFinal(bench: BenchId, seed: number): RunRecord;
}

export interface FinalTarget {
  hash: string;
  name: string;
  kinds: readonly TaskKind[];
  budget: BudgetId;
  seeds: readonly number[];
}

/**
 * A final evaluation from start to queued runs: waits for (or stops at) runs of the source still
 * going, asks before a repeat, then queues one final run per held-out benchmark and seed. Returns
 * the queued runs (none when the user stopped) and the plan they were queued under.
 */
export async function runFinalEvaluation(flow: FinalFlow, t: FinalTarget): Promise<{ plan: FinalPlan; queued: RunRecord[] }> {
  let plan = finalPlan(flow.records(), t.hash, t.kinds, t.budget);
  if (plan.active.length) {
    if (!(await flow.waitForActive(activeText(plan, t.name)))) return { plan, queued: [] };
    plan = finalPlan(flow.records(), t.hash, t.kinds, t.budget);
  }
  if (plan.prior.length && !(await flow.confirmRepeat(repeatText(plan, t.name)))) return { plan, queued: [] };
  const queued = plan.benches.flatMap((bench) => t.seeds.map((seed) => flow.startFinal(bench, seed)));
  return { plan, queued };
}
