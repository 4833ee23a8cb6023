/**
 * A race on this machine: a rung's new runs are created (queued) first, so list, dashboard and
 * lenses show them at once, then trained `concurrency` at a time with the ordinary runner; a
 * stopped run of the race is continued from its checkpoint (`resume`), never started again.
 * stop() asks the running workers to checkpoint and stop (the runs end interrupted) and ends the
 * queued ones as cancelled before they started; `regbench race --resume` continues all of them.
 */
import { syntheticRunEnd, type RunRecord } from '../runs/run-record';
import type { RunStore } from '../runs/run-store';
import { prepareRun, resumeRun, RunHandle, type RunnerOptions } from '../runs/runner';
import type { RaceRecord } from '../protocol/race';
import type { CellOrder, RaceWorld } from './race-runner';
import { StoreWorld } from './store-world';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface LocalWorldOptions {
  concurrency: number;
  runner?: Omit<RunnerOptions, 'store'>;
  /** Seconds between polls of a run another process owns. */
  pollSeconds?: number;
}

export class LocalWorld extends StoreWorld implements RaceWorld {
  private readonly active = new Set<RunHandle>();

  constructor(
    store: RunStore,
    race: RaceRecord,
    log: (line: string) => void,
    private readonly opts: LocalWorldOptions,
  ) {
    super(store, race, log);
  }

  protected alive(r: RunRecord): boolean {
    return r.ownerPid !== undefined && isAlive(r.ownerPid);
  }

  async execute(orders: CellOrder[], started: (pairs: ReadonlyArray<readonly [CellOrder, string]>) => void, ended: (runId: string) => void): Promise<void> {
    const fresh = orders.filter((o) => o.runId === undefined);
    const made: Array<readonly [CellOrder, string]> = fresh.map((o) => {
      const r = prepareRun(this.request(o), this.store);
      if (o.entrant.sweep) this.store.update(r.id, (x) => ({ ...x, displayName: o.entrant.label }));
      return [o, r.id] as const;
    });
    if (made.length) started(made);
    this.forgetIndex();
    const queue = [...orders.filter((o) => o.runId !== undefined).map((o) => [o, o.runId as string] as const), ...made];
    const work = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) {
        if (this.stopped()) return;
        await this.one(next[1]);
        ended(next[1]);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, this.opts.concurrency) }, work));
    for (const [, runId] of queue) {
      const r = this.store.get(runId);
      if (r && r.status === 'queued')
        this.store.append(runId, syntheticRunEnd(r, 'cancelled', 'the race stopped before this run started; `regbench race --resume` runs it'));
    }
  }

  /** Trains one run (new), continues a stopped one, or waits for one another process owns. */
  private async one(runId: string): Promise<void> {
    const r = this.store.get(runId);
    if (!r) return;
    const rec = this.store.reconcile(r);
    const runner = { ...this.opts.runner, store: this.store };
    let handle: RunHandle;
    if (rec.status === 'queued' && rec.startedAt === undefined && rec.ownerPid === process.pid) {
      handle = new RunHandle(rec.spec, runner);
      this.active.add(handle);
      await handle.start();
    } else if (rec.status === 'running' || rec.status === 'queued') {
      while (!this.stopped()) {
        const now = this.get(runId);
        if (!now || !now.live) break;
        await new Promise((res) => setTimeout(res, (this.opts.pollSeconds ?? 5) * 1000));
      }
      return;
    } else if (rec.status === 'interrupted' || rec.status === 'cancelled') {
      handle = await resumeRun(runId, runner);
      this.active.add(handle);
    } else return;
    if (this.stopped()) void handle.interrupt();
    await handle.done;
    this.active.delete(handle);
  }

  override stop(): void {
    super.stop();
    for (const h of this.active) void h.interrupt();
  }
}
