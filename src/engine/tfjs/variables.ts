/**
 * Finds the tf.Variables an object holds, the way torch.nn.Module registers parameters:
 * every own property that is a tf.Variable (or an array / plain object of them, or a nested
 * object that holds them) is collected under `prefix.property`. A variable created with
 * `trainable = false` (running statistics) is a buffer.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { NamedVariable } from './types';

export function collectVariables(owner: object, prefix: string, out: NamedVariable[] = [], seen = new Set<object>()): NamedVariable[] {
  if (seen.has(owner)) return out;
  seen.add(owner);
  for (const [key, value] of Object.entries(owner)) {
    visit(value, prefix ? `${prefix}.${key}` : key, out, seen);
  }
  return out;
}

function visit(value: unknown, name: string, out: NamedVariable[], seen: Set<object>): void {
  if (value instanceof tf.Variable) {
    if (!out.some((v) => v.variable === value)) out.push({ name, variable: value, trainable: value.trainable });
    return;
  }
  if (value instanceof tf.Tensor || value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((item, i) => visit(item, `${name}.${i}`, out, seen));
    return;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  // Plain objects and class instances (sub-layers); skip Maps, typed arrays and the like.
  if (proto === Object.prototype || proto === null || (typeof proto === 'object' && proto !== null && !(value instanceof Map) && !ArrayBuffer.isView(value))) {
    collectVariables(value, name, out, seen);
  }
}
