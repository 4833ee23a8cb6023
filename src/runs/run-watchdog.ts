/**
 * The runner's watch over a worker that stops making progress (a variant that never returns).
 * It follows the worker's progress events, applies the shared step policy (StepWatchdog) and,
 * when a step is overdue, asks the engine for the stack where it is stuck:
 * - PyTorch: SIGUSR2 makes the worker's faulthandler print every thread's Python stack to stderr;
 *   the frame in the variant file names the line.
 * - TensorFlow.js: the worker guards each step itself (it can read its own stack; a signal
 *   cannot interrupt a busy JavaScript thread), so the runner only steps in as a backstop, a
 *   grace period after the limit, in case the worker is stuck where its guard cannot reach.
 */
import { StepWatchdog, stallMessage } from '../engine/step-watchdog';
import type { RunEvent, RunStartEvent } from '../protocol/events';
import type { EngineId } from '../protocol/benchmarks';

/** How long after the limit the runner acts on a TensorFlow.js worker, whose own guard comes first. */
export const TFJS_BACKSTOP_SECONDS = 30;
/** How long the runner waits for a Python stack dump after SIGUSR2. */
export const DUMP_WAIT_MS = 1500;
const CHECK_EVERY_MS = 1000;

export interface StallReport {
  message: string;
  file?: string;
  line?: number;
  detail?: string;
}

export interface WatchdogHooks {
  /** Sends SIGUSR2 to the worker (PyTorch only). */
  requestDump(): void;
  /** The worker's stderr lines since `sinceIndex` (the runner keeps them). */
  stderrSince(sinceIndex: number): string[];
  stderrCount(): number;
  /** Ends the run as failed with this report and kills the worker. */
  stalled(report: StallReport): void;
}

export class RunWatchdog {
  private readonly policy: StepWatchdog;
  private timer: NodeJS.Timeout | undefined;
  private lastAt = 0;
  private position = { epoch: 0, step: 0 };
  private stepsPerEpoch = 1;
  private extraSeconds = 0;
  private fired = false;

  constructor(
    private readonly engine: EngineId,
    private readonly variantPath: string,
    stepTimeoutSeconds: number | undefined,
    private readonly hooks: WatchdogHooks,
    private readonly now: () => number = Date.now,
  ) {
    this.policy = new StepWatchdog(stepTimeoutSeconds);
  }

  /** Feeds one worker event; starts watching at run-start. */
  observe(e: RunEvent): void {
    if (!this.policy.enabled || this.fired) return;
    if (e.type === 'run-start') this.started(e);
    else if (e.type === 'progress') this.progressed(e.epoch, e.step, e.steps);
    else if (e.type === 'epoch' || e.type === 'checkpoint') {
      this.lastAt = this.now();
      this.extraSeconds = 0;
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Seconds the current step may still take before the watchdog acts (for tests and logs). */
  allowanceSeconds(): number {
    const backstop = this.engine === 'tfjs' ? TFJS_BACKSTOP_SECONDS : 0;
    return this.policy.limitSeconds() + this.extraSeconds + backstop;
  }

  private started(e: RunStartEvent): void {
    this.stepsPerEpoch = Math.max(1, e.stepsPerEpoch);
    this.position = e.resumedFrom ? { ...e.resumedFrom } : { epoch: 0, step: 0 };
    this.lastAt = this.now();
    // Evaluation after an epoch's last step runs the test set: about a third of a step per batch.
    this.stop();
    this.timer = setInterval(() => this.check(), CHECK_EVERY_MS);
    this.timer.unref();
  }

  private progressed(epoch: number, step: number, steps: number): void {
    const done = (epoch - this.position.epoch) * steps + (step - this.position.step);
    const t = this.now();
    if (done > 0) {
      const perStep = (t - this.lastAt) / 1000 / done;
      for (let i = 0; i < Math.min(done, 8); i++) this.policy.stepDone(perStep);
      this.position = { epoch, step };
      this.lastAt = t;
      // The epoch's last step is followed by the evaluation of the test set, then the epoch event.
      this.extraSeconds = step >= steps ? this.policy.limitSeconds() : 0;
    }
    this.stepsPerEpoch = steps;
  }

  private check(): void {
    if (this.fired || !this.lastAt) return;
    const waited = (this.now() - this.lastAt) / 1000;
    if (waited <= this.allowanceSeconds()) return;
    this.fired = true;
    this.stop();
    const message = stallMessage(this.policy.limitSeconds());
    if (this.engine !== 'pytorch') {
      this.hooks.stalled({ message: `${message} (no step completed for ${Math.round(waited)} s; the worker did not report where it was stuck)` });
      return;
    }
    const since = this.hooks.stderrCount();
    this.hooks.requestDump();
    setTimeout(() => this.hooks.stalled(this.pythonReport(message, this.hooks.stderrSince(since))), DUMP_WAIT_MS).unref();
  }

  private pythonReport(message: string, dump: string[]): StallReport {
    const where = variantFrame(dump, this.variantPath);
    const at = where ? `; it was at ${where.file}:${where.line}${where.fn ? ` in ${where.fn}` : ''}` : '';
    return { message: `${message}${at}`, file: where?.file ?? this.variantPath, line: where?.line, detail: dump.join('\n') || undefined };
  }
}

/**
 * The innermost frame of the variant file in a faulthandler dump. Its lines read
 * `  File "/path/variant.py", line 12 in compute_regularization`, innermost first per thread.
 */
export function variantFrame(dump: readonly string[], variantPath: string): { file: string; line: number; fn?: string } | undefined {
  for (const l of dump) {
    const m = /File "(.+)", line (\d+)(?: in (\S+))?/.exec(l);
    if (m && samePath(m[1], variantPath)) return { file: m[1], line: Number(m[2]), fn: m[3] };
  }
  return undefined;
}

function samePath(a: string, b: string): boolean {
  return a === b || a.endsWith(`/${b.split('/').pop()}`);
}
