/**
 * Runs the SIMD loops (simd-loops.ts) on two threads: the calling thread and one helper
 * `worker_thread` that instantiates the same loops module over the same shared wasm heap.
 * XNNPACK's own thread pool is idle while these loops run, so without the helper the second
 * core would be.
 *
 * A kernel splits its work in two parts that write disjoint memory (separate accumulators,
 * separate output rows) and describes each part as a list of loop calls: `split(plan)` asks the
 * plan for part 1's calls first (recorded into the heap and handed to the helper), then runs part
 * 0's calls directly, and returns once the helper has finished too. Without a helper (single-
 * threaded loader, no SharedArrayBuffer, `REGBENCH_SIMD_THREADS=1`) both parts run here.
 *
 * The helper waits on an Int32 control word with `Atomics.wait`; it is `unref`ed, so it never
 * keeps Node alive. An error inside the helper (a trap) is reported back and rethrown here.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { Worker } from 'node:worker_threads';
import { heapBuffer, heapModule, simdLoops, simdLoopsModule, type SimdLoops } from './simd-loops';

/** Loops a plan may call: every export of the loops module. */
export type LoopName = 'moments' | 'gradSums' | 'affine' | 'affine2' | 'maskedCopy' | 'dwTaps1' | 'dwTaps3' | 'dwTaps5' | 'outerProduct';
const LOOP_NAMES: readonly LoopName[] = ['moments', 'gradSums', 'affine', 'affine2', 'maskedCopy', 'dwTaps1', 'dwTaps3', 'dwTaps5', 'outerProduct'];
const LOOP_INDEX = new Map(LOOP_NAMES.map((n, i) => [n, i]));

/** Call `name` with `args` (heap byte offsets, counts, or a float for maskedCopy's cap). */
export type LoopCall = (name: LoopName, ...args: number[]) => void;

/** Emits the calls of part 0 or part 1; the two parts must not write the same memory. */
export type SplitPlan = (part: 0 | 1, call: LoopCall) => void;

// One recorded call: the loop's index, then up to 8 arguments (float64, so that both i32
// pointers and the f32 cap are exact).
const SLOT = 9;
// Control words: 0 job sequence, 1 finished sequence, 2 list offset, 3 call count, 4 error flag.
const [JOB, DONE, LIST, COUNT, FAILED] = [0, 1, 2, 3, 4];
// No job takes more than a fraction of a second; a helper silent this long has died.
const HELPER_TIMEOUT_MS = 60_000;

const HELPER_SOURCE = `
const { workerData, parentPort } = require('node:worker_threads');
const { module, memory, control, names } = workerData;
const loops = new WebAssembly.Instance(module, { env: { memory } }).exports;
const calls = names.map((n) => loops[n]);
const ctrl = new Int32Array(control);
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, ${JOB}, seen);
  seen = Atomics.load(ctrl, ${JOB});
  try {
    const n = ctrl[${COUNT}];
    const list = new Float64Array(memory.buffer, ctrl[${LIST}] >>> 0, n * ${SLOT});
    for (let i = 0; i < n; i++) {
      const o = i * ${SLOT};
      calls[list[o]](list[o + 1], list[o + 2], list[o + 3], list[o + 4], list[o + 5], list[o + 6], list[o + 7], list[o + 8]);
    }
  } catch (e) {
    Atomics.store(ctrl, ${FAILED}, 1);
    parentPort.postMessage(String(e && e.stack || e));
  }
  Atomics.store(ctrl, ${DONE}, seen);
  Atomics.notify(ctrl, ${DONE});
}
`;

export class SimdPool {
  private readonly ctrl: Int32Array | null;
  private sequence = 0;
  private lastError = '';
  private readonly recorded: number[] = [];

  constructor(
    private readonly be: BackendWasm,
    readonly loops: SimdLoops,
    helper: { module: WebAssembly.Module; memory: WebAssembly.Memory } | null,
  ) {
    this.ctrl = helper ? this.startHelper(helper.module, helper.memory) : null;
  }

  /** True when a helper thread takes part 1. */
  get threaded(): boolean {
    return this.ctrl !== null;
  }

  split(plan: SplitPlan): void {
    const direct: LoopCall = (name, ...args) => (this.loops[name] as (...a: number[]) => void)(...args);
    if (!this.ctrl) {
      plan(0, direct);
      plan(1, direct);
      return;
    }
    this.recorded.length = 0;
    plan(1, (name, ...args) => {
      const slot = this.recorded.length;
      this.recorded.length += SLOT;
      this.recorded[slot] = LOOP_INDEX.get(name) ?? -1;
      for (let i = 0; i < SLOT - 1; i++) this.recorded[slot + 1 + i] = args[i] ?? 0;
    });
    const count = this.recorded.length / SLOT;
    if (count === 0) {
      plan(0, direct);
      return;
    }
    const m = heapModule(this.be);
    const list = m._malloc(this.recorded.length * 8) >>> 0;
    try {
      new Float64Array(heapBuffer(this.be), list, this.recorded.length).set(this.recorded);
      const ctrl = this.ctrl;
      ctrl[LIST] = list | 0;
      ctrl[COUNT] = count;
      const job = ++this.sequence;
      Atomics.store(ctrl, JOB, job);
      Atomics.notify(ctrl, JOB);
      try {
        plan(0, direct);
      } finally {
        // Even when part 0 throws, the helper must be done with the list before it is freed.
        this.waitFor(job);
      }
      if (Atomics.exchange(ctrl, FAILED, 0) !== 0) throw new Error(`SIMD helper thread failed: ${this.lastError || 'unknown error'}`);
    } finally {
      m._free(list);
    }
  }

  /** Blocks until the helper finished `job`; a helper silent for a minute is an error, not a hang. */
  private waitFor(job: number): void {
    const ctrl = this.ctrl as Int32Array;
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(ctrl, DONE);
      if (done === job) return;
      if (Date.now() > deadline) throw new Error('SIMD helper thread stopped responding');
      Atomics.wait(ctrl, DONE, done, 1000);
    }
  }

  private startHelper(module: WebAssembly.Module, memory: WebAssembly.Memory): Int32Array | null {
    try {
      const control = new SharedArrayBuffer(8 * 4);
      const worker = new Worker(HELPER_SOURCE, { eval: true, workerData: { module, memory, control, names: LOOP_NAMES } });
      worker.on('message', (m: unknown) => {
        this.lastError = String(m);
      });
      worker.on('error', (e: Error) => {
        this.lastError = e.message;
      });
      worker.unref();
      return new Int32Array(control);
    } catch {
      return null;
    }
  }
}

const pools = new WeakMap<object, SimdPool | null>();

/** Threads for the loops: 2 unless REGBENCH_SIMD_THREADS=1 (a benchmark switch). */
function helperWanted(): boolean {
  return process.env.REGBENCH_SIMD_THREADS !== '1';
}

/** The pool for `backend`, or null when the loops cannot be built (see simdLoops). */
export function simdPool(backend: BackendWasm): SimdPool | null {
  if (pools.has(backend)) return pools.get(backend) ?? null;
  const loops = simdLoops(backend);
  let pool: SimdPool | null = null;
  if (loops) {
    const shared = simdLoopsModule(backend);
    const threaded = shared && typeof SharedArrayBuffer !== 'undefined' && shared.memory.buffer instanceof SharedArrayBuffer && helperWanted();
    pool = new SimdPool(backend, loops, threaded ? shared : null);
  }
  pools.set(backend, pool);
  return pool;
}
