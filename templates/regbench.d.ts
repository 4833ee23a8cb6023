/**
 * Types of the `regbench` module that TypeScript variants import (`import type { RegModel } from
 * 'regbench'`). Regbench copies this file beside a new TypeScript variant so the editor knows the
 * types; the engine itself needs nothing from it (type imports are erased when a variant is
 * compiled). Editor types for TensorFlow.js come from `npm install -D @tensorflow/tfjs-core@4.22.0`
 * in the workspace; at run time Regbench provides its own TensorFlow.js.
 * Kept in step with src/engine/tfjs/types.ts (a test compares the names).
 */
declare module 'regbench' {
  import type * as tf from '@tensorflow/tfjs-core';

  /** A normalization layer: `[B,H,W,C]` in, the same shape out. BatchNorm2d's drop-in. */
  export interface NormLayer {
    apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
  }

  export interface NamedVariable {
    /** PyTorch-style name, e.g. `layer2.3.bn1.weight`. */
    name: string;
    variable: tf.Variable;
    trainable: boolean;
  }

  export interface Model {
    /** A benchmark's architecture; 'wrn28-10' only where a script builds that model itself (no benchmark uses it). */
    arch: 'resnet20' | 'resnet56' | 'resnet110' | 'vgg16bn' | 'mobilenetv2' | 'wrn28-10';
    numClasses: number;
    forward(x: tf.Tensor4D, training: boolean, features?: Map<string, tf.Tensor4D>): tf.Tensor2D;
    namedVariables(): NamedVariable[];
    trainableVariables(): tf.Variable[];
    normLayers: NormLayer[];
    /** Conv (HWIO) and linear ([in,out]) weights, for weight penalties. */
    weights(): NamedVariable[];
    dispose(): void;
  }

  export interface RegConfig {
    numClasses: number;
    /** 0-based epoch. */
    epoch: number;
    totalEpochs: number;
    step: number;
    stepsPerEpoch: number;
  }

  /** The model plus the named block outputs (NHWC) of the current step: forward hooks' counterpart. */
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
}
