/**
 * Keeps the rows of the submitted Slurm matrices: a matrix whose runs have all ended is read from
 * the store alone; the others ask squeue through src/runs/slurm/jobs. While some task is pending
 * or running (or was just resumed) and the view is visible, it polls again after the back-off's
 * delay (5 s, doubling to 60 s while nothing changes); otherwise no timer runs at all.
 */
import type { RunRecord } from '../runs/run-record';
import type { RunStore } from '../runs/run-store';
import { DEFAULT_BACKOFF, PollBackoff } from '../runs/poll-backoff';
import { matrixTasks, type TaskRow } from '../runs/slurm/jobs';
import { listMatrices, type MatrixInfo } from '../runs/slurm/matrix';
import { finishedRows, isUnfinished, rowsKey } from '../runs/slurm/matrix-view';

/** How long a resumed matrix is polled even while squeue and the store still say it ended. */
const RESUME_GRACE_MS = 120_000;

export interface MatrixRows {
  matrix: MatrixInfo;
  rows: TaskRow[];
  /** The last scheduler error (one line), while it lasts. */
  error?: string;
}

export class MatrixPoller {
  private readonly backoff = new PollBackoff({ ...DEFAULT_BACKOFF, now: Date.now });
  private readonly resumedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private current: MatrixRows[] = [];
  private loaded = false;

  constructor(
    private readonly store: RunStore,
    private readonly changed: () => void,
    private readonly visible: () => boolean,
  ) {}

  get matrices(): readonly MatrixRows[] {
    return this.current;
  }

  get hasLoaded(): boolean {
    return this.loaded;
  }

  /** Poll now (a submission, cancel or resume happened, or the view was opened). */
  kick(resumedMatrixId?: string): void {
    if (resumedMatrixId) this.resumedAt.set(resumedMatrixId, Date.now());
    this.backoff.reset();
    this.clearTimer();
    void this.poll();
  }

  /** A run changed in the store: update its row (epochs, best accuracy) without asking Slurm. */
  onRecord(r: RunRecord): boolean {
    for (const m of this.current) {
      const row = m.rows.find((x) => x.runId === r.id);
      if (!row) continue;
      Object.assign(row, { lastEpoch: r.epochsCompleted, totalEpochs: r.totalEpochs, bestTestAcc: r.bestTestAcc, runStatus: r.status });
      return true;
    }
    return false;
  }

  dispose(): void {
    this.clearTimer();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const previous = new Map(this.current.map((m) => [m.matrix.id, m]));
      this.current = await Promise.all(listMatrices(this.store).map((m) => this.rowsOf(m, previous.get(m.id))));
      this.loaded = true;
    } finally {
      this.polling = false;
    }
    this.changed();
    this.schedule();
  }

  private async rowsOf(m: MatrixInfo, previous: MatrixRows | undefined): Promise<MatrixRows> {
    const resumed = (this.resumedAt.get(m.id) ?? 0) > Date.now() - RESUME_GRACE_MS;
    const done = resumed ? undefined : finishedRows(m, (id) => this.store.get(id));
    if (done) return { matrix: m, rows: done };
    try {
      return { matrix: m, rows: await matrixTasks(this.store, m) };
    } catch (err) {
      return { matrix: m, rows: previous?.rows ?? [], error: (err as Error).message.split('\n')[0] };
    }
  }

  private live(): boolean {
    const now = Date.now();
    for (const [id, at] of this.resumedAt) if (at <= now - RESUME_GRACE_MS) this.resumedAt.delete(id);
    return this.resumedAt.size > 0 || this.current.some((m) => m.error !== undefined || m.rows.some(isUnfinished));
  }

  private schedule(): void {
    this.clearTimer();
    if (!this.live() || !this.visible()) return;
    const delay = this.backoff.observe(this.current.map((m) => `${m.matrix.id}=${rowsKey(m.rows)}|${m.error ?? ''}`).join(';'));
    this.timer = setTimeout(() => void this.poll(), delay);
  }
}
