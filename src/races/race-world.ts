/**
 * What the race runner (race-runner.ts) needs from the place runs happen: a world that runs a
 * rung's cells (this machine, a Slurm cluster, or a test's fake), finds identical finished runs,
 * reports a run's state and keeps the race record.
 */
import type { BenchId } from '../protocol/benchmarks';
import type { RunStatus } from '../protocol/events';
import type { RaceEntrant, RaceRecord, RaceRung } from '../protocol/race';

/** What a race needs to know of one run. */
export interface CellRun {
  runId: string;
  status: RunStatus;
  bestTestAcc: number | null;
  epochsCompleted: number;
  epochSeconds: number | null;
  /** A process (here or a Slurm task) still works on it. */
  live: boolean;
  /** Stopped before it ended (interrupted, or cancelled before it started): the race continues it. */
  resumable: boolean;
  /** Why it failed ("syntax error at line 3: ..."). */
  error?: string;
}

/** One cell to run: new (no runId) or an existing stopped run to continue / a live one to wait for. */
export interface CellOrder {
  entrant: RaceEntrant;
  rung: RaceRung;
  bench: BenchId;
  seed: number;
  runId?: string;
}

export interface RaceWorld {
  /** A completed run of exactly this cell (same source, benchmark, budget, overrides, seed, engine). */
  findFinished(order: CellOrder): CellRun | undefined;
  get(runId: string): CellRun | undefined;
  /**
   * Runs the orders; calls `started` with each new run's id as soon as it exists (before it
   * trains), `ended` when a run has ended; resolves when every order has ended or the world was stopped.
   */
  execute(orders: CellOrder[], started: (pairs: ReadonlyArray<readonly [CellOrder, string]>) => void, ended: (runId: string) => void): Promise<void>;
  save(race: RaceRecord): void;
  say(line: string): void;
  stopped(): boolean;
  /** Rung reports (progress text); optional. */
  rungDone?(race: RaceRecord, rung: RaceRung): void;
}
