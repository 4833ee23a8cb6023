/**
 * The training loop of the TensorFlow.js engine: SGD with momentum 0.9 and coupled weight decay
 * on every parameter, cosine learning rate per step, cross-entropy plus the variant's term.
 * It reports through `emit` and throws VariantError / DivergedError; the worker turns those into
 * events. Every step runs inside tf.tidy scopes, so the tensor count is flat across epochs.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core ships its gradient functions separately; training needs all of them.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { cosineLr, type RunSpec } from '../../protocol/benchmarks';
import type { EpochEvent, ProgressEvent } from '../../protocol/events';
import type { Model, NormLayer, RegConfig, RegModel, Variant } from './types';
import { VariantError, type LoadedVariant } from './variant-loader';

/** One batch, normalized NHWC float32 images and int32 labels. */
export interface Batch {
  images: Float32Array;
  labels: Int32Array;
  size: number;
}

export interface BatchSource {
  trainImages: number;
  testImages: number;
  /** Augmented, shuffled training batches of epoch `epoch` (seeded by the run seed and epoch). */
  trainBatches(epoch: number): Iterable<Batch>;
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
}

/**
 * The gradient slice of an architecture on a backend: the wasm heap is limited to 4 GB, and the
 * training-mode activations of a whole batch of 128 do not fit there for MobileNetV2 (its 6x
 * expanded 32x32 maps: out of memory at 128, and at 64 after ~80 steps as the heap fragments,
 * measured) and fit with almost no headroom for ResNet-110 (3.9 GB). REGBENCH_MICRO_BATCH
 * overrides (0 = whole batch).
 */
export function microBatchFor(arch: string, backend: string, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const forced = env.REGBENCH_MICRO_BATCH;
  if (forced !== undefined && forced !== '') return Number(forced) > 0 ? Number(forced) : undefined;
  if (backend === 'wasm+native') return NATIVE_MICRO_BATCH[arch];
  if (backend !== 'wasm') return undefined;
  return WASM_MICRO_BATCH[arch];
}

const WASM_MICRO_BATCH: Record<string, number> = { mobilenetv2: 32, resnet110: 64 };
// With the native kernels ResNet-110 trains at 128 in one piece (no XNNPACK scratch in the heap);
// MobileNetV2 at 128 still needs ~4.7 GB of wasm heap for tfjs' live tensors (docs/kernels.md).
const NATIVE_MICRO_BATCH: Record<string, number> = { mobilenetv2: 64 };

export interface TrainResult {
  bestTestAcc: number | null;
  finalTestAcc: number | null;
  epochsCompleted: number;
}

/** Wraps every CustomNorm so a shape change is reported with the slot and the variant file. */
export function checkedNormFactory(variant: Variant & { CustomNorm: NonNullable<Variant['CustomNorm']> }): (c: number) => NormLayer {
  let slot = 0;
  return (numFeatures: number) => {
    const index = slot++;
    let layer: NormLayer;
    try {
      layer = new variant.CustomNorm(numFeatures);
    } catch (err) {
      throw new VariantError(`${variant.path}: new CustomNorm(${numFeatures}) failed: ${(err as Error).message}`, variant.path, undefined, undefined, (err as Error).stack);
    }
    if (typeof layer.apply !== 'function') {
      throw new VariantError(`${variant.path}: CustomNorm must have a method apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D`, variant.path);
    }
    const apply = layer.apply.bind(layer);
    Object.defineProperty(layer, 'apply', {
      enumerable: false,
      value: (x: tf.Tensor4D, training: boolean): tf.Tensor4D => {
        const y = apply(x, training);
        if (!(y instanceof tf.Tensor) || y.shape.length !== x.shape.length || y.shape.some((d, i) => d !== x.shape[i])) {
          const got = y instanceof tf.Tensor ? `[${y.shape.join(',')}]` : typeof y;
          throw new VariantError(
            `${variant.path}: CustomNorm (norm slot ${index}, ${numFeatures} channels) changed the shape: input [${x.shape.join(',')}], output ${got}; it must return the input's shape`,
            variant.path,
          );
        }
        return y;
      },
    });
    return layer;
  };
}

export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { spec, model, data, variant } = opts;
  const { recipe } = spec;
  const batchSize = recipe.batchSize;
  const stepsPerEpoch = Math.ceil(data.trainImages / batchSize);
  const totalSteps = stepsPerEpoch * spec.epochs;
  const params = model.trainableVariables();
  const momenta = params.map((p) => tf.variable(tf.zerosLike(p), false));
  const regularize = variant?.computeRegularization;
  const progressEvery = opts.progressIntervalMs ?? 1000;

  let best: number | null = null;
  let final: number | null = null;
  let globalStep = 0;
  try {
    for (let epoch = 0; epoch < spec.epochs; epoch++) {
      const t0 = Date.now();
      const lrStart = cosineLr(recipe.lr, globalStep, totalSteps);
      let sumLoss = 0;
      let sumCe = 0;
      let sumTerm = 0;
      let correct = 0;
      let seen = 0;
      let step = 0;
      let lastProgress = Date.now();
      for (const batch of data.trainBatches(epoch)) {
        const lr = cosineLr(recipe.lr, globalStep, totalSteps);
        const config: RegConfig = { numClasses: spec.numClasses, epoch, totalEpochs: spec.epochs, step, stepsPerEpoch };
        const r = trainStep(model, params, momenta, batch, lr, recipe.momentum, recipe.weightDecay, spec.numClasses, regularize, config, variant, opts.microBatch);
        step++;
        globalStep++;
        opts.afterStep?.();
        if (!Number.isFinite(r.ce)) {
          throw new DivergedError(`loss became ${r.ce} at epoch ${epoch + 1}, step ${step}: the run diverged`, epoch, step);
        }
        if (!Number.isFinite(r.term)) {
          const where = variant ? variant.path : 'variant';
          // Non-finite from the very first step is a bug in the term; later it is the training diverging.
          if (globalStep === 1) throw new VariantError(`${where}: computeRegularization returned ${r.term} at epoch ${epoch + 1}, step ${step}; it must be finite`, where);
          throw new DivergedError(`the regularization term became ${r.term} at epoch ${epoch + 1}, step ${step}: the run diverged`, epoch, step);
        }
        sumCe += r.ce * batch.size;
        sumTerm += r.term * batch.size;
        sumLoss += (r.ce + r.term) * batch.size;
        correct += r.correct;
        seen += batch.size;
        if (Date.now() - lastProgress >= progressEvery || step === stepsPerEpoch) {
          lastProgress = Date.now();
          opts.emit({
            type: 'progress',
            runId: spec.runId,
            time: new Date().toISOString(),
            epoch,
            step,
            steps: stepsPerEpoch,
            loss: sumLoss / seen,
            imagesPerSec: seen / Math.max(1e-3, (Date.now() - t0) / 1000),
          });
        }
      }
      const trainSeconds = (Date.now() - t0) / 1000;
      const test = evaluate(model, data, spec.numClasses);
      final = test.acc;
      best = best === null ? test.acc : Math.max(best, test.acc);
      opts.emit({
        type: 'epoch',
        runId: spec.runId,
        time: new Date().toISOString(),
        epoch,
        totalEpochs: spec.epochs,
        trainLoss: sumLoss / seen,
        trainCe: sumCe / seen,
        regTerm: sumTerm / seen,
        trainAcc: (100 * correct) / seen,
        testLoss: test.loss,
        testAcc: test.acc,
        lr: lrStart,
        seconds: (Date.now() - t0) / 1000,
        trainImagesPerSec: seen / Math.max(1e-3, trainSeconds),
        bestTestAcc: best,
        rssMb: Math.round(process.memoryUsage().rss / 2 ** 20),
      });
      opts.onEpochEnd?.(epoch, tf.memory().numTensors);
      // Let the event loop flush stdout and notice signals between epochs.
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    momenta.forEach((m) => m.dispose());
  }
  return { bestTestAcc: best, finalTestAcc: final, epochsCompleted: spec.epochs };
}

export interface StepResult {
  ce: number;
  term: number;
  correct: number;
}

/**
 * One SGD step on one batch: forward in training mode, cross-entropy + the variant's term,
 * gradients of every trainable variable, the torch.optim.SGD update. Exported for the
 * cross-engine parity check, which must test this very code.
 *
 * `microBatch` (when smaller than the batch) computes the gradient in slices and averages them,
 * weighted by slice size: the same gradient for the loss, but batch statistics of norm layers are
 * then per slice (ghost batch norm). The engine uses it only where a full batch does not fit in
 * the wasm backend's 4 GB heap (see microBatchFor), and records it in the run's environment.
 */
export function trainStep(
  model: Model,
  params: tf.Variable[],
  momenta: tf.Variable[],
  batch: Batch,
  lr: number,
  momentum: number,
  weightDecay: number,
  numClasses: number,
  regularize: Variant['computeRegularization'],
  config: RegConfig,
  variant: LoadedVariant | undefined,
  microBatch?: number,
): StepResult {
  const slice = microBatch && microBatch < batch.size ? microBatch : batch.size;
  let sum: tf.Tensor[] | undefined;
  const result: StepResult = { ce: 0, term: 0, correct: 0 };
  try {
    for (let start = 0; start < batch.size; start += slice) {
      const size = Math.min(slice, batch.size - start);
      const part: Batch = { images: batch.images.subarray(start * 3072, (start + size) * 3072), labels: batch.labels.subarray(start, start + size), size };
      const weight = size / batch.size;
      const r = sliceGradients(model, params, part, numClasses, regularize, config, variant);
      result.ce += r.ce * weight;
      result.term += r.term * weight;
      result.correct += r.correct;
      const previous = sum;
      sum = tf.tidy(() => r.grads.map((g, i) => (weight === 1 ? g.clone() : g.mul(weight)).add(previous ? previous[i] : 0)));
      tf.dispose(r.grads);
      if (previous) tf.dispose(previous);
    }
    const grads = sum ?? [];
    tf.tidy(() => {
      // SGD as torch.optim.SGD: g += wd * w; buf = momentum * buf + g; w -= lr * buf.
      for (let i = 0; i < params.length; i++) {
        const p = params[i];
        const d = grads[i].add(p.mul(weightDecay));
        const buf = momenta[i].mul(momentum).add(d);
        momenta[i].assign(buf);
        p.assign(p.sub(buf.mul(lr)));
      }
    });
  } finally {
    if (sum) tf.dispose(sum);
  }
  return result;
}

interface SliceResult extends StepResult {
  /** Gradient of each parameter, in order (zeros where the loss does not depend on it); the caller disposes. */
  grads: tf.Tensor[];
}

function sliceGradients(
  model: Model,
  params: tf.Variable[],
  batch: Batch,
  numClasses: number,
  regularize: Variant['computeRegularization'],
  config: RegConfig,
  variant: LoadedVariant | undefined,
): SliceResult {
  const values: StepResult = { ce: 0, term: 0, correct: 0 };
  const ordered = tf.tidy(() => {
    const x = tf.tensor4d(batch.images, [batch.size, 32, 32, 3]);
    const y = tf.tensor1d(batch.labels, 'int32');
    const yOneHot = tf.oneHot(y, numClasses).toFloat();
    let ce!: tf.Scalar;
    let term: tf.Scalar = tf.scalar(0);
    let correct!: tf.Scalar;
    const { grads } = tf.variableGrads(() => {
      const features = regularize ? new Map<string, tf.Tensor4D>() : undefined;
      const logits = model.forward(x, true, features);
      // Kept past variableGrads' own scope so their values can be read; disposed below.
      ce = tf.keep(tf.losses.softmaxCrossEntropy(yOneHot, logits) as tf.Scalar);
      correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')));
      if (!regularize || !variant) return ce;
      const regModel: RegModel = Object.assign(Object.create(model) as Model, { features: features ?? new Map<string, tf.Tensor4D>() });
      let value: unknown;
      try {
        value = regularize(regModel, x, logits, y, config);
      } catch (err) {
        if (err instanceof VariantError) throw err;
        const loc = variant.locate(err);
        throw new VariantError(
          `${variant.path}${loc.line ? `:${loc.line}` : ''}: computeRegularization threw at epoch ${config.epoch + 1}, step ${config.step + 1}: ${(err as Error).message ?? String(err)}`,
          variant.path,
          loc.line,
          loc.column,
          (err as Error).stack,
        );
      }
      if (!(value instanceof tf.Tensor)) {
        throw new VariantError(`${variant.path}: computeRegularization must return a tf.Scalar, got ${value === null ? 'null' : typeof value}`, variant.path);
      }
      if (value.size !== 1) {
        throw new VariantError(`${variant.path}: computeRegularization must return a scalar, got a tensor of shape [${value.shape.join(',')}]`, variant.path);
      }
      term = tf.keep(value.reshape([]).toFloat() as tf.Scalar);
      return ce.add(term) as tf.Scalar;
    }, params);
    [values.ce, values.term, values.correct] = [ce.dataSync()[0], term.dataSync()[0], correct.dataSync()[0]];
    tf.dispose([ce, term, correct]);
    // The gradients leave this scope (tidy keeps returned tensors); the caller disposes them.
    return params.map((p) => grads[p.name] ?? tf.zerosLike(p));
  });
  return { ...values, grads: ordered };
}

export function evaluate(model: Model, data: BatchSource, numClasses: number): { loss: number; acc: number } {
  let lossSum = 0;
  let correct = 0;
  let n = 0;
  for (const batch of data.testBatches()) {
    const [l, c] = tf.tidy(() => {
      const x = tf.tensor4d(batch.images, [batch.size, 32, 32, 3]);
      const y = tf.tensor1d(batch.labels, 'int32');
      const logits = model.forward(x, false);
      const loss = tf.losses.softmaxCrossEntropy(tf.oneHot(y, numClasses).toFloat(), logits, undefined, undefined, tf.Reduction.SUM);
      const ok = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32'));
      return [loss.dataSync()[0], ok.dataSync()[0]];
    });
    lossSum += l;
    correct += c;
    n += batch.size;
  }
  return { loss: n ? lossSum / n : 0, acc: n ? (100 * correct) / n : 0 };
}
