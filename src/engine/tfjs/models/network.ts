/**
 * What the architecture families share: the factory that creates (and counts) layers while
 * a network is built, and the Model wrapper that turns a network's module tree into the engine's
 * Model contract (names, trainable variables, weights, disposal).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Model, ModelArch, NamedVariable, NormFactory, NormLayer } from '../types';
import { collectVariables } from '../variables';
import { SeededRandom } from './init';
import { Conv2d, type Conv2dOptions, Linear } from './layers';

/** Creates the layers of one network from one seeded stream and one norm factory. */
export class LayerFactory {
  readonly normLayers: NormLayer[] = [];
  /** Convolutions and linear layers, whose `weight` a weight penalty sees. */
  readonly weighted: Array<Conv2d | Linear> = [];
  private readonly rng: SeededRandom;

  constructor(
    seed: number,
    private readonly normFactory: NormFactory,
  ) {
    this.rng = new SeededRandom(seed);
  }

  conv(options: Conv2dOptions): Conv2d {
    const layer = new Conv2d(options, this.rng);
    this.weighted.push(layer);
    return layer;
  }

  linear(inFeatures: number, outFeatures: number): Linear {
    const layer = new Linear(inFeatures, outFeatures, this.rng);
    this.weighted.push(layer);
    return layer;
  }

  /** Every BatchNorm2d slot of every architecture goes through here. */
  norm(numFeatures: number): NormLayer {
    const layer = this.normFactory(numFeatures);
    this.normLayers.push(layer);
    return layer;
  }
}

/** Records a named block output when the caller asked for feature maps. */
export type FeatureSink = ((name: string, y: tf.Tensor4D) => void) | undefined;

/**
 * One architecture: its own properties are the top-level modules (their names are the first part
 * of every state_dict key) and nothing else.
 */
export interface Network {
  forward(x: tf.Tensor4D, training: boolean, record: FeatureSink): tf.Tensor2D;
  /** Generators the network draws from while training (dropout masks), for checkpoints. */
  randomStreams?(): SeededRandom[];
}

export class NetworkModel implements Model {
  readonly normLayers: NormLayer[];
  private readonly network: Network;
  private readonly weighted: ReadonlySet<tf.Variable>;

  constructor(
    readonly arch: ModelArch,
    readonly numClasses: number,
    network: Network,
    factory: LayerFactory,
  ) {
    this.network = network;
    this.normLayers = factory.normLayers;
    this.weighted = new Set(factory.weighted.map((l) => l.weight));
  }

  forward(x: tf.Tensor4D, training: boolean, features?: Map<string, tf.Tensor4D>): tf.Tensor2D {
    if (x.rank !== 4) throw new Error(`${this.arch} expects [B, H, W, 3] input, got [${x.shape.join(', ')}]`);
    const record: FeatureSink = features ? (name, y) => features.set(name, y) : undefined;
    return this.network.forward(x, training, record);
  }

  namedVariables(): NamedVariable[] {
    // Walked on every call (about a millisecond for ResNet-110) so that a CustomNorm that creates
    // its variables lazily, on its first apply, is still found.
    return collectVariables(this.network, '');
  }

  trainableVariables(): tf.Variable[] {
    return this.namedVariables()
      .filter((v) => v.trainable)
      .map((v) => v.variable);
  }

  weights(): NamedVariable[] {
    return this.namedVariables().filter((v) => this.weighted.has(v.variable));
  }

  randomState(): number[][] {
    return (this.network.randomStreams?.() ?? []).map((r) => r.getState());
  }

  setRandomState(states: readonly (readonly number[])[]): void {
    const streams = this.network.randomStreams?.() ?? [];
    if (states.length !== streams.length) throw new Error(`${this.arch} has ${streams.length} random streams, the saved state ${states.length}`);
    streams.forEach((r, i) => r.setState(states[i]));
  }

  dispose(): void {
    for (const v of this.namedVariables()) v.variable.dispose();
  }
}
