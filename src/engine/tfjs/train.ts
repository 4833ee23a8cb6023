/**
 * The training loop of the TensorFlow.js engine: SGD with momentum 0.9 and coupled weight decay
 * on every parameter, cosine learning rate per step, cross-entropy plus the variant's term.
 * It reports through `emit` and throws VariantError / DivergedError / LeakError; the worker turns
 * those into events. Every step runs inside tf.tidy scopes, so the tensor count is flat across
 * epochs (LeakMonitor fails a run whose count keeps growing).
 *
 * Checkpoints: the loop's whole state is a TrainState plus the momentum buffers plus the model's
 * variables and random streams. `checkpoint` is called with it after every epoch's evaluation and
 * at the step boundary where `stopRequested` first returns true; `start` continues from one.
 */
import * as tf from '@tensorflow/tfjs-core';
import { cosineLr, type RunSpec } from '../../protocol/benchmarks';
import type { EpochEvent, ProgressEvent } from '../../protocol/events';
import { LeakMonitor } from './leak';
import { trainStep, type Batch, type StepResult } from './step';
import { StallError, variantFrameOf, type StallGuard } from './stall-guard';
import type { Model, NormLayer, Variant } from './types';
import { VariantError, type LoadedVariant } from './variant-loader';

export { trainStep, type Batch, type StepOptions, type StepResult } from './step';

export interface BatchSource {
  trainImages: number;
  testImages: number;
  /**
   * Augmented, shuffled training batches of epoch `epoch` (seeded by the run seed and epoch),
   * starting with batch `fromStep` (default 0; a resumed epoch skips the batches already done).
   */
  trainBatches(epoch: number, fromStep?: number): Iterable<Batch>;
  testBatches(): Iterable<Batch>;
}

export class DivergedError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
    readonly step: number,
  ) {
    super(message);
  }
}

/** Running sums of the current epoch (per-example sums; `seen` images so far). */
export interface EpochSums {
  loss: number;
  ce: number;
  term: number;
  correct: number;
  seen: number;
}

/** Where the loop stands: a resume continues at `step` (steps done) of 0-based `epoch`. */
export interface TrainState {
  epoch: number;
  step: number;
  /** Steps done over the whole run: the cosine schedule's position. */
  globalStep: number;
  sums: EpochSums;
  best: number | null;
  final: number | null;
}

/** What a checkpoint holds besides the model: the loop's state and the momentum buffers. */
export interface TrainSnapshot {
  state: TrainState;
  /** SGD momentum buffers, one per trainable variable, in the order of trainableVariables(). */
  momenta: tf.Variable[];
}

export interface TrainOptions {
  spec: RunSpec;
  model: Model;
  data: BatchSource;
  variant?: LoadedVariant;
  emit: (e: EpochEvent | ProgressEvent) => void;
  /** Called after each epoch with the tensor count (tests use it to prove there is no leak). */
  onEpochEnd?: (epoch: number, numTensors: number) => void;
  /** Gradient slice size when a full batch does not fit in memory (see trainStep). */
  microBatch?: number;
  /** Called after every step; the worker uses it to stop when its parent process is gone. */
  afterStep?: () => void;
  /** Progress events at most this often (ms). */
  progressIntervalMs?: number;
  /** Continue from a checkpoint (the model's variables and random streams are already restored). */
  start?: { state: TrainState; momenta: Float32Array[] };
  /** Writes a checkpoint: after every epoch's evaluation ('epoch') and when stopping ('stop'). */
  checkpoint?: (snapshot: TrainSnapshot, why: 'epoch' | 'stop') => void;
  /** Polled at every step boundary; true: checkpoint there and return with `stopped`. */
  stopRequested?: () => boolean;
  /** The step watchdog: every step and every evaluation runs under it (stall-guard.ts). */
  guard?: StallGuard;
}

export interface TrainResult {
  bestTestAcc: number | null;
  finalTestAcc: number | null;
  epochsCompleted: number;
  /** Set when training stopped early on request: where a resume continues. */
  stopped?: { epoch: number; step: number };
}

/**
 * The gradient slice: none for the built-in BatchNorm, the whole batch in one piece (batch-norm
 * statistics over all of it, as the protocol says). Before the freeing backward walk
 * (freeing-backprop.ts) MobileNetV2 at 128 did not fit in wasm's 4 GB heap and ResNet-110 barely
 * did; now their steps peak at 2.4-2.6 GB and 1.8-1.9 GB of heap (docs/kernels.md). A CustomNorm
 * built from tf ops saves several full-size tensors per norm slot for its gradient: SwitchableNorm
 * on MobileNetV2 still ran out of the heap at slices of 64 (measured), so CustomNorm variants keep
 * the slices below. REGBENCH_MICRO_BATCH=<n> sets the slice (0 = whole batch).
 */
export function microBatchFor(arch: string, customNorm: boolean, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const forced = env.REGBENCH_MICRO_BATCH;
  if (forced !== undefined && forced !== '') return Number(forced) > 0 ? Number(forced) : undefined;
  return customNorm ? CUSTOM_NORM_MICRO_BATCH[arch] : undefined;
}

const CUSTOM_NORM_MICRO_BATCH: Record<string, number> = { mobilenetv2: 32, resnet110: 64 };

/**
 * Wraps every CustomNorm so that a shape change, and non-finite output for finite input in
 * evaluation mode, are reported with the slot and the variant file.
 */
export function checkedNormFactory(variant: Variant & { CustomNorm: NonNullable<Variant['CustomNorm']> }): (c: number) => NormLayer {
  let slot = 0;
  return (numFeatures: number) => {
    const index = slot++;
    let layer: NormLayer;
    try {
      layer = new variant.CustomNorm(numFeatures);
    } catch (err) {
      throw new VariantError(
        `${variant.path}: new CustomNorm(${numFeatures}) failed: ${(err as Error).message}`,
        variant.path,
        undefined,
        undefined,
        (err as Error).stack,
      );
    }
    if (typeof layer.apply !== 'function') {
      throw new VariantError(`${variant.path}: CustomNorm must have a method apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D`, variant.path);
    }
    const apply = layer.apply.bind(layer);
    const where = `${variant.path}: CustomNorm (norm slot ${index}, ${numFeatures} channels)`;
    Object.defineProperty(layer, 'apply', {
      enumerable: false,
      value: (x: tf.Tensor4D, training: boolean): tf.Tensor4D => checkedNormOutput(where, variant.path, x, apply(x, training), training),
    });
    return layer;
  };
}

function checkedNormOutput(where: string, file: string, x: tf.Tensor4D, y: unknown, training: boolean): tf.Tensor4D {
  const shape: readonly number[] | undefined = y instanceof tf.Tensor ? y.shape : undefined;
  if (!shape || shape.length !== x.shape.length || shape.some((d, i) => d !== x.shape[i])) {
    const got = shape ? `[${shape.join(',')}]` : typeof y;
    throw new VariantError(`${where} changed the shape: input [${x.shape.join(',')}], output ${got}; it must return the input's shape`, file);
  }
  // Evaluation only (one reduction per slot and test batch): later activations such as relu6 may
  // turn NaN into numbers, so the logits alone do not show it.
  const out = y as tf.Tensor4D;
  if (!training) {
    const bad = tf.tidy(() => tf.logicalAnd(tf.all(tf.isFinite(x)), tf.logicalNot(tf.all(tf.isFinite(out)))).dataSync()[0]);
    if (bad) {
      throw new VariantError(
        `${where} returned NaN or Inf in evaluation mode (training=false) for finite input; check its evaluation branch (running statistics)`,
        file,
      );
    }
  }
  return out;
}

/** The loop's working set: the options, derived sizes, the parameters and buffers, the state. */
interface Run {
  opts: TrainOptions;
  stepsPerEpoch: number;
  totalSteps: number;
  params: tf.Variable[];
  momenta: tf.Variable[];
  state: TrainState;
  leaks: LeakMonitor;
  /** Wall-clock start of the current epoch's segment and its training seconds. */
  epochStarted: number;
  trainSeconds: number;
}

const zeroSums = (): EpochSums => ({ loss: 0, ce: 0, term: 0, correct: 0, seen: 0 });

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const run = startRun(opts);
  const { spec } = opts;
  try {
    while (run.state.epoch < spec.epochs) {
      if (!(await trainEpoch(run))) {
        opts.checkpoint?.(snapshot(run), 'stop');
        return result(run, true);
      }
      endEpoch(run);
      // Let the event loop flush stdout and deliver a signal that came during evaluation.
      await yieldToEventLoop();
      // The epoch's checkpoint is the stop's checkpoint.
      if (run.state.epoch < spec.epochs && opts.stopRequested?.()) return result(run, true);
    }
  } finally {
    run.momenta.forEach((m) => m.dispose());
  }
  return result(run, false);
}

function startRun(opts: TrainOptions): Run {
  const stepsPerEpoch = Math.ceil(opts.data.trainImages / opts.spec.recipe.batchSize);
  const params = opts.model.trainableVariables();
  const saved = opts.start?.momenta;
  if (saved && saved.length !== params.length)
    throw new Error(`the checkpoint has ${saved.length} momentum buffers, the model ${params.length} trainable variables`);
  const momenta = params.map((p, i) => tf.variable(saved ? tf.tensor(saved[i], p.shape, 'float32') : tf.zerosLike(p), false));
  const start = opts.start?.state;
  const state: TrainState = start ? { ...start, sums: { ...start.sums } } : { epoch: 0, step: 0, globalStep: 0, sums: zeroSums(), best: null, final: null };
  return {
    opts,
    stepsPerEpoch,
    totalSteps: stepsPerEpoch * opts.spec.epochs,
    params,
    momenta,
    state,
    leaks: new LeakMonitor(opts.variant?.path),
    epochStarted: Date.now(),
    trainSeconds: 0,
  };
}

function snapshot(run: Run): TrainSnapshot {
  return { state: run.state, momenta: run.momenta };
}

function result(run: Run, stopped: boolean): TrainResult {
  const { state } = run;
  return {
    bestTestAcc: state.best,
    finalTestAcc: state.final,
    epochsCompleted: state.epoch,
    stopped: stopped ? { epoch: state.epoch, step: state.step } : undefined,
  };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Trains the rest of the current epoch; false when a stop was requested at a step boundary. */
async function trainEpoch(run: Run): Promise<boolean> {
  const { opts, state } = run;
  const { spec } = opts;
  run.epochStarted = Date.now();
  const seenBefore = state.sums.seen;
  let lastProgress = Date.now();
  for (const batch of opts.data.trainBatches(state.epoch, state.step)) {
    const r = guarded(run, () =>
      trainStep({
        model: opts.model,
        params: run.params,
        momenta: run.momenta,
        batch,
        lr: cosineLr(spec.recipe.lr, state.globalStep, run.totalSteps),
        momentum: spec.recipe.momentum,
        weightDecay: spec.recipe.weightDecay,
        numClasses: spec.numClasses,
        variant: opts.variant,
        microBatch: opts.microBatch,
        config: { numClasses: spec.numClasses, epoch: state.epoch, totalEpochs: spec.epochs, step: state.step, stepsPerEpoch: run.stepsPerEpoch },
      }),
    );
    recordStep(run, r, batch.size);
    opts.afterStep?.();
    run.leaks.afterStep(state.epoch, state.step);
    if (Date.now() - lastProgress >= (opts.progressIntervalMs ?? 1000) || state.step === run.stepsPerEpoch) {
      lastProgress = Date.now();
      emitProgress(run, (state.sums.seen - seenBefore) / Math.max(1e-3, (Date.now() - run.epochStarted) / 1000));
    }
    // Signals (SIGTERM/SIGUSR1) are delivered by the event loop: give it a turn every step.
    await yieldToEventLoop();
    if (state.step < run.stepsPerEpoch && opts.stopRequested?.()) return false;
  }
  run.trainSeconds = (Date.now() - run.epochStarted) / 1000;
  return true;
}

/**
 * Runs `fn` under the step guard; a stall becomes a VariantError that names the variant's file
 * and the line it was stuck on (or the engine, when no variant frame was running).
 */
function guarded<T>(run: Run, fn: () => T, how?: { countAsStep?: boolean; factor?: number }): T {
  const guard = run.opts.guard;
  if (!guard) return fn();
  try {
    return guard.run(fn, how?.countAsStep ?? true, how?.factor ?? 1);
  } catch (err) {
    if (!(err instanceof StallError)) throw err;
    throw stallError(err, run);
  }
}

function stallError(err: StallError, run: Run): Error {
  const { variant } = run.opts;
  const { epoch, step } = run.state;
  const at = `at epoch ${epoch + 1}, step ${step + 1}`;
  const stack = err.frames.map((f) => `    at ${f.functionName || '(anonymous)'} (${f.url}:${f.line}:${f.column})`).join('\n');
  const frame = variant ? variantFrameOf(err.frames, variant.compiledName) : undefined;
  if (!variant || !frame) {
    const inner = err.frames.find((f) => f.functionName && !f.url.startsWith('wasm://'))?.functionName ?? 'the engine';
    const hint = /dispose|malloc|makeOutput|write/i.test(inner)
      ? '; memory management never returned, which on the wasm backend means its 4 GB heap is full: REGBENCH_MICRO_BATCH=16 computes each batch in smaller slices'
      : '';
    return new VariantError(
      `${err.message} ${at}; it was not in the variant's code when stopped but in ${inner}${hint}`,
      variant?.path ?? 'the engine',
      undefined,
      undefined,
      stack,
    );
  }
  const loc = variant.locateCompiled(frame.line, frame.column);
  const where = `${variant.path}${loc.line ? `:${loc.line}` : ''}`;
  return new VariantError(
    `${where}: ${err.message} ${at}; it was in ${frame.functionName || 'the variant'} at line ${loc.line ?? '?'}`,
    variant.path,
    loc.line,
    loc.column,
    stack,
  );
}

/** Checks a step's values and adds them to the epoch's sums; advances the step counters. */
function recordStep(run: Run, r: StepResult, size: number): void {
  const { state } = run;
  const { variant } = run.opts;
  state.step++;
  state.globalStep++;
  const at = `at epoch ${state.epoch + 1}, step ${state.step}`;
  if (!Number.isFinite(r.ce)) throw new DivergedError(`loss became ${r.ce} ${at}: the run diverged`, state.epoch, state.step);
  if (!Number.isFinite(r.term)) {
    const where = variant ? variant.path : 'variant';
    // Non-finite from the very first step is a bug in the term; later it is the training diverging.
    if (state.globalStep === 1) throw new VariantError(`${where}: computeRegularization returned ${r.term} ${at}; it must be finite`, where);
    throw new DivergedError(`the regularization term became ${r.term} ${at}: the run diverged`, state.epoch, state.step);
  }
  const s = state.sums;
  s.ce += r.ce * size;
  s.term += r.term * size;
  s.loss += (r.ce + r.term) * size;
  s.correct += r.correct;
  s.seen += size;
}

function emitProgress(run: Run, imagesPerSec: number): void {
  const { state, opts } = run;
  opts.emit({
    type: 'progress',
    runId: opts.spec.runId,
    time: new Date().toISOString(),
    epoch: state.epoch,
    step: state.step,
    steps: run.stepsPerEpoch,
    loss: state.sums.loss / state.sums.seen,
    imagesPerSec,
  });
}

/** Evaluates, reports the epoch, moves the state to the next epoch and writes a checkpoint. */
function endEpoch(run: Run): void {
  const { opts, state } = run;
  const { spec } = opts;
  // The test set takes about a third of a step per batch: one step's limit for every batch.
  const batches = Math.ceil(opts.data.testImages / spec.recipe.batchSize);
  const test = guarded(run, () => evaluate(opts.model, opts.data, spec.numClasses), { countAsStep: false, factor: Math.max(1, batches) });
  opts.guard?.restartProfile();
  if (!test.finite) throw evaluationError(run, test.loss);
  state.final = test.acc;
  state.best = state.best === null ? test.acc : Math.max(state.best, test.acc);
  const s = state.sums;
  opts.emit({
    type: 'epoch',
    runId: spec.runId,
    time: new Date().toISOString(),
    epoch: state.epoch,
    totalEpochs: spec.epochs,
    trainLoss: s.loss / s.seen,
    trainCe: s.ce / s.seen,
    regTerm: s.term / s.seen,
    trainAcc: (100 * s.correct) / s.seen,
    testLoss: test.loss,
    testAcc: test.acc,
    lr: cosineLr(spec.recipe.lr, state.epoch * run.stepsPerEpoch, run.totalSteps),
    seconds: (Date.now() - run.epochStarted) / 1000,
    trainImagesPerSec: s.seen / Math.max(1e-3, run.trainSeconds),
    bestTestAcc: state.best,
    rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
  });
  opts.onEpochEnd?.(state.epoch, tf.memory().numTensors);
  state.epoch++;
  state.step = 0;
  state.sums = zeroSums();
  opts.checkpoint?.(snapshot(run), 'epoch');
}

/**
 * A non-finite test loss or logits ends the run: diverged when the weights themselves are no
 * longer finite, else evaluation mode is to blame (the variant's, when there is one).
 */
function evaluationError(run: Run, loss: number): Error {
  const { opts, state } = run;
  const epoch = state.epoch;
  const bad = opts.model.namedVariables().find((v) => !tf.tidy(() => tf.all(tf.isFinite(v.variable)).dataSync()[0]));
  if (bad) {
    return new DivergedError(`the test loss is ${loss} after epoch ${epoch + 1}: ${bad.name} is no longer finite, the run diverged`, epoch, run.stepsPerEpoch);
  }
  const what = `the test loss or logits are ${Number.isNaN(loss) ? 'NaN' : 'not finite'} in evaluation mode (training=false) after epoch ${epoch + 1}, while training mode and every weight are finite`;
  const variant = opts.variant;
  if (variant) return new VariantError(`${variant.path}: ${what}; check the variant's evaluation branch (e.g. CustomNorm's running statistics)`, variant.path);
  return new Error(`${what} (no variant loaded: an engine bug)`);
}

export interface EvalResult {
  loss: number;
  acc: number;
  /** false when the summed loss or any logit was NaN or Inf. */
  finite: boolean;
}

export function evaluate(model: Model, data: BatchSource, numClasses: number): EvalResult {
  let lossSum = 0;
  let correct = 0;
  let n = 0;
  let finite = true;
  for (const batch of data.testBatches()) {
    const [l, c, ok] = tf.tidy(() => {
      const x = tf.tensor4d(batch.images, [batch.size, 32, 32, 3]);
      const y = tf.tensor1d(batch.labels, 'int32');
      const logits = model.forward(x, false);
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses).toFloat(), logits, undefined, undefined, tf.Reduction.SUM);
      const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32'));
      return [loss.dataSync()[0], hits.dataSync()[0], tf.all(tf.isFinite(logits)).dataSync()[0]];
    });
    lossSum += l;
    correct += c;
    n += batch.size;
    finite = finite && ok === 1 && Number.isFinite(l);
  }
  return { loss: n ? lossSum / n : 0, acc: n ? (100 * correct) / n : 0, finite };
}
