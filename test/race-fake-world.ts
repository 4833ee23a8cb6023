/**
 * Test helper: a race world with no processes. Every run "trains" at once; its best accuracy is
 * 50 + a (benchmark, seed) effect shared by every entrant (same seed: same initialisation and
 * data order) + the entrant's true effect + independent noise. Runs live in a map, so a test can
 * count them, stop the world mid-rung and resume.
 */
import type { BenchId } from '../src/protocol/benchmarks';
import { RACE_FORMAT, type RaceRecord, type RaceRung } from '../src/protocol/race';
import { parseLadder, planRungs, rungText } from '../src/races/race-plan';
import type { CellOrder, CellRun, RaceWorld } from '../src/races/race-runner';
import { seededRandom } from '../src/analysis/statistics';

/** A seeded generator (the statistics' mulberry32: one definition in the code base). */
export const rng = seededRandom;

export function normal(r: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

export interface FakeOptions {
  /** True effect per entrant id (percentage points; 'baseline' is 0 unless given). */
  effects: Record<string, number>;
  /** SD of the (benchmark, seed) effect shared by all entrants, and of each run's own noise. */
  seedSd: number;
  noiseSd: number;
  seed: number;
  /** Entrant ids whose runs fail. */
  failing?: string[];
  save?: (race: RaceRecord) => void;
  /** Stop after this many runs have ended (a kill mid-rung). */
  stopAfterRuns?: number;
}

export class FakeWorld implements RaceWorld {
  readonly runs = new Map<string, CellRun & { key: string }>();
  /** Every run the world trained, by cell key: a key twice would be a repeated run. */
  readonly trained: string[] = [];
  readonly lines: string[] = [];
  private stop = false;
  private readonly shared = new Map<string, number>();
  private next = 0;
  private draws = 0;

  constructor(private readonly opts: FakeOptions) {}

  private key(o: CellOrder): string {
    return `${o.entrant.variantHash}|${o.bench}|${o.rung.ladder.label}|${o.seed}`;
  }

  private score(o: CellOrder): number {
    const r = rng(this.opts.seed * 7919 + ++this.draws * 104729 + 13);
    const sk = `${o.bench}/${o.seed}/${o.rung.ladder.label}`;
    if (!this.shared.has(sk)) this.shared.set(sk, this.opts.seedSd * normal(rng(this.opts.seed * 31 + this.shared.size * 1009 + 7)));
    return 50 + (this.shared.get(sk) as number) + (this.opts.effects[o.entrant.id] ?? 0) + this.opts.noiseSd * normal(r);
  }

  findFinished(o: CellOrder): CellRun | undefined {
    const k = this.key(o);
    return [...this.runs.values()].find((r) => r.key === k && r.status === 'completed');
  }

  get(runId: string): CellRun | undefined {
    return this.runs.get(runId);
  }

  async execute(orders: CellOrder[], started: (p: ReadonlyArray<readonly [CellOrder, string]>) => void, ended: (id: string) => void): Promise<void> {
    const made = orders
      .filter((o) => !o.runId)
      .map((o) => {
        const id = `run-${++this.next}`;
        this.runs.set(id, {
          runId: id,
          key: this.key(o),
          status: 'queued',
          bestTestAcc: null,
          epochsCompleted: 0,
          epochSeconds: null,
          live: false,
          resumable: true,
        });
        return [o, id] as const;
      });
    if (made.length) started(made);
    const all = [...orders.filter((o) => o.runId).map((o) => [o, o.runId as string] as const), ...made];
    for (const [o, id] of all) {
      if (this.stop) return;
      const run = this.runs.get(id) as CellRun & { key: string };
      this.trained.push(run.key);
      const fails = this.opts.failing?.includes(o.entrant.id);
      Object.assign(
        run,
        fails
          ? { status: 'failed', error: 'SyntaxError: Unexpected token (variant.ts:3)', resumable: false }
          : {
              status: 'completed',
              bestTestAcc: this.score(o),
              epochsCompleted: o.rung.epochs,
              epochSeconds: (o.rung.trainSubset ?? 50000) / 256,
              resumable: false,
            },
      );
      ended(id);
      if (this.opts.stopAfterRuns !== undefined && this.trained.length >= this.opts.stopAfterRuns) this.stop = true;
    }
  }

  save(race: RaceRecord): void {
    this.opts.save?.(race);
  }

  say(line: string): void {
    this.lines.push(line);
  }

  stopped(): boolean {
    return this.stop;
  }

  resume(): void {
    this.stop = false;
    this.opts.stopAfterRuns = undefined;
  }

  rungDone?(race: RaceRecord, rung: RaceRung): void;
}

/** A race record over fake entrants c1..cn (no files): 2 benchmarks, smoke -> quick, seeds 0,1,2 unless given. */
export function fakeRace(n: number, opts: { benches?: BenchId[]; ladder?: string; seeds?: number[]; alpha?: number; eta?: number } = {}): RaceRecord {
  const benches = opts.benches ?? ['resnet20-cifar10', 'resnet56-cifar100'];
  const ladder = parseLadder(opts.ladder ?? 'smoke,quick', benches);
  const seeds = opts.seeds ?? [0, 1, 2];
  const rungs = planRungs(benches, ladder, seeds);
  const entrant = (id: string) => ({
    id,
    label: id,
    variantPath: `/v/${id}.ts`,
    variantHash: `hash-${id}`,
    engine: 'tfjs' as const,
    kind: 'regularizer' as const,
  });
  return {
    format: RACE_FORMAT,
    id: 'test-race',
    created: new Date(0).toISOString(),
    status: 'running',
    request: { candidates: [], baseline: 'blank', benches, ladder, seeds, alpha: opts.alpha ?? 0.05, eta: opts.eta, concurrency: 1, command: 'test' },
    order: rungs.map(rungText),
    baseline: entrant('baseline'),
    candidates: Array.from({ length: n }, (_, i) => ({ ...entrant(`c${i + 1}`), status: 'advanced' as const, rung: -1 })),
    rungs,
    taus: [],
  };
}
