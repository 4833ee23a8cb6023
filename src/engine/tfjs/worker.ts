/**
 * The TensorFlow.js training worker: a child process that reads one RunSpec (a JSON line on
 * stdin), trains, and writes the run's events as JSON lines on stdout (src/protocol/events.ts).
 * Diagnostics go to stderr. Exit code 0 when the run completed or was stopped by SIGTERM/SIGUSR1
 * after writing a checkpoint (status 'interrupted'), 1 otherwise.
 *
 * Checkpoints (see checkpoint.ts): one after every epoch's evaluation, and one at the next step
 * boundary after SIGTERM or SIGUSR1. With `spec.resume` the worker continues from the last one.
 */
import * as os from 'node:os';
import type { RunSpec } from '../../protocol/benchmarks';
import { formatEventLine, PROTOCOL_VERSION, type ErrorKind, type RunEvent } from '../../protocol/events';
import { DataError } from '../data/errors';
import { initBackend } from './backend';
import { createBatchSource } from './batches';
import { CheckpointError, loadCheckpoint, writeCheckpoint, type CheckpointOwner, type LoadedCheckpoint } from './checkpoint';
import { LeakError } from './leak';
import { buildModel } from './models';
import { checkedNormFactory, DivergedError, microBatchFor, train, type BatchSource, type TrainSnapshot } from './train';
import type { Model } from './types';
import { loadVariant, VariantError, type LoadedVariant } from './variant-loader';
import { startVariantCompiler } from './variant-compiler';
import { StallGuard } from './stall-guard';
import { StepWatchdog } from '../step-watchdog';

function emit(e: RunEvent): void {
  process.stdout.write(formatEventLine(e) + '\n');
}

async function readSpec(): Promise<RunSpec> {
  let text = '';
  process.stdin.setEncoding('utf8');
  for await (const chunk of process.stdin) text += chunk as string;
  return JSON.parse(text) as RunSpec;
}

/**
 * The worker runs in its own process group so that cancelling can end its whole tree; the other
 * side of that is that it would outlive an editor that is killed hard. It stops as soon as it
 * notices that its parent is gone: between steps, and on a timer while the event loop is free.
 */
const parentPid = process.ppid;
function exitIfOrphaned(): void {
  if (process.ppid !== parentPid) {
    process.stderr.write('regbench worker: the process that started this run is gone; stopping\n');
    process.exit(1);
  }
}
setInterval(exitIfOrphaned, 2000).unref();

type ErrorExtra = { file?: string; line?: number; column?: number; epoch?: number; step?: number; detail?: string };

/** The run as the worker reports it: its id, clock and the figures run-end carries. */
class Session {
  readonly started = Date.now();
  epochsCompleted = 0;
  best: number | null = null;
  final: number | null = null;

  constructor(readonly spec: RunSpec) {}

  now(): string {
    return new Date().toISOString();
  }

  log(message: string, level: 'debug' | 'info' | 'warn' = 'info'): void {
    emit({ type: 'log', runId: this.spec.runId, time: this.now(), level, message });
  }

  end(status: 'completed' | 'failed' | 'diverged' | 'interrupted', reason?: string): void {
    const { best, final, epochsCompleted } = this;
    emit({
      type: 'run-end',
      runId: this.spec.runId,
      time: this.now(),
      status,
      bestTestAcc: best,
      finalTestAcc: final,
      epochsCompleted,
      seconds: (Date.now() - this.started) / 1000,
      reason,
    });
  }

  /** Reports an error and a failed (or diverged) run-end; returns the exit code. */
  fail(kind: ErrorKind, message: string, extra: ErrorExtra = {}): number {
    emit({ type: 'error', runId: this.spec.runId, time: this.now(), kind, message, ...extra });
    this.end(kind === 'diverged' ? 'diverged' : 'failed', message);
    return 1;
  }
}

interface Prepared {
  backend: Awaited<ReturnType<typeof initBackend>>;
  variant?: LoadedVariant;
  microBatch?: number;
  data: BatchSource;
  model: Model;
}

/** Backend, variant, data and model; an exit code when one of them fails. */
async function prepare(s: Session): Promise<Prepared | number> {
  const { spec } = s;
  // The variant compiler starts while the backend loads.
  if (spec.variantKind.regularizer || spec.variantKind.norm) startVariantCompiler();
  let backend;
  try {
    backend = await initBackend(spec.backend, { device: spec.device, python: process.env.REGBENCH_PYTHON });
  } catch (err) {
    return s.fail('usage', (err as Error).message);
  }
  let variant: LoadedVariant | undefined;
  try {
    if (spec.variantKind.regularizer || spec.variantKind.norm) variant = await loadVariant(spec.variantPath);
  } catch (err) {
    if (err instanceof VariantError) return s.fail('variant', err.message, { file: err.file, line: err.line, column: err.column, detail: err.detail });
    throw err;
  }
  const microBatch = microBatchFor(spec.arch, variant?.CustomNorm !== undefined);
  let data;
  try {
    data = await createBatchSource(spec, (m) => s.log(m), microBatch ?? spec.recipe.batchSize);
  } catch (err) {
    if (err instanceof DataError) return s.fail('data', err.message, { file: err.file });
    throw err;
  }
  try {
    const normFactory = variant?.CustomNorm ? checkedNormFactory({ ...variant, CustomNorm: variant.CustomNorm }) : undefined;
    const model = buildModel(spec.arch, spec.numClasses, { normFactory, seed: spec.seed });
    return { backend, variant, microBatch, data, model };
  } catch (err) {
    if (err instanceof VariantError) return s.fail('variant', err.message, { file: err.file, line: err.line, detail: err.detail });
    throw err;
  }
}

function ownerOf(s: Session, p: Prepared): CheckpointOwner {
  return { spec: s.spec, engineVersions: p.backend.versions, backend: p.backend.backend, threads: p.backend.threads, microBatch: p.microBatch };
}

/** With spec.resume: the checkpoint to continue from (undefined: none, start at epoch 0). */
function resumePoint(s: Session, p: Prepared): LoadedCheckpoint | undefined | number {
  if (!s.spec.resume) return undefined;
  try {
    const loaded = loadCheckpoint(ownerOf(s, p), p.model);
    if (!loaded) {
      s.log('resume: no checkpoint in this run yet; starting at epoch 1');
      return undefined;
    }
    for (const w of loaded.warnings) s.log(w, 'warn');
    s.log(`resume: continuing from ${loaded.meta.file} (epoch ${loaded.state.epoch + 1}, ${loaded.state.step} steps done)`);
    s.epochsCompleted = loaded.state.epoch;
    s.best = loaded.state.best;
    s.final = loaded.state.final;
    return loaded;
  } catch (err) {
    if (err instanceof CheckpointError) return s.fail('usage', err.message, { file: err.file });
    throw err;
  }
}

function emitRunStart(s: Session, p: Prepared, from: LoadedCheckpoint | undefined): void {
  const { spec } = s;
  emit({
    type: 'run-start',
    runId: spec.runId,
    time: s.now(),
    spec,
    resumedFrom: from ? { epoch: from.state.epoch, step: from.state.step } : undefined,
    env: {
      engine: 'tfjs',
      backend: p.backend.backend,
      versions: { node: process.versions.node, ...p.backend.versions },
      platform: `${os.platform()}-${os.arch()}`,
      cpus: os.cpus().length,
      hostname: os.hostname(),
      threads: p.backend.threads,
      microBatch: p.microBatch,
      ...(p.backend.device ? { device: p.backend.device } : {}),
      ...(p.backend.gpu ? { gpu: p.backend.gpu } : {}),
    },
    stepsPerEpoch: Math.ceil(p.data.trainImages / spec.recipe.batchSize),
    trainImages: p.data.trainImages,
    testImages: p.data.testImages,
  });
}

interface StopSignals {
  /** True once SIGTERM or SIGUSR1 arrived (polled by the loop at every step boundary). */
  requested: () => boolean;
  signal: () => string | undefined;
  /** From now on a signal waits for the loop's next step boundary (before: the worker exits). */
  training: () => void;
}

/**
 * SIGTERM and SIGUSR1 ask the loop to checkpoint at the next step boundary and stop. Installed
 * first thing: before training starts (backend, data, variant) the worker ends at once, as
 * interrupted; without a listener SIGUSR1 would start Node's inspector and be lost.
 */
function stopSignals(s: Session): StopSignals {
  let received: string | undefined;
  let training = false;
  const onSignal = (name: string) => {
    if (!training) {
      s.end('interrupted', `stopped by ${name} before training started; no checkpoint written`);
      process.exit(0);
    }
    if (!received) process.stderr.write(`regbench worker: ${name} received; stopping after a checkpoint at the next step boundary\n`);
    received ??= name;
  };
  for (const sig of ['SIGTERM', 'SIGUSR1'] as const) process.on(sig, onSignal);
  return { requested: () => received !== undefined, signal: () => received, training: () => void (training = true) };
}

function checkpointWriter(s: Session, p: Prepared): (snapshot: TrainSnapshot) => void {
  const owner = ownerOf(s, p);
  return (snapshot) => {
    const { meta, seconds } = writeCheckpoint(owner, p.model, snapshot);
    emit({
      type: 'checkpoint',
      runId: s.spec.runId,
      time: s.now(),
      epoch: meta.epoch,
      step: meta.step,
      bytes: meta.bytes,
      seconds,
      weightsSha256: meta.weightsSha256,
    });
  };
}

async function runTraining(s: Session, p: Prepared, from: LoadedCheckpoint | undefined, stop: StopSignals): Promise<number> {
  stop.training();
  const guard = new StallGuard(new StepWatchdog(s.spec.stepTimeoutSeconds));
  try {
    const result = await train({
      spec: s.spec,
      model: p.model,
      data: p.data,
      variant: p.variant,
      microBatch: p.microBatch,
      afterStep: exitIfOrphaned,
      start: from ? { state: from.state, momenta: from.momenta } : undefined,
      checkpoint: checkpointWriter(s, p),
      stopRequested: stop.requested,
      guard,
      emit: (e) => {
        if (e.type === 'epoch') {
          s.epochsCompleted = e.epoch + 1;
          s.best = e.bestTestAcc;
          s.final = e.testAcc;
        }
        emit(e);
      },
    });
    if (result.stopped) {
      s.end('interrupted', `stopped by ${stop.signal() ?? 'a signal'} at epoch ${result.stopped.epoch + 1}, step ${result.stopped.step}; checkpoint written`);
      return 0;
    }
  } catch (err) {
    return failTraining(s, p, err);
  } finally {
    guard.dispose();
  }
  s.end('completed');
  return 0;
}

function failTraining(s: Session, p: Prepared, err: unknown): number {
  const at = { epoch: s.epochsCompleted };
  if (err instanceof VariantError) return s.fail('variant', err.message, { file: err.file, line: err.line, column: err.column, ...at, detail: err.detail });
  if (err instanceof DivergedError) return s.fail('diverged', err.message, { epoch: err.epoch, step: err.step });
  if (err instanceof LeakError) {
    s.log(err.message, 'warn');
    return s.fail(err.file ? 'variant' : 'internal', err.message, { file: err.file, epoch: err.epoch, step: err.step });
  }
  const message = (err as Error).message ?? String(err);
  // tfjs-wasm reports an exhausted 4 GB heap as a broken function table, not as out-of-memory.
  if (p.backend.backend.startsWith('wasm') && /null function or function signature mismatch|out of memory|memory access out of bounds/i.test(message)) {
    const slice = p.microBatch ?? s.spec.recipe.batchSize;
    return s.fail(
      'internal',
      `the wasm backend ran out of memory (its heap is limited to 4 GB) training ${s.spec.arch} with gradient slices of ${slice}; set REGBENCH_MICRO_BATCH=${Math.max(8, slice / 2)} or use a native backend`,
      { detail: (err as Error).stack },
    );
  }
  return s.fail('internal', `engine error: ${message}`, { detail: (err as Error).stack });
}

async function main(): Promise<number> {
  const spec = await readSpec();
  const s = new Session(spec);
  const stop = stopSignals(s);
  emit({ type: 'hello', runId: spec.runId, time: s.now(), protocol: PROTOCOL_VERSION, pid: process.pid });
  const prepared = await prepare(s);
  if (typeof prepared === 'number') return prepared;
  const from = resumePoint(s, prepared);
  if (typeof from === 'number') return from;
  emitRunStart(s, prepared, from);
  return runTraining(s, prepared, from, stop);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`regbench worker: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
