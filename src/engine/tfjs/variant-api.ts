/**
 * What a TypeScript variant file may import as `regbench` (types only; erased at compile time):
 *   import type { RegModel, RegConfig, NormLayer } from 'regbench';
 * A variant exports `computeRegularization(model, inputs, outputs, targets, config)` and/or
 * `class CustomNorm implements NormLayer { constructor(numFeatures: number); apply(x, training) }`.
 * CustomNorm's tf.Variables must be own properties (or arrays/objects of them): the engine finds
 * them as torch.nn.Module finds parameters; `tf.variable(init, false)` makes a buffer (e.g.
 * running statistics) that gets no gradient and no weight decay.
 */
export type { RegModel, RegConfig, NormLayer, Model, NamedVariable, ComputeRegularization } from './types';
