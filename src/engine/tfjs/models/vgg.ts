/**
 * VGG-16 with BatchNorm, CIFAR variant as chenyaofo/pytorch-cifar-models defines it: the 13 conv
 * layers of configuration D (3x3, padding 1, with bias), each followed by BN and ReLU, five 2x2 max
 * pools (32x32 -> 1x1), then a 512-512-classes head with ReLU and Dropout(0.5).
 */
import * as tf from '@tensorflow/tfjs-core';
import { SeededRandom } from './init';
import { Dropout, Linear, MaxPool2d, ReLU, type SequenceItem, applySequence } from './layers';
import type { FeatureSink, LayerFactory, Network } from './network';

/** Output channels of each conv, 'M' a max pool (torchvision's cfg 'D'). */
const VGG16_CONFIG: ReadonlyArray<number | 'M'> = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'];

export class Vgg16Bn implements Network {
  /** torchvision's Sequential indices: conv, norm, ReLU per conv; one index per pool. */
  readonly features: SequenceItem[] = [];
  /** `classifier.0` / `.3` / `.6` are the linear layers. */
  readonly classifier: Array<Linear | ReLU | Dropout>;
  private readonly dropoutRng: SeededRandom;

  constructor(f: LayerFactory, numClasses: number, dropoutSeed: number) {
    let inChannels = 3;
    for (const item of VGG16_CONFIG) {
      if (item === 'M') {
        this.features.push(new MaxPool2d());
        continue;
      }
      this.features.push(f.conv({ inChannels, outChannels: item, kernelSize: 3, padding: 1, bias: true }), f.norm(item), new ReLU());
      inChannels = item;
    }
    this.classifier = [f.linear(512, 512), new ReLU(), new Dropout(0.5), f.linear(512, 512), new ReLU(), new Dropout(0.5), f.linear(512, numClasses)];
    this.dropoutRng = new SeededRandom(dropoutSeed);
  }

  randomStreams(): SeededRandom[] {
    return [this.dropoutRng];
  }

  forward(x: tf.Tensor4D, training: boolean, record: FeatureSink): tf.Tensor2D {
    const maps = applySequence(this.features, x, training, (i, y) => {
      // The ReLU and pool outputs are the block outputs; conv and norm outputs are intermediate.
      const item = this.features[i];
      if (item instanceof ReLU || item instanceof MaxPool2d) record?.(`features.${i}`, y);
    });
    let h: tf.Tensor2D = tf.reshape(maps, [maps.shape[0], -1]);
    for (const item of this.classifier) {
      h = item instanceof Dropout ? item.apply(h, training, this.dropoutRng) : item.apply(h);
    }
    return h;
  }
}
