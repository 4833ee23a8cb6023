/**
 * One SGD step of the TensorFlow.js engine: forward in training mode, cross-entropy + the
 * variant's term, gradients of every trainable variable, the torch.optim.SGD update. Exported for
 * the cross-engine parity check, which must test this very code.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core ships its gradient functions separately; training needs all of them.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { installFreeingBackprop } from './freeing-backprop';
import { applySgd } from './sgd';
import type { Model, RegConfig, RegModel } from './types';
import { VariantError, type LoadedVariant } from './variant-loader';

/** One batch, normalized NHWC float32 images and int32 labels. */
export interface Batch {
  images: Float32Array;
  labels: Int32Array;
  size: number;
}

export interface StepResult {
  ce: number;
  term: number;
  correct: number;
}

export interface StepOptions {
  model: Model;
  /** The model's trainable variables, in order, and their momentum buffers (same order). */
  params: tf.Variable[];
  momenta: tf.Variable[];
  batch: Batch;
  lr: number;
  momentum: number;
  weightDecay: number;
  numClasses: number;
  /** Its computeRegularization (if any) adds the term; its file is named in errors. */
  variant?: LoadedVariant;
  config: RegConfig;
  /** Gradient slice size (see below); undefined or >= batch size: the whole batch at once. */
  microBatch?: number;
}

/**
 * `microBatch` (when smaller than the batch) computes the gradient in slices and averages them,
 * weighted by slice size: the same gradient for the loss, but batch statistics of norm layers are
 * then per slice (ghost batch norm). The engine uses it only when the user asks
 * (REGBENCH_MICRO_BATCH, see microBatchFor), for a variant whose tensors do not fit in the wasm
 * backend's 4 GB heap, and records it in the run's environment.
 */
export function trainStep(o: StepOptions): StepResult {
  const { batch } = o;
  const slice = o.microBatch && o.microBatch < batch.size ? o.microBatch : batch.size;
  let sum: tf.Tensor[] | undefined;
  const result: StepResult = { ce: 0, term: 0, correct: 0 };
  try {
    for (let start = 0; start < batch.size; start += slice) {
      const size = Math.min(slice, batch.size - start);
      const part: Batch = { images: batch.images.subarray(start * 3072, (start + size) * 3072), labels: batch.labels.subarray(start, start + size), size };
      const weight = size / batch.size;
      const r = sliceGradients(o, part);
      result.ce += r.ce * weight;
      result.term += r.term * weight;
      result.correct += r.correct;
      const previous = sum;
      // One slice (the usual case): its gradients are the step's, as they are.
      sum = weight === 1 ? r.grads : tf.tidy(() => r.grads.map((g, i) => (previous ? g.mul(weight).add(previous[i]) : g.mul(weight))));
      if (weight !== 1) tf.dispose(r.grads);
      if (previous) tf.dispose(previous);
    }
    applySgd(o.params, o.momenta, sum ?? [], o);
  } finally {
    if (sum) tf.dispose(sum);
  }
  return result;
}

interface SliceResult extends StepResult {
  /** Gradient of each parameter, in order (zeros where the loss does not depend on it); the caller disposes. */
  grads: tf.Tensor[];
}

function sliceGradients(o: StepOptions, batch: Batch): SliceResult {
  installFreeingBackprop();
  const values: StepResult = { ce: 0, term: 0, correct: 0 };
  const ordered = tf.tidy(() => {
    const x = tf.tensor4d(batch.images, [batch.size, 32, 32, 3]);
    const y = tf.tensor1d(batch.labels, 'int32');
    const yOneHot = tf.oneHot(y, o.numClasses).toFloat();
    let ce!: tf.Scalar;
    let term: tf.Scalar = tf.scalar(0);
    let correct!: tf.Scalar;
    const regularize = o.variant?.computeRegularization;
    const { grads } = tf.variableGrads(() => {
      const features = regularize ? new Map<string, tf.Tensor4D>() : undefined;
      const logits = o.model.forward(x, true, features);
      // Kept past variableGrads' own scope so their values can be read; disposed below.
      ce = tf.keep(tf.losses.softmaxCrossEntropy(yOneHot, logits) as tf.Scalar);
      correct = tf.keep(tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), y), 'int32')));
      if (!regularize || !o.variant) return ce;
      term = tf.keep(regularizationTerm(o, o.variant, { x, y, logits, features }));
      return ce.add(term) as tf.Scalar;
    }, o.params);
    [values.ce, values.term, values.correct] = [ce.dataSync()[0], term.dataSync()[0], correct.dataSync()[0]];
    tf.dispose([ce, term, correct]);
    // The gradients leave this scope (tidy keeps returned tensors); the caller disposes them.
    return o.params.map((p) => grads[p.name] ?? tf.zerosLike(p));
  });
  return { ...values, grads: ordered };
}

interface StepTensors {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
  logits: tf.Tensor2D;
  features: Map<string, tf.Tensor4D> | undefined;
}

/** Calls the variant's computeRegularization and checks that it returned a scalar. */
function regularizationTerm(o: StepOptions, variant: LoadedVariant, t: StepTensors): tf.Scalar {
  const regularize = variant.computeRegularization;
  if (!regularize) return tf.scalar(0);
  const regModel: RegModel = Object.assign(Object.create(o.model) as Model, { features: t.features ?? new Map<string, tf.Tensor4D>() });
  let value: unknown;
  try {
    value = regularize(regModel, t.x, t.logits, t.y, o.config);
  } catch (err) {
    if (err instanceof VariantError) throw err;
    const loc = variant.locate(err);
    throw new VariantError(
      `${variant.path}${loc.line ? `:${loc.line}` : ''}: computeRegularization threw at epoch ${o.config.epoch + 1}, step ${o.config.step + 1}: ${(err as Error).message ?? String(err)}`,
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
  return value.reshape([]).toFloat() as tf.Scalar;
}
