/**
 * When to poll the Slurm controller next: every `minMs` after a change, doubling up to `maxMs`
 * while nothing changes, and not at all while no matrix has an unfinished task (the caller stops
 * asking). Pure: the clock is injected, so the schedule is tested without timers.
 */
export interface BackoffOptions {
  minMs: number;
  maxMs: number;
  now: () => number;
}

export const DEFAULT_BACKOFF = { minMs: 5_000, maxMs: 60_000 } as const;

export class PollBackoff {
  private delay: number;
  private lastKey: string | undefined;
  private nextAt: number | undefined;

  constructor(private readonly opts: BackoffOptions) {
    this.delay = opts.minMs;
  }

  /** The delay the next poll waits for. */
  get delayMs(): number {
    return this.delay;
  }

  /**
   * Records a poll's result, summarised as a key (equal keys: nothing changed). Returns the delay
   * until the next poll: reset to `minMs` on a change, doubled (up to `maxMs`) otherwise.
   */
  observe(key: string): number {
    if (this.lastKey === undefined || key !== this.lastKey) this.delay = this.opts.minMs;
    else this.delay = Math.min(this.delay * 2, this.opts.maxMs);
    this.lastKey = key;
    this.nextAt = this.opts.now() + this.delay;
    return this.delay;
  }

  /** Something happened outside the poll (a submission, a cancel): poll soon again. */
  reset(): void {
    this.delay = this.opts.minMs;
    this.lastKey = undefined;
    this.nextAt = undefined;
  }

  /** Whether a poll is due at the injected clock's time (true before the first poll). */
  due(): boolean {
    return this.nextAt === undefined || this.opts.now() >= this.nextAt;
  }
}
