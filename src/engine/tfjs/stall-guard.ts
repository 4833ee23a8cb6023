/**
 * The TensorFlow.js worker's step watchdog. A signal cannot interrupt a JavaScript thread that is
 * busy in a loop (Node runs signal listeners on the event loop), so the worker guards each step
 * itself: the step runs in a `vm` script with a timeout (V8 stops it from a watchdog thread), and
 * V8's sampling profiler, running all along at a low rate, says where the thread was when it
 * was stopped. The stack is mapped to the variant's source through its source map.
 */
import * as inspector from 'node:inspector';
import * as vm from 'node:vm';
import { StepWatchdog, stallMessage } from '../step-watchdog';

/** How many of the last profiler samples the stuck stack is read from (the deepest of them). */
const RECENT_SAMPLES = 20;

/**
 * Two samples a second (negligible cost), more often under a short --step-timeout: at least ten
 * samples within the shortest limit, since a sampler delayed on a busy machine can miss a few.
 */
const SAMPLING_INTERVAL_US = 500_000;
const SAMPLES_PER_LIMIT = 10;

export interface StackFrame {
  functionName: string;
  url: string;
  /** 1-based, in the running (compiled) code; `line` is the hottest line of the innermost frame. */
  line: number;
  column: number;
}

export class StallError extends Error {
  constructor(
    message: string,
    readonly frames: StackFrame[],
  ) {
    super(message);
  }
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  children?: number[];
  positionTicks?: Array<{ line: number; ticks: number }>;
}

export class StallGuard {
  private readonly session = new inspector.Session();
  private readonly context = vm.createContext({ step: undefined as unknown });
  private readonly call = new vm.Script('step()', { filename: 'regbench-step-guard' });

  constructor(readonly policy: StepWatchdog) {
    if (!policy.enabled) return;
    this.session.connect();
    this.post('Profiler.enable');
    const interval = Math.min(SAMPLING_INTERVAL_US, Math.round((policy.shortestLimitSeconds() * 1e6) / SAMPLES_PER_LIMIT));
    this.post('Profiler.setSamplingInterval', { interval: Math.max(1_000, interval) });
    this.post('Profiler.start');
  }

  /**
   * Runs one step under the current limit (`factor` times it: an evaluation of many batches, not
   * counted as a step); a step that does not return in time throws StallError with where it was.
   */
  run<T>(fn: () => T, countAsStep = true, factor = 1): T {
    if (!this.policy.enabled) return fn();
    const limit = this.policy.limitSeconds() * factor;
    const started = Date.now();
    let result!: T;
    this.context.step = () => {
      result = fn();
    };
    try {
      this.call.runInContext(this.context, { timeout: Math.max(1, Math.round(limit * 1000)) });
    } catch (err) {
      if ((err as { code?: string }).code !== 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw err;
      throw new StallError(stallMessage(limit), this.lastStack());
    } finally {
      this.context.step = undefined;
    }
    if (countAsStep) this.policy.stepDone((Date.now() - started) / 1000);
    return result;
  }

  /** Starts a fresh profile (keeps memory flat over long runs); call between epochs. */
  restartProfile(): void {
    if (!this.policy.enabled) return;
    this.post('Profiler.stop');
    this.post('Profiler.start');
  }

  dispose(): void {
    if (!this.policy.enabled) return;
    this.post('Profiler.stop');
    this.session.disconnect();
  }

  /** The stack of the last sample: where the thread was when the limit ran out. */
  private lastStack(): StackFrame[] {
    const { profile } = this.post('Profiler.stop') as { profile: { nodes: ProfileNode[]; samples?: number[] } };
    this.post('Profiler.start');
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const samples = (profile.samples ?? []).filter((id) => nodes.get(id)?.callFrame.url);
    // The deepest of the last samples: once V8 inlines the looping function into its caller, some
    // samples end in the caller, so the very last one alone can miss the variant's frame.
    const depth = (leaf: number): number => {
      let d = 0;
      for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) d++;
      return d;
    };
    const recent = samples.slice(-RECENT_SAMPLES);
    const leaf = recent.reduce<number | undefined>((best, id) => (best === undefined || depth(id) >= depth(best) ? id : best), undefined);
    const frames: StackFrame[] = [];
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const node = nodes.get(id);
      if (!node || !node.callFrame.url) continue;
      const hottest = [...(node.positionTicks ?? [])].sort((a, b) => b.ticks - a.ticks)[0];
      const cf = node.callFrame;
      frames.push({
        functionName: cf.functionName,
        url: cf.url,
        line: frames.length === 0 && hottest ? hottest.line : cf.lineNumber + 1,
        column: cf.columnNumber + 1,
      });
    }
    return frames;
  }

  /** Session calls on the same thread complete before post returns. */
  private post(method: string, params?: object): unknown {
    let out: unknown;
    let failure: Error | null = null;
    this.session.post(method, params ?? {}, (err, result) => {
      failure = err;
      out = result;
    });
    if (failure) throw failure;
    return out;
  }
}

/** The innermost frame running the compiled variant, for "file:line" in the failure. */
export function variantFrameOf(frames: readonly StackFrame[], compiledName: string): StackFrame | undefined {
  return frames.find((f) => f.url === compiledName || f.url.endsWith(compiledName) || decodeURI(f.url).endsWith(compiledName));
}
