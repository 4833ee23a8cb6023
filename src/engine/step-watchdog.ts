/**
 * When a training step has taken too long: the policy both engines' watchdogs share (the runner
 * applies it to the Python worker from its progress events; the TensorFlow.js worker applies it
 * in-process around each step). A variant that never returns must fail the run with a message,
 * not leave it going forever.
 *
 * Default: a step may take the larger of 120 s and 50x the median step so far; the first step
 * (compilation, first allocations, a cold disk) gets 600 s. `--step-timeout S` sets the limit to
 * S seconds (the first step: 3 x S); 0 turns the watchdog off.
 */
export const DEFAULT_STEP_LIMIT_SECONDS = 120;
export const MEDIAN_STEP_FACTOR = 50;
export const FIRST_STEP_LIMIT_SECONDS = 600;
export const FIRST_STEP_FACTOR_WHEN_SET = 3;
/** Step times kept for the median: enough to be stable, few enough to follow a slower phase. */
const WINDOW = 200;

export class StepWatchdog {
  private readonly recent: number[] = [];

  /** `fixedSeconds`: the --step-timeout value (undefined: default policy; 0: off). */
  constructor(private readonly fixedSeconds?: number) {}

  get enabled(): boolean {
    return this.fixedSeconds !== 0;
  }

  /** Records how long a completed step took. */
  stepDone(seconds: number): void {
    if (!(seconds >= 0) || !Number.isFinite(seconds)) return;
    this.recent.push(seconds);
    if (this.recent.length > WINDOW) this.recent.shift();
  }

  get stepsSeen(): number {
    return this.recent.length;
  }

  /** The shortest limit a step after the first can get (Infinity when off). */
  shortestLimitSeconds(): number {
    if (!this.enabled) return Infinity;
    return this.fixedSeconds ?? DEFAULT_STEP_LIMIT_SECONDS;
  }

  /** Seconds the next step may take (Infinity when off). */
  limitSeconds(): number {
    if (!this.enabled) return Infinity;
    const first = this.recent.length === 0;
    if (this.fixedSeconds !== undefined) return first ? this.fixedSeconds * FIRST_STEP_FACTOR_WHEN_SET : this.fixedSeconds;
    if (first) return FIRST_STEP_LIMIT_SECONDS;
    return Math.max(DEFAULT_STEP_LIMIT_SECONDS, MEDIAN_STEP_FACTOR * median(this.recent));
  }
}

export function median(values: readonly number[]): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The failure message both engines use: "the variant did not return within 120 s". */
export function stallMessage(limitSeconds: number): string {
  const shown = limitSeconds >= 10 ? Math.round(limitSeconds) : Number(limitSeconds.toFixed(1));
  return `the variant did not return within ${shown} s`;
}
