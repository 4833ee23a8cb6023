/**
 * A first-in-first-out queue of runs with a concurrency limit. It knows nothing about processes
 * or the store: a job starts, can be asked to stop, and settles when it has ended. Jobs cancelled
 * while waiting never start; the queue calls their `discard()` instead so the owner can mark them
 * (the extension writes a 'cancelled' run-end for them). No `vscode` import.
 */

export interface QueueJob {
  readonly id: string;
  /** Runs the job to its end. The slot frees when the promise settles, whatever the outcome. */
  run(): Promise<void>;
  /** Asks a started job to stop; its run() promise must still settle afterwards. */
  cancel(): void;
  /** Called instead of run() when the job is cancelled before it started. */
  discard(): void;
}

export type QueueEvent =
  { type: 'queued'; id: string; position: number } | { type: 'started'; id: string } | { type: 'finished'; id: string } | { type: 'discarded'; id: string };

export type CancelOutcome = 'discarded' | 'cancelling' | 'unknown';

export class RunQueue {
  private readonly waiting: QueueJob[] = [];
  private readonly active = new Map<string, QueueJob>();
  private readonly listeners = new Set<(e: QueueEvent) => void>();
  private idleWaiters: Array<() => void> = [];
  private limit: number;

  constructor(concurrency = 1) {
    this.limit = RunQueue.checkedLimit(concurrency);
  }

  get concurrency(): number {
    return this.limit;
  }

  /** A higher limit starts waiting jobs at once; a lower one lets running jobs finish. */
  set concurrency(n: number) {
    this.limit = RunQueue.checkedLimit(n);
    this.pump();
  }

  onEvent(listener: (e: QueueEvent) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  enqueue(job: QueueJob): void {
    if (this.has(job.id)) throw new Error(`job '${job.id}' is already queued or running`);
    this.waiting.push(job);
    this.emit({ type: 'queued', id: job.id, position: this.waiting.length });
    this.pump();
  }

  has(id: string): boolean {
    return this.active.has(id) || this.waiting.some((j) => j.id === id);
  }

  /** Ids of the jobs waiting for a slot, in the order they will start. */
  queuedIds(): string[] {
    return this.waiting.map((j) => j.id);
  }

  runningIds(): string[] {
    return [...this.active.keys()];
  }

  cancel(id: string): CancelOutcome {
    const index = this.waiting.findIndex((j) => j.id === id);
    if (index >= 0) {
      const [job] = this.waiting.splice(index, 1);
      job.discard();
      this.emit({ type: 'discarded', id });
      this.notifyIdle();
      return 'discarded';
    }
    const running = this.active.get(id);
    if (running) {
      running.cancel();
      return 'cancelling';
    }
    return 'unknown';
  }

  /** Discards every waiting job first, so none of them starts in a slot freed by a cancel. */
  cancelAll(): void {
    for (const job of [...this.waiting]) this.cancel(job.id);
    for (const id of [...this.active.keys()]) this.cancel(id);
  }

  /** Resolves when nothing is running or waiting. */
  idle(): Promise<void> {
    if (!this.active.size && !this.waiting.length) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.active.size < this.limit && this.waiting.length) {
      const job = this.waiting.shift() as QueueJob;
      this.active.set(job.id, job);
      this.emit({ type: 'started', id: job.id });
      let settled: Promise<void>;
      try {
        settled = job.run();
      } catch (err) {
        settled = Promise.reject(err);
      }
      // A job that fails still frees its slot; reporting the failure is the job's business.
      settled
        .catch(() => undefined)
        .then(() => {
          this.active.delete(job.id);
          this.emit({ type: 'finished', id: job.id });
          this.pump();
          this.notifyIdle();
        });
    }
  }

  private notifyIdle(): void {
    if (this.active.size || this.waiting.length) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    waiters.forEach((w) => w());
  }

  private emit(e: QueueEvent): void {
    for (const l of [...this.listeners]) l(e);
  }

  private static checkedLimit(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new Error(`concurrency must be a positive integer, got ${n}`);
    return n;
  }
}
