/**
 * The TensorFlow.js training worker: a child process that reads one RunSpec (a JSON line on
 * stdin), trains, and writes the run's events as JSON lines on stdout (src/protocol/events.ts).
 * Diagnostics go to stderr. Exit code 0 when the run completed, 1 otherwise.
 */
import * as os from 'node:os';
import type { RunSpec } from '../../protocol/benchmarks';
import { formatEventLine, PROTOCOL_VERSION, type ErrorKind, type RunEvent } from '../../protocol/events';
import { DataError } from '../data/errors';
import { initBackend } from './backend';
import { createBatchSource } from './batches';
import { buildModel } from './models';
import { checkedNormFactory, DivergedError, microBatchFor, train } from './train';
import { loadVariant, VariantError, type LoadedVariant } from './variant-loader';

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

async function main(): Promise<number> {
  const spec = await readSpec();
  const now = () => new Date().toISOString();
  const started = Date.now();
  const runId = spec.runId;
  emit({ type: 'hello', runId, time: now(), protocol: PROTOCOL_VERSION, pid: process.pid });
  const log = (message: string, level: 'debug' | 'info' | 'warn' = 'info') => emit({ type: 'log', runId, time: now(), level, message });
  let epochsCompleted = 0;
  let best: number | null = null;
  let final: number | null = null;
  const end = (status: 'completed' | 'failed' | 'diverged', reason?: string) =>
    emit({ type: 'run-end', runId, time: now(), status, bestTestAcc: best, finalTestAcc: final, epochsCompleted, seconds: (Date.now() - started) / 1000, reason });
  const fail = (kind: ErrorKind, message: string, extra: { file?: string; line?: number; column?: number; epoch?: number; step?: number; detail?: string } = {}) => {
    emit({ type: 'error', runId, time: now(), kind, message, ...extra });
    end(kind === 'diverged' ? 'diverged' : 'failed', message);
    return 1;
  };

  let backend;
  try {
    backend = await initBackend(spec.backend);
  } catch (err) {
    return fail('usage', (err as Error).message);
  }
  let variant: LoadedVariant | undefined;
  try {
    if (spec.variantKind.regularizer || spec.variantKind.norm) variant = await loadVariant(spec.variantPath);
  } catch (err) {
    if (err instanceof VariantError) return fail('variant', err.message, { file: err.file, line: err.line, column: err.column, detail: err.detail });
    throw err;
  }
  const microBatch = microBatchFor(spec.arch, backend.backend);
  let data;
  try {
    data = await createBatchSource(spec, (m) => log(m), microBatch ?? spec.recipe.batchSize);
  } catch (err) {
    if (err instanceof DataError) return fail('data', err.message, { file: err.file });
    throw err;
  }
  let model;
  try {
    const normFactory = variant?.CustomNorm ? checkedNormFactory({ ...variant, CustomNorm: variant.CustomNorm }) : undefined;
    model = buildModel(spec.arch, spec.numClasses, { normFactory, seed: spec.seed });
  } catch (err) {
    if (err instanceof VariantError) return fail('variant', err.message, { file: err.file, line: err.line, detail: err.detail });
    throw err;
  }
  emit({
    type: 'run-start',
    runId,
    time: now(),
    spec,
    env: {
      engine: 'tfjs',
      backend: backend.backend,
      versions: { node: process.versions.node, ...backend.versions },
      platform: `${os.platform()}-${os.arch()}`,
      cpus: os.cpus().length,
      hostname: os.hostname(),
      threads: backend.threads,
      microBatch,
    },
    stepsPerEpoch: Math.ceil(data.trainImages / spec.recipe.batchSize),
    trainImages: data.trainImages,
    testImages: data.testImages,
  });
  try {
    await train({
      spec,
      model,
      data,
      variant,
      microBatch,
      afterStep: exitIfOrphaned,
      emit: (e) => {
        if (e.type === 'epoch') {
          epochsCompleted = e.epoch + 1;
          best = e.bestTestAcc;
          final = e.testAcc;
        }
        emit(e);
      },
    });
  } catch (err) {
    if (err instanceof VariantError) {
      return fail('variant', err.message, { file: err.file, line: err.line, column: err.column, epoch: epochsCompleted, detail: err.detail });
    }
    if (err instanceof DivergedError) return fail('diverged', err.message, { epoch: err.epoch, step: err.step });
    const message = (err as Error).message ?? String(err);
    // tfjs-wasm reports an exhausted 4 GB heap as a broken function table, not as out-of-memory.
    if (backend.backend === 'wasm' && /null function or function signature mismatch|out of memory|memory access out of bounds/i.test(message)) {
      const slice = microBatch ?? spec.recipe.batchSize;
      return fail('internal', `the wasm backend ran out of memory (its heap is limited to 4 GB) training ${spec.arch} with gradient slices of ${slice}; set REGBENCH_MICRO_BATCH=${Math.max(8, slice / 2)} or use a native backend`, { detail: (err as Error).stack });
    }
    return fail('internal', `engine error: ${message}`, { detail: (err as Error).stack });
  }
  end('completed');
  return 0;
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
