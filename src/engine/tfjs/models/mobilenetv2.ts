/**
 * MobileNetV2 (Sandler et al. 2018), CIFAR variant as chenyaofo/pytorch-cifar-models defines it
 * (torchvision's module layout): stride-1 stem and stride 1 in the second stage so that 32x32
 * inputs end at 4x4; 17 inverted residual blocks; a 1x1 conv to 1280 channels; average pooling;
 * Dropout(0.2) and a linear classifier.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SeededRandom } from './init';
import { Dropout, type Linear, ReLU, type SequenceItem, applySequence } from './layers';
import type { FeatureSink, LayerFactory, Network } from './network';

/** [expansion t, output channels c, repeats n, first stride s]. */
const INVERTED_RESIDUAL_SETTINGS: ReadonlyArray<readonly [number, number, number, number]> = [
  [1, 16, 1, 1],
  [6, 24, 2, 1],
  [6, 32, 3, 2],
  [6, 64, 4, 2],
  [6, 96, 3, 1],
  [6, 160, 3, 2],
  [6, 320, 1, 1],
];
const STEM_CHANNELS = 32;
const LAST_CHANNELS = 1280;

/** torchvision's ConvBNReLU: `.0` conv (no bias), `.1` norm, `.2` ReLU6. */
function convBnRelu6(f: LayerFactory, inChannels: number, outChannels: number, kernelSize: number, stride = 1, depthwise = false): SequenceItem[] {
  return [f.conv({ inChannels, outChannels, kernelSize, stride, depthwise }), f.norm(outChannels), new ReLU(6)];
}

class InvertedResidual {
  /**
   * expansion t != 1: `conv.0` expand ConvBNReLU, `conv.1` depthwise ConvBNReLU, `conv.2` project
   * conv, `conv.3` norm; t == 1: `conv.0` depthwise ConvBNReLU, `conv.1` project, `conv.2` norm.
   */
  readonly conv: Array<SequenceItem | SequenceItem[]>;
  private readonly residual: boolean;

  constructor(f: LayerFactory, inChannels: number, outChannels: number, stride: number, expansion: number) {
    const hidden = inChannels * expansion;
    this.conv = [];
    if (expansion !== 1) this.conv.push(convBnRelu6(f, inChannels, hidden, 1));
    this.conv.push(convBnRelu6(f, hidden, hidden, 3, stride, true), f.conv({ inChannels: hidden, outChannels, kernelSize: 1 }), f.norm(outChannels));
    this.residual = stride === 1 && inChannels === outChannels;
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const y = this.conv.reduce<tf.Tensor4D>((h, item) => (Array.isArray(item) ? applySequence(item, h, training) : applySequence([item], h, training)), x);
    return this.residual ? (tf.add(x, y) as tf.Tensor4D) : y;
  }
}

export class MobileNetV2 implements Network {
  /** `features.0` stem, `features.1..17` inverted residuals, `features.18` 1x1 conv to 1280. */
  readonly features: Array<SequenceItem[] | InvertedResidual>;
  /** `classifier.0` Dropout(0.2), `classifier.1` linear. */
  readonly classifier: [Dropout, Linear];
  private readonly dropoutRng: SeededRandom;

  constructor(f: LayerFactory, numClasses: number, dropoutSeed: number) {
    this.features = [convBnRelu6(f, 3, STEM_CHANNELS, 3)];
    let inChannels = STEM_CHANNELS;
    for (const [t, c, n, s] of INVERTED_RESIDUAL_SETTINGS) {
      for (let i = 0; i < n; i++) {
        this.features.push(new InvertedResidual(f, inChannels, c, i === 0 ? s : 1, t));
        inChannels = c;
      }
    }
    this.features.push(convBnRelu6(f, inChannels, LAST_CHANNELS, 1));
    this.classifier = [new Dropout(0.2), f.linear(LAST_CHANNELS, numClasses)];
    this.dropoutRng = new SeededRandom(dropoutSeed);
  }

  randomStreams(): SeededRandom[] {
    return [this.dropoutRng];
  }

  forward(x: tf.Tensor4D, training: boolean, record: FeatureSink): tf.Tensor2D {
    let y = x;
    this.features.forEach((block, i) => {
      y = block instanceof InvertedResidual ? block.apply(y, training) : applySequence(block, y, training);
      record?.(`features.${i}`, y);
    });
    const pooled = tf.mean(y, [1, 2]) as tf.Tensor2D;
    return this.classifier[1].apply(this.classifier[0].apply(pooled, training, this.dropoutRng));
  }
}
