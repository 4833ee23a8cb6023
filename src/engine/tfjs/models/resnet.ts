/**
 * CIFAR ResNet (He et al. 2016, section 4.2) as chenyaofo/pytorch-cifar-models defines it:
 * a 3x3 stem with 16 channels, three stages of `n` basic blocks with 16/32/64 channels (the first
 * block of stages 2 and 3 has stride 2), projection shortcuts (1x1 conv + BN) where the shape
 * changes, global average pooling and one linear layer. ResNet-20/56/110: n = 3/9/18.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NormLayer } from '../types';
import { addRelu } from '../kernels/add-relu';
import { normRelu } from './batchnorm';
import type { Conv2d, Linear } from './layers';
import type { FeatureSink, LayerFactory, Network } from './network';

class BasicBlock {
  readonly conv1: Conv2d;
  readonly bn1: NormLayer;
  readonly conv2: Conv2d;
  readonly bn2: NormLayer;
  /** `downsample.0` conv 1x1, `downsample.1` norm; absent when the shape is kept. */
  readonly downsample?: [Conv2d, NormLayer];

  constructor(f: LayerFactory, inChannels: number, channels: number, stride: number) {
    this.conv1 = f.conv({ inChannels, outChannels: channels, kernelSize: 3, stride });
    this.bn1 = f.norm(channels);
    this.conv2 = f.conv({ inChannels: channels, outChannels: channels, kernelSize: 3 });
    this.bn2 = f.norm(channels);
    if (stride !== 1 || inChannels !== channels) {
      this.downsample = [f.conv({ inChannels, outChannels: channels, kernelSize: 1, stride }), f.norm(channels)];
    }
  }

  apply(x: tf.Tensor4D, training: boolean): tf.Tensor4D {
    const h = normRelu(this.bn1, this.conv1.apply(x), training);
    const y = this.bn2.apply(this.conv2.apply(h), training);
    const shortcut = this.downsample ? this.downsample[1].apply(this.downsample[0].apply(x), training) : x;
    return addRelu(y, shortcut);
  }
}

export class CifarResNet implements Network {
  readonly conv1: Conv2d;
  readonly bn1: NormLayer;
  readonly layer1: BasicBlock[];
  readonly layer2: BasicBlock[];
  readonly layer3: BasicBlock[];
  readonly fc: Linear;

  constructor(f: LayerFactory, blocksPerStage: number, numClasses: number) {
    this.conv1 = f.conv({ inChannels: 3, outChannels: 16, kernelSize: 3 });
    this.bn1 = f.norm(16);
    const stage = (inChannels: number, channels: number, stride: number): BasicBlock[] =>
      Array.from({ length: blocksPerStage }, (_, i) => new BasicBlock(f, i === 0 ? inChannels : channels, channels, i === 0 ? stride : 1));
    this.layer1 = stage(16, 16, 1);
    this.layer2 = stage(16, 32, 2);
    this.layer3 = stage(32, 64, 2);
    this.fc = f.linear(64, numClasses);
  }

  forward(x: tf.Tensor4D, training: boolean, record: FeatureSink): tf.Tensor2D {
    let y = normRelu(this.bn1, this.conv1.apply(x), training);
    record?.('conv1', y);
    const stages: Array<[string, BasicBlock[]]> = [
      ['layer1', this.layer1],
      ['layer2', this.layer2],
      ['layer3', this.layer3],
    ];
    for (const [name, blocks] of stages) {
      blocks.forEach((block, i) => {
        y = block.apply(y, training);
        record?.(`${name}.${i}`, y);
      });
    }
    return this.fc.apply(tf.mean(y, [1, 2]) as tf.Tensor2D);
  }
}
