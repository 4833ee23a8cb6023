/**
 * Keeps the rows of the submitted Slurm matrices: a matrix whose runs have all ended is read from
 * the store alone; the others ask squeue through src/runs/slurm/jobs. While some task is pending
 * or running (or was just resumed) and the view is visible, it polls again after the back-off's
 * delay (5 s, doubling to 60 s while nothing changes); otherwise no timer runs at all.
 * The clock, the timers and the scheduler query are injectable for tests. No `vscode` import.
 */
import type { RunRecord } from '../run-record';
import type { RunStore } from '../run-store';
import { DEFAULT_BACKOFF, PollBackoff } from '../poll-backoff';
import { matrixTasks, type TaskRow } from './jobs';
import { scanMatrices, type DamagedMatrix, type MatrixInfo } from './matrix';
import { finishedRows, isUnfinished, rowsKey, rowWithRecord } from './matrix-view';

/** How long a resumed matrix is polled even while squeue and the store still say it ended. */
const RESUME_GRACE_MS = 120_000;

export interface MatrixRows {
  matrix: MatrixInfo;
  rows: TaskRow[];
  /** The last scheduler error (one line), while it lasts. */
  error?: string;
}

export interface PollerClock {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
}

const REAL_CLOCK: PollerClock = {
  now: Date.now,
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface PollerOptions {
  store: RunStore;
  /** The rows changed (or were loaded): redraw. */
  changed: () => void;
  /** Whether anyone looks: no timer while the view is hidden. */
  visible: () => boolean;
  clock?: PollerClock;
  /** The scheduler's view of a matrix (default: squeue through matrixTasks). */
  tasks?: (store: RunStore, m: MatrixInfo) => Promise<TaskRow[]>;
}

export class MatrixPoller {
  private readonly clock: PollerClock;
  private readonly backoff: PollBackoff;
  private readonly resumedAt = new Map<string, number>();
  private timer: unknown;
  private inFlight: Promise<void> | undefined;
  private current: MatrixRows[] = [];
  private damagedFolders: DamagedMatrix[] = [];
  private loaded = false;

  constructor(private readonly opts: PollerOptions) {
    this.clock = opts.clock ?? REAL_CLOCK;
    this.backoff = new PollBackoff({ ...DEFAULT_BACKOFF, now: this.clock.now });
  }

  /** Whether a poll is scheduled (for tests and for the view's refresh). */
  get scheduled(): boolean {
    return this.timer !== undefined;
  }

  /** The delay of the scheduled poll. */
  get delayMs(): number {
    return this.backoff.delayMs;
  }

  get matrices(): readonly MatrixRows[] {
    return this.current;
  }

  /** Matrix folders whose matrix.json, tasks.json or job.sh is damaged (named in each damage). */
  get damaged(): readonly DamagedMatrix[] {
    return this.damagedFolders;
  }

  get hasLoaded(): boolean {
    return this.loaded;
  }

  /** Poll now (a submission, cancel or resume happened, or the view was opened). */
  kick(resumedMatrixId?: string): void {
    if (resumedMatrixId) this.resumedAt.set(resumedMatrixId, this.clock.now());
    this.backoff.reset();
    this.clearTimer();
    void this.poll();
  }

  /** A run changed in the store: update its row (epochs, best accuracy) without asking Slurm. */
  onRecord(r: RunRecord): boolean {
    for (const m of this.current) {
      const row = m.rows.find((x) => x.runId === r.id);
      if (!row) continue;
      m.rows = m.rows.map((x) => (x === row ? rowWithRecord(x, r) : x));
      return true;
    }
    return false;
  }

  dispose(): void {
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  /** Polls now (or joins the poll under way); resolves once the rows are read and the next poll, if any, is scheduled. */
  poll(): Promise<void> {
    this.inFlight ??= this.readAll().finally(() => (this.inFlight = undefined));
    return this.inFlight;
  }

  private async readAll(): Promise<void> {
    const previous = new Map(this.current.map((m) => [m.matrix.id, m]));
    const { matrices, damaged } = scanMatrices(this.opts.store);
    this.damagedFolders = damaged;
    this.current = await Promise.all(matrices.map((m) => this.rowsOf(m, previous.get(m.id))));
    this.loaded = true;
    this.opts.changed();
    this.schedule();
  }

  private async rowsOf(m: MatrixInfo, previous: MatrixRows | undefined): Promise<MatrixRows> {
    const resumed = (this.resumedAt.get(m.id) ?? -Infinity) > this.clock.now() - RESUME_GRACE_MS;
    const done = resumed ? undefined : finishedRows(m, (id) => this.opts.store.get(id));
    if (done) return { matrix: m, rows: done };
    try {
      const rows = await (this.opts.tasks ?? matrixTasks)(this.opts.store, m);
      // The requeued tasks are back in the scheduler's list: the usual rule applies again.
      if (rows.some(isUnfinished)) this.resumedAt.delete(m.id);
      return { matrix: m, rows };
    } catch (err) {
      return { matrix: m, rows: previous?.rows ?? [], error: (err as Error).message.split('\n')[0] };
    }
  }

  private live(): boolean {
    const now = this.clock.now();
    for (const [id, at] of this.resumedAt) if (at <= now - RESUME_GRACE_MS) this.resumedAt.delete(id);
    return this.resumedAt.size > 0 || this.current.some((m) => m.error !== undefined || m.rows.some(isUnfinished));
  }

  private schedule(): void {
    this.clearTimer();
    if (!this.live() || !this.opts.visible()) return;
    const delay = this.backoff.observe(this.current.map((m) => `${m.matrix.id}=${rowsKey(m.rows)}|${m.error ?? ''}`).join(';'));
    this.timer = this.clock.setTimer(() => {
      this.timer = undefined;
      void this.poll();
    }, delay);
  }
}
