/**
 * The building blocks every architecture shares (convolution, linear layer, dropout, activations,
 * pooling, nn.Sequential-like sequences). They hold their tf.Variables under PyTorch's attribute
 * names (`weight`, `bias`) so that collectVariables yields state_dict-like names. Layouts: conv weight HWIO `[kh, kw, in, out]`, depthwise
 * `[kh, kw, channels, 1]`, linear `[in, out]` (see docs/architectures.md for the PyTorch mapping).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NormLayer } from '../types';
import { BatchNorm2d } from './batchnorm';
import { SeededRandom, constantVariable, kaimingFanOutStd, normalVariable } from './init';

export interface Conv2dOptions {
  inChannels: number;
  outChannels: number;
  kernelSize: number;
  stride?: number;
  /** Zero padding on every side, as PyTorch's `padding`; default (kernelSize - 1) / 2. */
  padding?: number;
  /** A bias vector (PyTorch `bias=True`); default false. */
  bias?: boolean;
  /** One filter per input channel (PyTorch `groups = in_channels = out_channels`). */
  depthwise?: boolean;
}

export class Conv2d {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable | undefined;
  private readonly stride: number;
  // A number, not 'same': TensorFlow's 'same' pads a stride-2 convolution on the bottom/right
  // only, whereas PyTorch pads both sides; explicit padding keeps both engines identical.
  private readonly padding: number;
  private readonly depthwise: boolean;

  constructor(o: Conv2dOptions, rng: SeededRandom) {
    this.depthwise = o.depthwise ?? false;
    if (this.depthwise && o.inChannels !== o.outChannels) {
      throw new Error(`depthwise conv needs in == out channels, got ${o.inChannels} -> ${o.outChannels}`);
    }
    const k = o.kernelSize;
    const shape = this.depthwise ? [k, k, o.inChannels, 1] : [k, k, o.inChannels, o.outChannels];
    this.weight = normalVariable(shape, kaimingFanOutStd(k, k, o.outChannels), rng);
    this.bias = o.bias ? constantVariable([o.outChannels], 0) : undefined;
    this.stride = o.stride ?? 1;
    this.padding = o.padding ?? (k - 1) / 2;
  }

  apply(x: tf.Tensor4D): tf.Tensor4D {
    const w = this.weight as tf.Tensor4D;
    if (this.depthwise) {
      const y = tf.depthwiseConv2d(x, w, this.stride, this.padding);
      return this.bias ? tf.add(y, this.bias) : y;
    }
    if (this.bias) {
      // The fused kernel adds the bias in the same pass, in training too (linear activation).
      return tf.fused.conv2d({ x, filter: w, strides: this.stride, pad: this.padding, bias: this.bias });
    }
    return tf.conv2d(x, w, this.stride, this.padding);
  }
}

export class Linear {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(inFeatures: number, outFeatures: number, rng: SeededRandom) {
    this.weight = normalVariable([inFeatures, outFeatures], 0.01, rng);
    this.bias = constantVariable([outFeatures], 0);
  }

  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.fused.matMul({ a: x, b: this.weight as tf.Tensor2D, bias: this.bias }) as tf.Tensor2D;
  }
}

/** Inverted dropout (scales kept units by 1 / (1 - rate)) in training, identity in evaluation. */
export class Dropout {
  constructor(private readonly rate: number) {}

  apply<T extends tf.Tensor>(x: T, training: boolean, rng: SeededRandom): T {
    if (!training || this.rate === 0) return x;
    return tf.dropout(x, this.rate, undefined, rng.nextSeed()) as T;
  }
}

/** ReLU, or ReLU6 when `cap` is 6 (MobileNetV2). Holds no variables; keeps Sequential indices. */
export class ReLU {
  constructor(private readonly cap?: 6) {}

  /** ReLU6 (a cap at 6) rather than a plain ReLU. */
  get capped(): boolean {
    return this.cap === 6;
  }

  apply<T extends tf.Tensor>(x: T): T {
    return this.cap === 6 ? tf.relu6(x) : tf.relu(x);
  }
}

/** Max pooling 2x2, stride 2, no padding (PyTorch's MaxPool2d(2, 2)). */
export class MaxPool2d {
  apply(x: tf.Tensor4D): tf.Tensor4D {
    return tf.maxPool(x, 2, 2, 'valid');
  }
}

/** What a PyTorch nn.Sequential holds here; anything else in a sequence is a norm layer. */
export type SequenceItem = Conv2d | ReLU | MaxPool2d | NormLayer;

/**
 * Runs `[B,H,W,C]` through a sequence the way nn.Sequential does; `onOutput` sees each index. The
 * built-in BatchNorm2d followed by a plain ReLU runs as one step (BatchNorm2d.applyRelu, the
 * same values): `onOutput` then sees the ReLU's output only, the norm's is never made.
 */
export function applySequence(
  items: readonly SequenceItem[],
  x: tf.Tensor4D,
  training: boolean,
  onOutput?: (index: number, y: tf.Tensor4D) => void,
): tf.Tensor4D {
  let y = x;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const next = items[i + 1];
    if (item instanceof BatchNorm2d && next instanceof ReLU && !next.capped) {
      y = item.applyRelu(y, training);
      onOutput?.(++i, y);
      continue;
    }
    if (item instanceof Conv2d || item instanceof MaxPool2d || item instanceof ReLU) y = item.apply(y);
    else y = item.apply(y, training);
    onOutput?.(i, y);
  }
  return y;
}
