/**
 * The contract between the TensorFlow.js models, the training loop and a variant.
 * Layout is NHWC everywhere. Parameter names follow the PyTorch reference's state_dict keys
 * (e.g. `layer1.0.conv1.weight`, `layer1.0.bn1.running_mean`) so that weights can be copied
 * between engines by name; only the layout differs (see docs/architectures.md).
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { ArchId } from '../../protocol/benchmarks';

/** Models beyond the five benchmarks' architectures, built by name only (docs/architectures.md). */
export type ExtraModelId = 'wrn28-10';
/** Every architecture `buildModel` accepts: a benchmark's architecture or an extra model. */
export type ModelArch = ArchId | ExtraModelId;

/** A normalization layer: `[B,H,W,C]` in, the same shape out. BatchNorm2d's drop-in. */
export interface NormLayer {
  /** `training` is true during training steps, false for evaluation. */
  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
}

/** Builds the normalization layer of one slot; every norm slot of every model goes through it. */
export type NormFactory = (numFeatures: number) => NormLayer;

export interface NamedVariable {
  /** PyTorch-style name, e.g. `layer2.3.bn1.weight`. */
  name: string;
  variable: tf.Variable;
  /** Trainable parameters get gradients; buffers (running statistics) do not. */
  trainable: boolean;
}

/** What a model exposes to the training loop and to a regularizer. */
export interface Model {
  arch: ModelArch;
  numClasses: number;
  /**
   * Logits `[B, numClasses]` for `x` `[B,32,32,3]`. When `features` is given, the model stores
   * its named block outputs there (e.g. `stem`, `layer1.0`, ..., `features.17`, `pool`), in order.
   */
  forward(x: tf.Tensor4D, training: boolean, features?: Map<string, tf.Tensor4D>): tf.Tensor2D;
  /** Every variable of the model, trainable and buffers, in a stable order. */
  namedVariables(): NamedVariable[];
  /** The trainable variables only, in the same order. */
  trainableVariables(): tf.Variable[];
  /** The norm layers created through the factory, in creation order (one per BatchNorm2d slot). */
  normLayers: NormLayer[];
  /** Weight tensors of the convolutions and linear layers, by name (for weight penalties). */
  weights(): NamedVariable[];
  /** State of every random generator the model draws from in training (checkpoints). */
  randomState?(): number[][];
  setRandomState?(states: readonly (readonly number[])[]): void;
  dispose(): void;
}

/** The configuration a regularizer receives each step. */
export interface RegConfig {
  numClasses: number;
  /** 0-based epoch. */
  epoch: number;
  totalEpochs: number;
  /** 0-based step within the epoch, and steps per epoch. */
  step: number;
  stepsPerEpoch: number;
}

/**
 * The `model` argument of `computeRegularization`: the model plus the named intermediate feature
 * maps of the current step (block outputs, NHWC), the TensorFlow.js counterpart of forward hooks.
 */
export interface RegModel extends Model {
  features: Map<string, tf.Tensor4D>;
}

export type ComputeRegularization = (
  model: RegModel,
  inputs: tf.Tensor4D,
  outputs: tf.Tensor2D,
  targets: tf.Tensor1D,
  config: RegConfig,
) => tf.Scalar | tf.Tensor;

/** A loaded variant: what its file exports. */
export interface Variant {
  path: string;
  computeRegularization?: ComputeRegularization;
  /** A class constructed as `new CustomNorm(numFeatures)`. */
  CustomNorm?: new (numFeatures: number) => NormLayer;
}
