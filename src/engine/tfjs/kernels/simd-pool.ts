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
 * keeps Node alive, and ends with its backend (`endSimdPool`, from the backend's dispose). An error inside the helper (a trap) is reported back through shared memory
 * and rethrown here (this thread is blocked meanwhile, so messages would arrive too late).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { simdLoops, simdLoopsModule, type SimdLoops } from './simd-loops';

/** Loops a plan may call: every export of the loops module. */
export type LoopName = 'moments' | 'gradSums' | 'affine' | 'affine2' | 'maskedCopy' | 'clamp' | 'dwTaps1' | 'dwTaps3' | 'dwTaps5' | 'outerProduct';
const LOOP_NAMES: readonly LoopName[] = ['moments', 'gradSums', 'affine', 'affine2', 'maskedCopy', 'clamp', 'dwTaps1', 'dwTaps3', 'dwTaps5', 'outerProduct'];
const LOOP_INDEX = new Map(LOOP_NAMES.map((n, i) => [n, i]));

/** Call `name` with `args` (heap byte offsets, counts, or floats: maskedCopy's cap, clamp's bounds). */
export type LoopCall = (name: LoopName, ...args: number[]) => void;

/** Emits the calls of part 0 or part 1; the two parts must not write the same memory. */
export type SplitPlan = (part: 0 | 1, call: LoopCall) => void;

// One recorded call: the loop's index, then up to 8 arguments (float64, so that both i32
// pointers and the f32 cap are exact).
const SLOT = 9;
// Control words: 0 job sequence, 1 finished sequence, 2 call count, 3 error flag, 4 error text
// length, 5 set when a larger call list was posted.
const [JOB, DONE, COUNT, FAILED, ERROR_LENGTH, NEW_LIST] = [0, 1, 2, 3, 4, 5];
// No job takes more than a fraction of a second; a helper silent this long has died.
const HELPER_TIMEOUT_MS = 60_000;
// Calls the first list holds (ResNet layers at batch 128 need ~18,000 per part); it doubles when
// a job needs more.
const INITIAL_CALLS = 32_768;
const ERROR_BYTES = 4096;

// The call list lives in its own SharedArrayBuffer, not in the wasm heap: a view of the heap
// made in the helper can lag behind the heap's growth (its buffer is the pre-growth one until
// the engine tells the helper), and would then throw. The loops themselves see the whole heap.
const HELPER_SOURCE = `
const { workerData, receiveMessageOnPort } = require('node:worker_threads');
const { module, memory, control, list: firstList, errorText, port, names } = workerData;
const loops = new WebAssembly.Instance(module, { env: { memory } }).exports;
const calls = names.map((n) => loops[n]);
const ctrl = new Int32Array(control);
const errorBytes = new Uint8Array(errorText);
let list = new Float64Array(firstList);
let seen = 0;
for (;;) {
  Atomics.wait(ctrl, ${JOB}, seen);
  seen = Atomics.load(ctrl, ${JOB});
  try {
    if (Atomics.exchange(ctrl, ${NEW_LIST}, 0) === 1) {
      // The newest of the lists posted since the last job.
      for (let m = receiveMessageOnPort(port); m; m = receiveMessageOnPort(port)) list = new Float64Array(m.message);
    }
    const n = ctrl[${COUNT}];
    for (let i = 0; i < n; i++) {
      const o = i * ${SLOT};
      calls[list[o]](list[o + 1], list[o + 2], list[o + 3], list[o + 4], list[o + 5], list[o + 6], list[o + 7], list[o + 8]);
    }
  } catch (e) {
    const text = new TextEncoder().encode(String((e && e.message) || e)).subarray(0, ${ERROR_BYTES});
    errorBytes.set(text);
    ctrl[${ERROR_LENGTH}] = text.length;
    Atomics.store(ctrl, ${FAILED}, 1);
  }
  Atomics.store(ctrl, ${DONE}, seen);
  Atomics.notify(ctrl, ${DONE});
}
`;

interface Helper {
  worker: Worker;
  ctrl: Int32Array;
  errorText: Uint8Array;
  port: MessagePort;
  list: Float64Array;
}

export class SimdPool {
  private readonly helper: Helper | null;
  private sequence = 0;
  private ended = false;

  constructor(
    readonly loops: SimdLoops,
    shared: { module: WebAssembly.Module; memory: WebAssembly.Memory } | null,
  ) {
    this.helper = shared ? startHelper(shared.module, shared.memory) : null;
  }

  /** True when a helper thread takes part 1. */
  get threaded(): boolean {
    return this.helper !== null && !this.ended;
  }

  /** Ends the helper thread (the backend is being disposed); later splits run on this thread. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.helper) {
      this.helper.port.close();
      void this.helper.worker.terminate();
    }
  }

  split(plan: SplitPlan): void {
    const direct: LoopCall = (name, ...args) => (this.loops[name] as (...a: number[]) => void)(...args);
    const helper = this.ended ? null : this.helper;
    if (!helper) {
      plan(0, direct);
      plan(1, direct);
      return;
    }
    let count = 0;
    plan(1, (name, ...args) => {
      if ((count + 1) * SLOT > helper.list.length) this.growList(helper, count);
      const o = count * SLOT;
      helper.list[o] = LOOP_INDEX.get(name) ?? -1;
      for (let i = 1; i < SLOT; i++) helper.list[o + i] = args[i - 1] ?? 0;
      count++;
    });
    if (count === 0) {
      plan(0, direct);
      return;
    }
    const { ctrl } = helper;
    ctrl[COUNT] = count;
    const job = ++this.sequence;
    Atomics.store(ctrl, JOB, job);
    Atomics.notify(ctrl, JOB);
    try {
      plan(0, direct);
    } finally {
      // Even when part 0 throws, the helper must be done with the list before it is reused.
      this.waitFor(helper, job);
    }
    if (Atomics.exchange(ctrl, FAILED, 0) !== 0) {
      const text = new TextDecoder().decode(helper.errorText.slice(0, ctrl[ERROR_LENGTH]));
      throw new Error(`SIMD helper thread failed: ${text || 'unknown error'}`);
    }
  }

  /** A list twice as large, keeping the `used` calls recorded so far, handed to the helper. */
  private growList(helper: Helper, used: number): void {
    const larger = new Float64Array(new SharedArrayBuffer(helper.list.length * 2 * 8));
    larger.set(helper.list.subarray(0, used * SLOT));
    helper.list = larger;
    helper.port.postMessage(larger.buffer);
    Atomics.store(helper.ctrl, NEW_LIST, 1);
  }

  /** Blocks until the helper finished `job`; a helper silent for a minute is an error, not a hang. */
  private waitFor(helper: Helper, job: number): void {
    const deadline = Date.now() + HELPER_TIMEOUT_MS;
    for (;;) {
      const done = Atomics.load(helper.ctrl, DONE);
      if (done === job) return;
      if (Date.now() > deadline) throw new Error('SIMD helper thread stopped responding');
      Atomics.wait(helper.ctrl, DONE, done, 1000);
    }
  }
}

function startHelper(module: WebAssembly.Module, memory: WebAssembly.Memory): Helper | null {
  try {
    const control = new SharedArrayBuffer(8 * 4);
    const list = new SharedArrayBuffer(INITIAL_CALLS * SLOT * 8);
    const errorText = new SharedArrayBuffer(ERROR_BYTES);
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(HELPER_SOURCE, {
      eval: true,
      workerData: { module, memory, control, list, errorText, port: port2, names: LOOP_NAMES },
      transferList: [port2],
    });
    worker.unref();
    port1.unref();
    liveHelpers++;
    worker.once('exit', () => liveHelpers--);
    return { worker, ctrl: new Int32Array(control), errorText: new Uint8Array(errorText), port: port1, list: new Float64Array(list) };
  } catch {
    return null;
  }
}

const pools = new WeakMap<object, SimdPool | null>();
let liveHelpers = 0;

/** Helper threads started and not yet exited (all backends). */
export function liveHelperThreads(): number {
  return liveHelpers;
}

/** Ends `backend`'s helper thread; called when the backend is disposed (engine reset). */
export function endSimdPool(backend: object): void {
  pools.get(backend)?.end();
  pools.delete(backend);
}

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
    pool = new SimdPool(loops, threaded ? shared : null);
  }
  pools.set(backend, pool);
  return pool;
}
