/**
 * Seeded weight initialization. The same seed gives bit-identical weights on every backend and
 * machine because the numbers come from a JavaScript generator, not from a backend kernel.
 */
import * as tf from '@tensorflow/tfjs-core';

/**
 * A small deterministic generator (mulberry32 for uniforms, Box-Muller for normals). Quality is
 * ample for weight initialization and dropout seeds; it is not meant for cryptography.
 */
export class SeededRandom {
  private state: number;
  private spareNormal: number | undefined;

  constructor(seed: number) {
    // Mix the seed so that nearby seeds (0, 1, 2, ...) start far apart.
    this.state = hash32((Math.floor(seed) >>> 0) ^ 0x9e3779b9);
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Standard normal. */
  normal(): number {
    if (this.spareNormal !== undefined) {
      const v = this.spareNormal;
      this.spareNormal = undefined;
      return v;
    }
    // 1 - uniform() lies in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - this.uniform()));
    const angle = 2 * Math.PI * this.uniform();
    this.spareNormal = radius * Math.sin(angle);
    return radius * Math.cos(angle);
  }

  /** The generator's whole state, for checkpoints: [state, spare normal or NaN (null once in JSON)]. */
  getState(): [number, number] {
    return [this.state, this.spareNormal ?? Number.NaN];
  }

  setState([state, spare]: readonly number[]): void {
    this.state = state | 0;
    this.spareNormal = Number.isFinite(spare) ? spare : undefined;
  }

  /** An integer seed for a tfjs random op (dropout masks). */
  nextSeed(): number {
    return Math.floor(this.uniform() * 2147483647);
  }
}

function hash32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** A trainable variable filled with normal(0, std) values. */
export function normalVariable(shape: number[], std: number, rng: SeededRandom): tf.Variable {
  const size = shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = rng.normal() * std;
  return variableFrom(tf.tensor(values, shape, 'float32'), true);
}

/** A variable filled with one value; `trainable = false` makes a buffer (running statistics). */
export function constantVariable(shape: number[], value: number, trainable = true): tf.Variable {
  return variableFrom(tf.fill(shape, value, 'float32'), trainable);
}

/** The variable shares the tensor's data; disposing the tensor leaves no stray handle behind. */
function variableFrom(initial: tf.Tensor, trainable: boolean): tf.Variable {
  const v = tf.variable(initial, trainable);
  initial.dispose();
  return v;
}

/**
 * Kaiming/He normal, mode fan_out, gain sqrt(2), as torch.nn.init.kaiming_normal_(mode='fan_out')
 * computes it. PyTorch's fan_out for a conv weight [out, in/groups, kh, kw] is out * kh * kw, for
 * depthwise convolutions too (out = channels there), so the group count does not enter.
 */
export function kaimingFanOutStd(kernelH: number, kernelW: number, outChannels: number): number {
  return Math.sqrt(2 / (kernelH * kernelW * outChannels));
}
