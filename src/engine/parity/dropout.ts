/**
 * Turns off the dropout layers of a TensorFlow.js model for the parity step: the engines draw
 * different masks, so with dropout on their gradients could not agree (the PyTorch side sets
 * p = 0 on its nn.Dropout modules).
 *
 * The Model contract has no switch for this, so the model's object graph is walked the way
 * collectVariables walks it (own properties, arrays by index) and every Dropout found is replaced
 * by a Dropout(0), which passes its input through. A `dropout` build option on the model would be
 * cleaner; until it exists, the count returned lets the caller check that the walk found them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Dropout } from '../tfjs/models/layers';
import type { Model } from '../tfjs/types';

export function disableDropout(model: Model): number {
  return replaceIn(model, new Set<object>());
}

function replaceIn(owner: object, seen: Set<object>): number {
  if (seen.has(owner)) return 0;
  seen.add(owner);
  let replaced = 0;
  // A record view of any object: the walk reads and writes properties by name.
  const slots = owner as Record<string, unknown>;
  for (const key of Object.keys(owner)) {
    const value = slots[key];
    if (value instanceof Dropout) {
      slots[key] = new Dropout(0);
      replaced++;
    } else if (value !== null && typeof value === 'object' && !(value instanceof tf.Tensor) && !ArrayBuffer.isView(value) && !(value instanceof Map)) {
      replaced += replaceIn(value, seen);
    }
  }
  return replaced;
}
