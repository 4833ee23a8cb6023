/**
 * Wide ResNet (Zagoruyko & Komodakis 2016), the CIFAR variant: a 3x3 stem with 16 channels, three
 * stages of (depth - 4) / 6 pre-activation wide blocks with 16k/32k/64k channels (strides 1, 2, 2),
 * a final norm + ReLU, global average pooling and one linear layer. WRN-28-10: 4 blocks per stage,
 * widths 160/320/640. A model beyond the benchmarks: built by name, never a benchmark of protocol.json.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NormLayer } from '../types';
import { normRelu } from './batchnorm';
import { SeededRandom } from './init';
import { Dropout, type Conv2d, type Linear } from './layers';
import type { FeatureSink, LayerFactory, Network } from './network';

export interface WideResNetShape {
  /** 6n + 4: n blocks per stage. */
  depth: number;
  /** k: the stages have 16k, 32k and 64k channels. */
  widen: number;
}

/**
 * BN-ReLU-conv3x3-BN-ReLU-(dropout)-conv3x3 plus the shortcut. Where the shape changes the shortcut
 * is a 1x1 conv (no norm) of the block's pre-activated input, as in the authors' code; otherwise
 * the block's input itself. Properties in PyTorch's registration order (state_dict order).
 */
class WideBasicBlock {
  readonly bn1: NormLayer;
  readonly conv1: Conv2d;
  readonly bn2: NormLayer;
  readonly conv2: Conv2d;
  readonly shortcut?: Conv2d;
  private readonly dropout: Dropout;

  constructor(f: LayerFactory, inChannels: number, channels: number, stride: number, dropRate: number) {
    this.bn1 = f.norm(inChannels);
    this.conv1 = f.conv({ inChannels, outChannels: channels, kernelSize: 3, stride });
    this.bn2 = f.norm(channels);
    this.conv2 = f.conv({ inChannels: channels, outChannels: channels, kernelSize: 3 });
    if (stride !== 1 || inChannels !== channels) this.shortcut = f.conv({ inChannels, outChannels: channels, kernelSize: 1, stride });
    this.dropout = new Dropout(dropRate);
  }

  apply(x: tf.Tensor4D, training: boolean, rng: SeededRandom): tf.Tensor4D {
    const o = normRelu(this.bn1, x, training);
    const h = this.dropout.apply(normRelu(this.bn2, this.conv1.apply(o), training), training, rng);
    return tf.add(this.conv2.apply(h), this.shortcut ? this.shortcut.apply(o) : x);
  }
}

export class WideResNet implements Network {
  readonly conv1: Conv2d;
  readonly layer1: WideBasicBlock[];
  readonly layer2: WideBasicBlock[];
  readonly layer3: WideBasicBlock[];
  /** The final norm before the ReLU and the pooling. */
  readonly bn: NormLayer;
  readonly fc: Linear;
  private readonly dropoutRng: SeededRandom;

  constructor(f: LayerFactory, shape: WideResNetShape, numClasses: number, dropoutSeed: number, dropRate = 0) {
    if (shape.depth < 10 || (shape.depth - 4) % 6 !== 0) throw new Error(`Wide ResNet depth must be 6n + 4 (n >= 1), got ${shape.depth}`);
    const blocks = (shape.depth - 4) / 6;
    const [w1, w2, w3] = [16, 32, 64].map((c) => c * shape.widen);
    this.conv1 = f.conv({ inChannels: 3, outChannels: 16, kernelSize: 3 });
    const stage = (inChannels: number, channels: number, stride: number): WideBasicBlock[] =>
      Array.from({ length: blocks }, (_, i) => new WideBasicBlock(f, i === 0 ? inChannels : channels, channels, i === 0 ? stride : 1, dropRate));
    this.layer1 = stage(16, w1, 1);
    this.layer2 = stage(w1, w2, 2);
    this.layer3 = stage(w2, w3, 2);
    this.bn = f.norm(w3);
    this.fc = f.linear(w3, numClasses);
    this.dropoutRng = new SeededRandom(dropoutSeed);
  }

  randomStreams(): SeededRandom[] {
    return [this.dropoutRng];
  }

  forward(x: tf.Tensor4D, training: boolean, record: FeatureSink): tf.Tensor2D {
    let y = this.conv1.apply(x);
    record?.('conv1', y);
    const stages: Array<[string, WideBasicBlock[]]> = [
      ['layer1', this.layer1],
      ['layer2', this.layer2],
      ['layer3', this.layer3],
    ];
    for (const [name, blocks] of stages) {
      blocks.forEach((block, i) => {
        y = block.apply(y, training, this.dropoutRng);
        record?.(`${name}.${i}`, y);
      });
    }
    return this.fc.apply(tf.mean(normRelu(this.bn, y, training), [1, 2]) as tf.Tensor2D);
  }
}
