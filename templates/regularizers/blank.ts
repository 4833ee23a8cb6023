/**
 * Blank regularizer: a skeleton that adds nothing (term = 0).
 *
 * The engine calls `computeRegularization` once per training step, inside the gradient tape, and adds
 * the returned scalar to the cross-entropy loss. Whatever the term depends on through model variables
 * (weights, or the feature maps computed from them) receives gradients; weight decay 5e-4 is already
 * applied by the optimizer, so the term is additional to it.
 *
 * Formula: term = 0. Paper: none. Hyperparameters: none (declare yours as constants below).
 * Templates to start from: confidence-penalty.ts (outputs), dropblock-penalty.ts (feature maps),
 * orthogonal-reg.ts (weights).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { RegConfig, RegModel } from 'regbench';

// TODO: your hyperparameters, e.g. `const LAMBDA = 1e-4;`

export function computeRegularization(
  model: RegModel,
  inputs: tf.Tensor4D,
  outputs: tf.Tensor2D,
  targets: tf.Tensor1D,
  config: RegConfig,
): tf.Scalar {
  // model.arch                 'resnet56' | 'vgg16bn' | 'mobilenetv2' | 'resnet110' | 'resnet20'
  // model.numClasses           number of classes
  // model.features             Map<string, tf.Tensor4D>: this step's block outputs [B,H,W,C] in forward
  //                            order, e.g. ResNet 'conv1', 'layer1.0' ... 'layer3.8'; VGG 'features.2' ...;
  //                            MobileNetV2 'features.0' ... 'features.18'
  // model.weights()            NamedVariable[] of conv weights (HWIO [kh,kw,in,out]; depthwise
  //                            [kh,kw,C,1]) and linear weights ([in,out]); `.variable` is the tf.Variable
  // model.namedVariables()     every variable incl. norm parameters and running statistics
  // model.normLayers           the norm layers, one per BatchNorm2d slot
  // inputs                     the augmented, normalized batch [B,32,32,3]
  // outputs                    logits [B, numClasses]
  // targets                    integer labels [B] (int32)
  // config.epoch / config.totalEpochs   0-based epoch and the run's epoch count (for schedules)
  // config.step / config.stepsPerEpoch  0-based step within the epoch and steps per epoch
  //
  // TODO: build the term from the arguments above and return it as a scalar; tensors you create
  // here are disposed by the engine after the step.
  return tf.scalar(0);
}
