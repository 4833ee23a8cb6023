/**
 * Backpropagation that frees memory as it goes, as PyTorch's autograd does.
 *
 * TensorFlow.js's `engine.gradients` keeps every tensor a kernel saved for its gradient and every
 * intermediate gradient until the whole backward pass has ended, so a training step peaks at about
 * the activations plus all their gradients. The walk below is the engine's own (same nodes, same
 * order, same additions: the gradients are bit for bit the same) but, once a node has been
 * differentiated, it disposes the tensors that node saved and the gradients of its outputs, which
 * no node earlier on the tape can need (a tensor's consumers all come after its producer). The
 * step's peak then falls to about the activations alone: what lets MobileNetV2 and ResNet-110
 * train at batch 128 in one piece inside wasm's 4 GB heap.
 *
 * Only top-level gradients are replaced; a gradient taken inside another (a variant's own
 * `tf.grad` under the training step's) goes to the engine's walk, which keeps what the outer
 * tape may still need.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getFilteredNodesXToY, type TapeNode } from '@tensorflow/tfjs-core/dist/tape';

type Gradients = tf.Tensor[];
type GradientsFn = (f: () => tf.Tensor, xs: tf.Tensor[], dy?: tf.Tensor, allowNoGradients?: boolean) => { value: tf.Tensor; grads: Gradients };

/** The members of tfjs's Engine this walk uses (some are private in its typings). */
interface EngineInternals {
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, fn: () => T): T;
  gradients: FreeingGradients;
}

type FreeingGradients = GradientsFn & { freeing?: true };

/** Replaces the engine's `gradients` with the freeing walk; idempotent. */
export function installFreeingBackprop(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  if (engine.gradients.freeing) return;
  const original = engine.gradients.bind(engine) as GradientsFn;
  const freeing: FreeingGradients = (f, xs, dy, allowNoGradients = false) =>
    engine.state.gradientDepth > 0 ? original(f, xs, dy, allowNoGradients) : gradients(engine, f, xs, dy, allowNoGradients);
  freeing.freeing = true;
  engine.gradients = freeing;
}

/** Puts the engine's own walk back (tests compare the two). */
export function uninstallFreeingBackprop(): void {
  const engine = tf.engine() as unknown as EngineInternals;
  // The walk was set on the instance; the prototype's method, the engine's own, shows through again.
  if (engine.gradients.freeing) delete (engine as Partial<EngineInternals>).gradients;
}

function gradients(
  engine: EngineInternals,
  f: () => tf.Tensor,
  xs: tf.Tensor[],
  dy: tf.Tensor | undefined,
  allowNoGradients: boolean,
): { value: tf.Tensor; grads: Gradients } {
  if (xs.length === 0) throw new Error('gradients() received an empty list of xs.');
  if (dy && dy.dtype !== 'float32') throw new Error(`dy must have 'float32' dtype, but has '${dy.dtype}'`);
  engine.startTape();
  let y: tf.Tensor;
  try {
    y = engine.tidy('forward', f);
  } finally {
    engine.endTape();
  }
  if (!(y instanceof tf.Tensor)) throw new Error('The result y returned by f() must be a tensor.');
  const tape = engine.state.activeTape ?? [];
  const filtered = getFilteredNodesXToY(tape, xs, y);
  if (!allowNoGradients && filtered.length === 0) {
    throw new Error('Cannot compute gradient of y=f(x) with respect to x. Make sure that the f you passed encloses all operations that lead from x to y.');
  }
  return engine.tidy('backward', () => {
    const grads = new Map<number, tf.Tensor>([[y.id, dy ?? tf.ones(y.shape)]]);
    const kept = new Set([y.id, ...xs.map((x) => x.id)]);
    for (let i = filtered.length - 1; i >= 0; i--) {
      backpropNode(engine, filtered[i], grads);
      freeNode(filtered[i], grads, kept);
    }
    for (const node of tape) disposeSaved(node);
    engine.state.activeTape = null;
    return { value: y, grads: xs.map((x) => grads.get(x.id)) as Gradients };
  });
}

/** Adds the node's input gradients (from its outputs' gradients) into `grads`. */
function backpropNode(engine: EngineInternals, node: TapeNode, grads: Map<number, tf.Tensor>): void {
  if (!node.gradient) throw new Error(`Cannot compute gradient: gradient function not found for ${node.kernelName}.`);
  const dys = node.outputs.map((o) => grads.get(o.id) ?? null) as tf.Tensor[];
  const inputGradients = node.gradient(dys);
  for (const name of Object.keys(node.inputs)) {
    if (!(name in inputGradients)) throw new Error(`Cannot backprop through input ${name}. Available gradients found: ${Object.keys(inputGradients)}.`);
    let dx = engine.tidy('grad', () => inputGradients[name]());
    const x = node.inputs[name];
    if (dx.dtype !== 'float32')
      throw new Error(`Error in gradient for op ${node.kernelName}. The gradient of input ${name} must have 'float32' dtype, but has '${dx.dtype}'`);
    if (!tf.util.arraysEqual(dx.shape, x.shape))
      throw new Error(
        `Error in gradient for op ${node.kernelName}. The gradient of input '${name}' has shape '${dx.shape}', which does not match the shape of the input '${x.shape}'`,
      );
    // A gradient function may hand back its dy or a saved tensor itself; both are freed below.
    if (dys.includes(dx) || node.saved?.includes(dx)) dx = dx.clone();
    const current = grads.get(x.id);
    if (!current) {
      grads.set(x.id, dx);
    } else {
      grads.set(x.id, tf.add(current, dx));
      current.dispose();
      dx.dispose();
    }
  }
}

/** Disposes what no node earlier on the tape can need: the node's saved tensors and its outputs' gradients. */
function freeNode(node: TapeNode, grads: Map<number, tf.Tensor>, kept: Set<number>): void {
  for (const o of node.outputs) {
    const g = grads.get(o.id);
    if (!g || kept.has(o.id)) continue;
    g.dispose();
    grads.delete(o.id);
  }
  disposeSaved(node);
}

function disposeSaved(node: TapeNode): void {
  for (const t of node.saved ?? []) t.dispose();
}
