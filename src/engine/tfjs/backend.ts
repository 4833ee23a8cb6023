/**
 * Chooses and starts the TensorFlow.js backend of the training worker.
 *
 * Preference when nothing is requested: native TensorFlow with a working GPU, WebAssembly with the
 * native training kernels ('wasm+native': native/ over libtorch, where built; see native/index.ts),
 * native TensorFlow on the CPU, then WebAssembly alone (XNNPACK, SIMD, one thread per core), then
 * plain JavaScript. 'wasm' forces the pure wasm path (the native kernels unregistered).
 * The native packages are optional and normally absent; they are loaded with a run-time require
 * that esbuild leaves alone (they are external in scripts/build.mjs).
 *
 * Multi-threaded wasm in Node: tfjs-backend-wasm 4.22 reports no thread support under Node
 * (flag WASM_HAS_MULTITHREAD_SUPPORT is hard-wired to false there) and its own loader hands the
 * pthread workers a Blob URL, which Node's worker_threads cannot start. The Emscripten module
 * itself does support Node's worker_threads, so this file instantiates the threaded-SIMD module
 * directly: the worker script and the main script are written to files (Node workers need a
 * path), and the wasm import `emscripten_num_logical_cores` is answered with twice the wanted
 * thread count because the C++ side caps its pool at "logical cores / 2". The resulting module
 * goes into the exported `BackendWasm` class, so every stock wasm kernel runs on it unchanged.
 * Measured on the 2-core machine: 3x3 16->16 conv on 128x32x32 40 ms -> 23 ms with 2 threads.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BackendWasm, setThreadsCount, setWasmPaths, version_wasm } from '@tensorflow/tfjs-backend-wasm';
// Training needs the gradient functions, which tfjs-core's entry point does not register.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { BackendId } from '../../protocol/benchmarks';
import { relu6GradConfig, reluGradConfig } from './kernels/activation-grad';
import { registerWasmTrainingKernels } from './kernels/register';
import { endSimdPool, liveHelperThreads } from './kernels/simd-pool';
import { nativeStatus, setNativeKernels } from './native/index';
import { explainTfjsNodeFailure } from './tfjs-node-errors';
import { checkTrustedFile, privateCacheDir, UntrustedPathError } from '../private-cache';
import { startTorch } from './torch/index';

// The ReLU / ReLU6 gradients with PyTorch's rule at NaN (dy passes) on every backend, not only
// where the wasm kernels are registered (kernels/activation-grad.ts).
tf.registerGradient(reluGradConfig);
tf.registerGradient(relu6GradConfig);

export interface BackendInfo {
  /**
   * What trains: 'tensorflow' (native, GPU or not), 'wasm+native' (the wasm backend with the
   * native training kernels), 'wasm' or 'cpu'.
   */
  backend: string;
  /** wasm: the XNNPACK thread pool size; torch: libtorch's intra-op threads. */
  threads?: number;
  versions: Record<string, string>;
  /** torch: the libtorch device (cpu, cuda:0, ...). */
  device?: string;
  /** torch on CUDA: the GPU model. */
  gpu?: string;
}

/** Options of the backend start: the device of the 'torch' backend and the Python whose PyTorch may provide libtorch. */
export interface BackendOptions {
  device?: string;
  python?: string;
}

// The package's Emscripten glue for the threaded build (not part of its index exports).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- CommonJS module without typings for the worker part
const threadedSimdFactory = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.js') as unknown;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { wasmWorkerContents } = require('@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.worker.js') as { wasmWorkerContents: string };

const WASM_FILES = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];

/** Starts the best available backend, or exactly `requested` (throws when it cannot load). */
export async function initBackend(requested?: BackendId, options: BackendOptions = {}): Promise<BackendInfo> {
  if (requested) return startBackend(requested, options);
  for (const candidate of ['tensorflow-gpu', 'wasm+native', 'tensorflow', 'wasm'] as const) {
    try {
      return await startBackend(candidate, options);
    } catch {
      // The next candidate is the fallback; an absent native package is the normal case.
    }
  }
  return startBackend('cpu', options);
}

async function startBackend(id: BackendId, options: BackendOptions): Promise<BackendInfo> {
  switch (id) {
    case 'torch': {
      const t = await startTorch({ device: options.device, threads: Math.max(1, availableParallelism()), python: options.python });
      return { backend: 'torch', threads: t.threads, device: t.device, versions: t.versions, ...(t.gpu ? { gpu: t.gpu } : {}) };
    }
    case 'tensorflow-gpu':
      return startNative('@tensorflow/tfjs-node-gpu', true);
    case 'tensorflow':
      return startNative('@tensorflow/tfjs-node', false);
    case 'wasm+native': {
      const wasm = await startWasm();
      setNativeKernels(true, wasm.threads);
      return { ...wasm, backend: 'wasm+native', versions: { ...wasm.versions, ...nativeVersions() } };
    }
    case 'wasm': {
      const wasm = await startWasm();
      setNativeKernels(false);
      return wasm;
    }
    case 'cpu':
      if (!(await tf.setBackend('cpu'))) throw new Error("backend 'cpu' failed to start");
      return { backend: 'cpu', versions: { 'tfjs-core': tf.version_core, 'tfjs-backend-cpu': version_cpu } };
  }
}

/** The native bindings as tfjs-node exposes them; only what this file reads. */
interface NativeTfjsPackage {
  version?: Record<string, string>;
}

async function startNative(pkg: string, needGpu: boolean): Promise<BackendInfo> {
  let native: NativeTfjsPackage;
  try {
    native = runtimeRequire(pkg) as NativeTfjsPackage;
  } catch (e) {
    const message = String(e instanceof Error ? e.message : e);
    throw new Error(
      `backend '${needGpu ? 'tensorflow-gpu' : 'tensorflow'}' unavailable: ${explainTfjsNodeFailure(pkg, message, { node: process.versions.node, electron: process.versions.electron })}`,
      { cause: e },
    );
  }
  if (!(await tf.setBackend('tensorflow'))) throw new Error(`backend 'tensorflow' from ${pkg} failed to start`);
  if (needGpu) {
    // tfjs-node-gpu silently runs on the CPU when CUDA is missing; the backend says which.
    const usingGpu = (tf.backend() as unknown as { isUsingGpuDevice?: boolean }).isUsingGpuDevice === true;
    if (!usingGpu)
      throw new Error(
        `backend 'tensorflow-gpu' unavailable: ${pkg} loaded but found no usable GPU: it needs an NVIDIA GPU with CUDA 11.2 and cuDNN 8.1 (it runs on the CPU otherwise); or use --backend wasm+native`,
      );
  }
  const versions: Record<string, string> = { 'tfjs-core': tf.version_core };
  for (const [k, v] of Object.entries(native.version ?? {})) versions[k] = String(v);
  return { backend: 'tensorflow', versions };
}

/**
 * `require` resolved from this bundle's location at run time; esbuild does not follow it, so an
 * absent optional package costs nothing at build time and fails only here.
 */
function runtimeRequire(name: string): unknown {
  return createRequire(__filename)(name);
}

let wasmStarted: BackendInfo | null = null;

async function startWasm(): Promise<BackendInfo> {
  // tf.removeBackend('wasm') drops the factory too: start from scratch then.
  if (wasmStarted && !tf.findBackendFactory('wasm')) wasmStarted = null;
  if (wasmStarted) {
    // Already registered (threaded or stock) and the training kernels with it: just switch back.
    if (!(await tf.setBackend('wasm'))) throw new Error("backend 'wasm' failed to start");
    return wasmStarted;
  }
  const dir = findWasmDir();
  if (!dir)
    throw new Error(
      `backend 'wasm' unavailable: no ${WASM_FILES[2]} beside the bundle or in node_modules/@tensorflow/tfjs-backend-wasm/dist (run \`node scripts/build.mjs\`)`,
    );
  // For the stock loader, which stays registered unless the threaded module comes up.
  setWasmPaths(dir.endsWith('/') ? dir : `${dir}/`);
  const wanted = Math.max(1, availableParallelism());
  let module: ThreadedWasmModule | null = null;
  if (wanted > 1) {
    try {
      module = await instantiateThreadedWasm(dir, wanted);
    } catch (e) {
      // Single-threaded wasm then; thread scripts refused as untrusted, or that could not be
      // written (a read-only home: set XDG_CACHE_HOME), say why in one line.
      if (e instanceof UntrustedPathError || (e as NodeJS.ErrnoException).code)
        process.stderr.write(`regbench: threaded wasm not started: ${(e as Error).message}\n`);
      module = null;
    }
  }
  let threads = 1;
  if (module) {
    let first: ThreadedWasmModule | null = module;
    setThreadsCount(wanted);
    tf.removeBackend('wasm');
    // A disposed backend (tf.engine().reset(), tf.removeBackend) has ended its module's threads
    // and cannot be revived: every later instance gets a module of its own, instantiated
    // asynchronously (as tfjs' own wasm loader does; `await tf.ready()` before sync ops).
    tf.registerBackend(
      'wasm',
      () => {
        const ready = first;
        first = null;
        if (ready) return threadedBackend(ready);
        return instantiateThreadedWasm(dir, wanted).then(threadedBackend);
      },
      2,
    );
  }
  if (!(await tf.setBackend('wasm'))) throw new Error(`backend 'wasm' failed to start from ${dir}`);
  if (module) threads = module.tfjs.getThreadsCount();
  registerWasmTrainingKernels();
  wasmStarted = { backend: 'wasm', threads, versions: { 'tfjs-core': tf.version_core, 'tfjs-backend-wasm': version_wasm } };
  return wasmStarted;
}

/**
 * The stock backend class over a threaded module, whose dispose also ends the threads this
 * project added: the SIMD helper (kernels/simd-pool.ts); BackendWasm.dispose itself ends the
 * module's pthreads. Without this, the helper outlived the backend.
 */
class ThreadedBackendWasm extends BackendWasm {
  override dispose(): void {
    endSimdPool(this);
    super.dispose();
  }
}

function threadedBackend(module: ThreadedWasmModule): BackendWasm {
  // BackendWasm's constructor types the module with Emscripten's ambient types, which this
  // project does not install; the object is exactly what tfjs' own loader would pass.
  const backend = new ThreadedBackendWasm(module as unknown as ConstructorParameters<typeof BackendWasm>[0]);
  // The constructor started the XNNPACK pool's pthreads.
  unrefWorkers(module);
  return backend;
}

/** Worker threads of Regbench's wasm backends still alive: pthreads and SIMD helpers. */
export function liveWasmThreads(): number {
  return livePthreads + liveHelperThreads();
}

function findWasmDir(): string | null {
  const candidates = [__dirname, join(__dirname, '..')];
  try {
    candidates.push(join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist'));
  } catch {
    // Not resolvable from a packaged extension; the copies beside the bundle are the rule there.
  }
  return candidates.find((d) => WASM_FILES.every((f) => existsSync(join(d, f)))) ?? null;
}

/** The part of the threaded Emscripten module this file touches. */
interface ThreadedWasmModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  tfjs: {
    init(): void;
    initWithThreadsCount(n: number): void;
    getThreadsCount(): number;
    registerTensor(id: number, size: number, memoryOffset: number): void;
    disposeData(id: number): void;
    dispose(): void;
  };
  PThread: { runningWorkers: WorkerLike[]; unusedWorkers: WorkerLike[]; terminateAllThreads(): void };
}

interface WorkerLike {
  unref?: () => void;
  once?: (event: 'exit', listener: () => void) => void;
}

interface EmscriptenImports {
  env: Record<string, unknown>;
}

type ThreadedFactory = (config: {
  locateFile(path: string, prefix: string): string;
  mainScriptUrlOrBlob: string;
  instantiateWasm(imports: EmscriptenImports, receive: (instance: WebAssembly.Instance, module: WebAssembly.Module) => void): object;
}) => Promise<ThreadedWasmModule>;

async function instantiateThreadedWasm(wasmDir: string, threads: number): Promise<ThreadedWasmModule> {
  if (typeof SharedArrayBuffer === 'undefined') throw new Error('no SharedArrayBuffer');
  const scripts = writeThreadScripts();
  const wasmFile = join(wasmDir, WASM_FILES[2]);
  const binary = readFileSync(wasmFile);
  const factory = threadedSimdFactory as unknown as ThreadedFactory;
  const module = await factory({
    locateFile: (path, prefix) => (path.endsWith('.worker.js') ? scripts.worker : path.endsWith('.wasm') ? wasmFile : prefix + path),
    mainScriptUrlOrBlob: scripts.main,
    instantiateWasm: (imports, receive) => {
      // The C++ pool size is min(requested, logical cores / 2); report enough cores for `threads`.
      imports.env['emscripten_num_logical_cores'] = () => 2 * threads;
      void WebAssembly.instantiate(binary, imports as unknown as WebAssembly.Imports).then((r) => receive(r.instance, r.module));
      return {};
    },
  });
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  return module;
}

/**
 * Node workers start from files: the pthread worker script and the module's main script (which
 * each worker evaluates) go to the per-user cache (`~/.cache/regbench/wasm-threads`, created
 * 0700; ../private-cache.ts), never a shared temp folder, where another user could put a script
 * of their own first. The folder is checked before writing, and each file after it, before a
 * worker executes it; a failed check throws an UntrustedPathError (the caller then uses the
 * single-threaded loader).
 */
function writeThreadScripts(): { worker: string; main: string } {
  // The worker source is kept in a template literal whose `\n` escapes became real newlines.
  const worker = wasmWorkerContents.replace(/\n/g, '\\n');
  const main = `var WasmBackendModuleThreadedSimd = ${String(threadedSimdFactory)}`;
  const hash = createHash('sha256').update(worker).update(main).digest('hex').slice(0, 12);
  const dir = privateCacheDir('wasm-threads');
  const files = { worker: join(dir, `worker-${version_wasm}-${hash}.js`), main: join(dir, `main-${version_wasm}-${hash}.js`) };
  // Written on every start (cheap; a half-written file from a crashed run cannot linger), each to
  // a file of its own that is then renamed over the shared name: several workers start at once
  // (local concurrency, Slurm array tasks on one node), and one that read the file while another
  // truncated and rewrote it in place failed with "WasmBackendModuleThreadedSimd is not defined".
  writeAtomically(files.worker, worker);
  writeAtomically(files.main, main);
  checkTrustedFile(files.worker);
  checkTrustedFile(files.main);
  return files;
}

function writeAtomically(file: string, contents: string): void {
  const tmp = `${file}.${process.pid}.${threadId}.tmp`;
  writeFileSync(tmp, contents, { mode: 0o644 });
  renameSync(tmp, file);
}

let livePthreads = 0;
const counted = new WeakSet<object>();

/**
 * The pthreads idle in Atomics.wait between kernels; they must not keep Node alive at exit.
 * Each is counted until it exits (liveWasmThreads).
 */
function unrefWorkers(module: ThreadedWasmModule): void {
  for (const w of [...module.PThread.runningWorkers, ...module.PThread.unusedWorkers]) {
    w.unref?.();
    if (w.once && !counted.has(w)) {
      counted.add(w);
      livePthreads++;
      w.once('exit', () => livePthreads--);
    }
  }
}

/** The native libraries behind 'wasm+native', for the run's environment record. */
function nativeVersions(): Record<string, string> {
  const status = nativeStatus();
  return { libtorch: status.libtorch ?? 'unknown', ...(status.onednn ? { onednn: status.onednn } : {}) };
}
