/**
 * What a race's world in a real run store shares, locally or on Slurm: the request of a cell's
 * run, finding an identical finished run to reuse (same source hash, benchmark, budget,
 * overrides, seed, engine, backend, device and data folder), and a run's state as the race sees
 * it. A candidate whose file changed since the race started runs the copy the race kept
 * (`.regbench/races/<id>/entrants/<entrant>/<file>`), so a race always compares the sources it began with.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RaceEntrant, RaceRecord } from '../protocol/race';
import type { RunRecord } from '../runs/run-record';
import { variantHash, type RunRequest } from '../runs/run-request';
import { writeAtomic, type RunStore } from '../runs/run-store';
import { racesDir, writeRace } from './race-store';
import { stepSize } from './race-plan';
import type { CellOrder, CellRun } from './race-runner';

const FINAL_STATUSES = ['completed', 'failed', 'diverged', 'cancelled'];

/** The hash of a file's text, or undefined when it cannot be read. */
function hashOfFile(file: string): string | undefined {
  try {
    return variantHash(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Keeps a copy of each entrant's source beside the race (the user may edit a file mid-race); on
 * resume, a kept copy that is missing or damaged is written again from the user's file while that
 * file still has the hash the race began with.
 */
export function keepEntrantSources(storeRoot: string, race: RaceRecord): void {
  for (const e of [race.baseline, ...race.candidates]) {
    const copy = entrantCopy(storeRoot, race.id, e);
    if (hashOfFile(copy) === e.variantHash) continue;
    if (hashOfFile(e.variantPath) !== e.variantHash) continue;
    fs.mkdirSync(path.dirname(copy), { recursive: true });
    writeAtomic(copy, fs.readFileSync(e.variantPath, 'utf8'));
  }
}

function entrantCopy(storeRoot: string, raceId: string, e: RaceEntrant): string {
  return path.join(racesDir(storeRoot), raceId, 'entrants', e.id, path.basename(e.variantPath));
}

export function cellRun(r: RunRecord, alive: (r: RunRecord) => boolean): CellRun {
  const final = FINAL_STATUSES.includes(r.status);
  const where = r.error?.file ? ` (${path.basename(r.error.file)}${r.error.line ? `:${r.error.line}` : ''})` : '';
  return {
    runId: r.id,
    status: r.status,
    bestTestAcc: r.bestTestAcc,
    epochsCompleted: r.epochsCompleted,
    epochSeconds: r.epochSeconds,
    live: !final && r.status !== 'interrupted' && alive(r),
    resumable: r.status === 'interrupted' || (r.status === 'cancelled' && r.startedAt === undefined),
    error: r.status === 'completed' ? undefined : r.error ? `${r.error.message}${where}` : r.reason,
  };
}

export abstract class StoreWorld {
  private index: Map<string, RunRecord> | undefined;
  private stopRequested = false;

  constructor(
    protected readonly store: RunStore,
    protected readonly race: RaceRecord,
    private readonly log: (line: string) => void,
  ) {}

  /** The run request of a cell (the ladder step's overrides, the race's engine settings). */
  request(order: CellOrder): RunRequest {
    const req = this.race.request;
    const l = order.rung.ladder;
    return {
      variantPath: this.sourceOf(order.entrant),
      bench: order.bench,
      budget: l.budget,
      epochs: l.epochs,
      trainSubset: l.trainSubset,
      testSubset: l.testSubset,
      seed: order.seed,
      backend: req.backend,
      device: req.device,
      dataDir: req.dataDir,
      stepTimeoutSeconds: req.stepTimeoutSeconds,
    };
  }

  /**
   * The file with the source the race began with: the user's, else the copy kept beside the
   * race. Neither (the user's file changed and the copy is missing or damaged): an error naming
   * both, never a run of a different source.
   */
  private sourceOf(e: RaceEntrant): string {
    if (hashOfFile(e.variantPath) === e.variantHash) return e.variantPath;
    const copy = entrantCopy(this.store.root, this.race.id, e);
    if (hashOfFile(copy) === e.variantHash) return copy;
    const state = fs.existsSync(copy) ? 'damaged (its text no longer has that hash)' : 'missing';
    throw new Error(
      `${e.label}: ${e.variantPath} is not the source race ${this.race.id} began with (hash ${e.variantHash.slice(0, 12)}), and the copy the race kept, ${copy}, is ${state}: put that version of the file back, then \`regbench race --resume ${this.race.id}\``,
    );
  }

  private keyOf(o: {
    hash: string;
    bench: string;
    budget: string;
    epochs: number;
    train: number | null;
    test: number | null;
    seed: number;
    engine: string;
    backend?: string;
    device?: string;
    dataDir?: string;
  }): string {
    return JSON.stringify([
      o.hash,
      o.bench,
      o.budget,
      o.epochs,
      o.train,
      o.test,
      o.seed,
      o.engine,
      o.backend ?? '',
      o.device ?? '',
      o.dataDir ? path.resolve(o.dataDir) : '',
    ]);
  }

  findFinished(order: CellOrder): CellRun | undefined {
    if (!this.index) {
      this.index = new Map();
      for (const r of this.store.list()) {
        if (r.status !== 'completed' || r.bestTestAcc === null || r.final) continue;
        const s = r.spec;
        this.index.set(
          this.keyOf({
            hash: s.variantHash,
            bench: s.bench,
            budget: s.budget,
            epochs: s.epochs,
            train: s.trainSubset,
            test: s.testSubset,
            seed: s.seed,
            engine: s.engine,
            backend: s.backend,
            device: s.device,
            dataDir: s.dataDir,
          }),
          r,
        );
      }
    }
    const size = stepSize(order.rung.ladder, order.bench);
    const req = this.race.request;
    const key = this.keyOf({
      hash: order.entrant.variantHash,
      bench: order.bench,
      budget: order.rung.ladder.budget,
      epochs: size.epochs,
      train: size.trainSubset,
      test: size.testSubset,
      seed: order.seed,
      engine: order.entrant.engine,
      backend: req.backend,
      device: req.device,
      dataDir: req.dataDir,
    });
    const r = this.index.get(key);
    return r ? cellRun(r, () => false) : undefined;
  }

  get(runId: string): CellRun | undefined {
    const r = this.store.get(runId);
    if (!r) return undefined;
    return cellRun(r.executor ? r : this.store.reconcile(r), (x) => this.alive(x));
  }

  /** Whether a run not ended is still being worked on (a local owner process or a Slurm task). */
  protected abstract alive(r: RunRecord): boolean;

  /** New runs were made: the reuse index is stale. */
  protected forgetIndex(): void {
    this.index = undefined;
  }

  save(race: RaceRecord): void {
    writeRace(this.store.root, race);
  }

  say(line: string): void {
    this.log(line);
  }

  stop(): void {
    this.stopRequested = true;
  }

  stopped(): boolean {
    return this.stopRequested;
  }
}
