/**
 * A race on Slurm: each rung is one job array (src/runs/slurm/matrix.ts submitRuns) of its new
 * runs and of the race's stopped runs to continue (a task resumes from the run's checkpoint).
 * The race process polls the store and the scheduler (a task that died is reconciled as the
 * `regbench jobs` command does) until every run of the rung has ended. Stopping the race process
 * leaves the job array running; `regbench race --resume` waits for it.
 */
import type { RunRecord } from '../runs/run-record';
import type { RunStore } from '../runs/run-store';
import { prepareRun } from '../runs/runner';
import { readMatrix, submitRuns, type SubmitOptions } from '../runs/slurm/matrix';
import { matrixTasks } from '../runs/slurm/jobs';
import type { RaceRecord } from '../protocol/race';
import type { CellOrder, RaceWorld } from './race-runner';
import { StoreWorld } from './store-world';

export interface SlurmWorldOptions {
  submit: Omit<SubmitOptions, 'store'>;
  pollSeconds?: number;
}

export class SlurmWorld extends StoreWorld implements RaceWorld {
  constructor(
    store: RunStore,
    race: RaceRecord,
    log: (line: string) => void,
    private readonly opts: SlurmWorldOptions,
  ) {
    super(store, race, log);
  }

  protected alive(r: RunRecord): boolean {
    return r.executor !== undefined && r.status !== 'interrupted';
  }

  async execute(orders: CellOrder[], started: (pairs: ReadonlyArray<readonly [CellOrder, string]>) => void, ended: (runId: string) => void): Promise<void> {
    if (!orders.length) return;
    const made = orders
      .filter((o) => o.runId === undefined)
      .map((o) => {
        const r = prepareRun(this.request(o), this.store);
        if (o.entrant.sweep) this.store.update(r.id, (x) => ({ ...x, displayName: o.entrant.label }));
        return [o, r.id] as const;
      });
    if (made.length) started(made);
    this.forgetIndex();
    const resubmit = orders.filter((o) => o.runId !== undefined && this.get(o.runId)?.resumable).map((o) => o.runId as string);
    const toSubmit = [...resubmit, ...made.map(([, id]) => id)].map((id) => this.store.get(id) as RunRecord);
    const rung = orders[0].rung;
    if (toSubmit.length) {
      const m = await submitRuns(toSubmit, `race-${this.race.id}-rung${rung.index + 1}`, { ...this.opts.submit, store: this.store });
      rung.slurm = { matrixId: m.id, jobId: m.jobId };
      this.save(this.race);
      this.say(`rung ${rung.index + 1}: Slurm job array ${m.jobId} (${toSubmit.length} tasks)`);
    }
    const waiting = new Set(
      orders
        .map((o) => o.runId)
        .filter((x): x is string => x !== undefined)
        .concat(made.map(([, id]) => id)),
    );
    while (waiting.size && !this.stopped()) {
      await new Promise((res) => setTimeout(res, (this.opts.pollSeconds ?? 5) * 1000));
      const matrices = new Set([...waiting].map((id) => this.store.get(id)?.executor?.matrixId).filter((x): x is string => x !== undefined));
      for (const id of matrices) {
        const m = readMatrix(this.store, id);
        if (m) await matrixTasks(this.store, m, this.opts.submit).catch((err: Error) => this.say(`regbench: squeue: ${err.message}`));
      }
      for (const id of [...waiting]) {
        const run = this.get(id);
        if (run && run.live) continue;
        waiting.delete(id);
        ended(id);
      }
    }
  }
}
