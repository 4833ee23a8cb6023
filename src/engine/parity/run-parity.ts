/**
 * Cross-engine parity of one benchmark's network: the PyTorch engine and the TensorFlow.js engine
 * must compute the same numbers from the same weights. The PyTorch side (parity.py) builds its
 * model, exports the state, the eval logits and the state after one training step; this side
 * loads that state into the TensorFlow.js model by name (layout.ts converts), and repeats the
 * evaluation and the step with the engine's own code (Model.forward, trainStep, loadVariant).
 *
 * Checks (PARITY_TOLERANCES; the measured figures are in docs/parity.md):
 * - state: every state_dict name exists on both sides with the same shape after the layout
 *   mapping and the same parameter/buffer role;
 * - eval logits: max |tfjs - torch| / max |torch|;
 * - BatchNorm running statistics after one training forward (momentum 0.1): per buffer
 *   max |tfjs - torch| / max |torch|, the worst buffer;
 * - the step's loss: cross-entropy and the regularizer term, relative;
 * - parameters after one SGD step (lr 0.1, momentum 0.9, coupled weight decay 5e-4,
 *   cross-entropy + the confidence penalty template, dropout off): max |tfjs - torch|.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { getBenchmark, RECIPE, type ArchId, type BackendId, type BenchId } from '../../protocol/benchmarks';
import { findPython } from '../pytorch/launcher';
import { initBackend } from '../tfjs/backend';
import { buildModel } from '../tfjs/models/index';
import { SeededRandom } from '../tfjs/models/init';
import { trainStep } from '../tfjs/train';
import type { Model, NamedVariable, RegConfig } from '../tfjs/types';
import { loadVariant, type LoadedVariant } from '../tfjs/variant-loader';
import { maxAbsDiff, maxRelativeDiff, worstOf } from './compare';
import { disableDropout } from './dropout';
import { tfjsShapeOf, tfjsToTorch, torchToTfjs } from './layout';
import { findParityScript, runTorchSide, type KinkDistance, type TorchSideResult, type TorchStateEntry } from './torch-side';

export type ParityCheckId = 'state' | 'eval-logits' | 'bn-running-stats' | 'step-loss' | 'step-update' | 'step-params';

export interface ParityCheck {
  id: ParityCheckId;
  title: string;
  /** The largest error found, in `unit`. */
  error: number;
  tolerance: number;
  unit: 'relative' | 'absolute' | 'count';
  /** The tensor (state_dict name) or value where the error is largest. */
  worst?: string;
  pass: boolean;
  /** Why it failed, or a figure that puts the error in context. */
  note?: string;
}

export const PARITY_TOLERANCES: Record<ParityCheckId, number> = {
  state: 0,
  'eval-logits': 1e-4,
  'bn-running-stats': 1e-4,
  'step-loss': 1e-5,
  'step-update': 5e-2,
  'step-params': 1e-5,
};

export interface ParityReport {
  bench: BenchId;
  arch: ArchId;
  numClasses: number;
  batch: number;
  seed: number;
  torch: { python: string; version: string; threads: number };
  tfjs: { backend: string; threads?: number };
  /** state_dict entries compared (num_batches_tracked excluded). */
  tensors: number;
  /** Dropout layers set to rate 0 for the step on the TensorFlow.js side. */
  dropoutLayersDisabled: number;
  /** max |parameter change| of the PyTorch step: proof that the step moved the weights. */
  stepMagnitude: number;
  /** max |running statistic change| of the PyTorch training forward. */
  statsMagnitude: number;
  /**
   * The smallest distance of a ReLU / ReLU6 input of the step's forward to its kink (PyTorch
   * side). Within float32 rounding (~1e-6) of a kink the engines may take different branches and
   * the step's numbers legitimately differ (one such input: 3.7e-5 in ResNet-20's parameters).
   */
  reluMargin: KinkDistance;
  /**
   * The smallest gap between the two largest values of a max-pool window (VGG). A near tie may
   * route one position's gradient to its neighbour; reported, not avoidable by the state chosen.
   */
  poolTieGap: KinkDistance;
  checks: ParityCheck[];
  pass: boolean;
  seconds: { torch: number; tfjs: number; total: number };
}

export interface ParityOptions {
  bench: BenchId;
  /** Images in the parity batch; default 4. */
  batch?: number;
  /** Seeds the input, the labels and the PyTorch weights; default 0. */
  seed?: number;
  /** TensorFlow.js backend; default 'wasm'. */
  backend?: BackendId;
  /** Device of both engines (the torch backend's and PyTorch's): cpu (default), cuda, cuda:N. */
  device?: string;
  /** Python interpreter setting (see findPython). */
  python?: string;
  /** Folder holding pytorch/parity.py; default: beside this bundle. */
  distDir?: string;
  /** Folder holding regularizers/confidence-penalty.ts and confidence_penalty.py. */
  templatesDir?: string;
  env?: NodeJS.ProcessEnv;
  onStderr?: (line: string) => void;
}

const TS_REGULARIZER = path.join('regularizers', 'confidence-penalty.ts');
const PY_REGULARIZER = path.join('regularizers', 'confidence_penalty.py');
const IMAGE = 32;

export async function runParity(opts: ParityOptions): Promise<ParityReport> {
  const started = Date.now();
  const bench = getBenchmark(opts.bench);
  const batch = opts.batch ?? 4;
  const seed = opts.seed ?? 0;
  if (!Number.isInteger(batch) || batch < 1 || batch > 128) throw new Error(`the parity batch must be an integer from 1 to 128, got ${batch}`);
  const env = opts.env ?? process.env;
  const templates = findTemplates(opts.templatesDir);
  const script = findParityScript(opts.distDir);
  const { python } = await findPython({ setting: opts.python, env });
  const input = parityInput(batch, bench.numClasses, seed);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-parity-'));
  let model: Model | undefined;
  // Settles when the Python child is done, so the folder it writes to outlives it.
  let torchDone: Promise<unknown> = Promise.resolve();
  try {
    const torchRun = startTorchSide({ bench, batch, seed, input, templates, tmp, python, script, env, onStderr: opts.onStderr, device: opts.device });
    torchDone = torchRun.catch(() => undefined);
    // Built while Python works; its own initial weights are overwritten by PyTorch's below.
    const backend = await initBackend(opts.backend ?? 'wasm', { device: opts.device });
    model = buildModel(bench.arch, bench.numClasses, { seed });
    const variant = await loadVariant(path.join(templates, TS_REGULARIZER));
    const torch = await torchRun;
    const tfjsStarted = Date.now();
    const report = emptyReport(bench, batch, seed, python, torch, backend);
    const stateCheck = compareState(model.namedVariables(), torch.initial);
    report.checks.push(stateCheck);
    if (stateCheck.pass) report.checks.push(...compareStep(model, report, input, variant, torch));
    report.pass = report.checks.every((c) => c.pass);
    report.seconds.tfjs = (Date.now() - tfjsStarted) / 1000;
    report.seconds.total = (Date.now() - started) / 1000;
    return report;
  } finally {
    model?.dispose();
    await torchDone;
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

interface TorchSideStart {
  bench: ReturnType<typeof getBenchmark>;
  batch: number;
  seed: number;
  input: ReturnType<typeof parityInput>;
  templates: string;
  tmp: string;
  python: string;
  script: string;
  env: NodeJS.ProcessEnv;
  onStderr?: (line: string) => void;
  device?: string;
}

/** Writes the input batch and starts the PyTorch side on it (the confidence penalty template). */
function startTorchSide(o: TorchSideStart): Promise<TorchSideResult> {
  const inputPath = path.join(o.tmp, 'input.bin');
  fs.writeFileSync(inputPath, new Uint8Array(o.input.nchw.buffer, o.input.nchw.byteOffset, o.input.nchw.byteLength));
  return runTorchSide(
    {
      arch: o.bench.arch,
      numClasses: o.bench.numClasses,
      seed: o.seed,
      batch: o.batch,
      inputPath,
      labels: Array.from(o.input.labels),
      variantPath: path.join(o.templates, PY_REGULARIZER),
      recipe: { lr: RECIPE.lr, momentum: RECIPE.momentum, weightDecay: RECIPE.weightDecay, bnMomentum: RECIPE.bnMomentum, bnEpsilon: RECIPE.bnEpsilon },
      outDir: o.tmp,
      ...(o.device ? { device: o.device } : {}),
    },
    { python: o.python, script: o.script, env: o.env, onStderr: o.onStderr },
  );
}

function emptyReport(
  bench: ReturnType<typeof getBenchmark>,
  batch: number,
  seed: number,
  python: string,
  torch: TorchSideResult,
  backend: { backend: string; threads?: number },
): ParityReport {
  return {
    bench: bench.id,
    arch: bench.arch,
    numClasses: bench.numClasses,
    batch,
    seed,
    torch: { python, version: torch.torchVersion, threads: torch.threads },
    tfjs: { backend: backend.backend, threads: backend.threads },
    tensors: torch.initial.length,
    dropoutLayersDisabled: 0,
    stepMagnitude: changeMagnitude(torch, true),
    statsMagnitude: changeMagnitude(torch, false),
    reluMargin: torch.reluMargin,
    poolTieGap: torch.poolTieGap,
    checks: [],
    pass: false,
    seconds: { torch: torch.seconds.process, tfjs: 0, total: 0 },
  };
}

/**
 * With PyTorch's initial state loaded: the eval-mode logits, then one SGD step of this engine's
 * trainStep against PyTorch's (loss, update, parameters, BN running statistics).
 */
function compareStep(model: Model, report: ParityReport, input: ReturnType<typeof parityInput>, variant: LoadedVariant, torch: TorchSideResult): ParityCheck[] {
  const { batch, numClasses } = report;
  const checks: ParityCheck[] = [];
  loadTorchState(model.namedVariables(), torch.initial);
  const x = torchToTfjs('activations', { data: input.nchw, shape: [batch, 3, IMAGE, IMAGE] });
  const logits = tf.tidy(() => model.forward(tf.tensor4d(x.data, [batch, IMAGE, IMAGE, 3]), false).dataSync() as Float32Array);
  checks.push(check('eval-logits', 'eval-mode logits', maxRelativeDiff(logits, torch.evalLogits.data), 'relative'));
  report.dropoutLayersDisabled = disableDropout(model);
  const params = model.trainableVariables();
  const momenta = params.map((p) => tf.variable(tf.zerosLike(p), false));
  const config: RegConfig = { numClasses, epoch: 0, totalEpochs: 1, step: 0, stepsPerEpoch: 1 };
  let step;
  let updates;
  try {
    step = trainStep({
      model,
      params,
      momenta,
      batch: { images: x.data, labels: input.labels, size: batch },
      lr: RECIPE.lr,
      momentum: RECIPE.momentum,
      weightDecay: RECIPE.weightDecay,
      numClasses,
      variant,
      config,
    });
    updates = stepUpdates(
      model.namedVariables().filter((v) => v.trainable),
      momenta,
      torch,
    );
  } finally {
    momenta.forEach((m) => m.dispose());
  }
  const after = afterStep(model.namedVariables(), torch.after);
  const stats = worstOf(
    after.filter((p) => !p.trainable),
    maxRelativeDiff,
  );
  checks.push(check('bn-running-stats', 'BN running stats after a train forward', stats.error, 'relative', stats.worst));
  const ceError = Math.abs(step.ce - torch.ce) / Math.max(Math.abs(torch.ce), Number.MIN_VALUE);
  const termError = Math.abs(step.term - torch.term) / Math.max(Math.abs(torch.term), Number.MIN_VALUE);
  checks.push(
    check(
      'step-loss',
      'step loss: cross-entropy, term',
      Math.max(ceError, termError),
      'relative',
      ceError >= termError ? 'cross-entropy' : 'term',
      `PyTorch: ce ${torch.ce.toPrecision(7)}, term ${torch.term.toPrecision(7)}; TensorFlow.js: ce ${step.ce.toPrecision(7)}, term ${step.term.toPrecision(7)}`,
    ),
  );
  const update = worstOf(updates, maxRelativeDiff);
  checks.push(
    check(
      'step-update',
      'step update (grad + decay) per tensor',
      update.error,
      'relative',
      update.worst,
      `nearest ReLU/ReLU6 input to a kink: ${torch.reluMargin.margin.toExponential(2)} away (${torch.reluMargin.at})`,
    ),
  );
  const moved = worstOf(
    after.filter((p) => p.trainable),
    maxAbsDiff,
  );
  checks.push(
    check(
      'step-params',
      'parameters after one SGD step',
      moved.error,
      'absolute',
      moved.worst,
      `largest parameter change of the step ${report.stepMagnitude.toExponential(2)}`,
    ),
  );
  return checks;
}

function check(id: ParityCheckId, title: string, error: number, unit: ParityCheck['unit'], worst?: string, note?: string): ParityCheck {
  const tolerance = PARITY_TOLERANCES[id];
  // `error <= tolerance` is false for NaN, which must fail.
  return { id, title, error, tolerance, unit, worst, pass: error <= tolerance, note };
}

/**
 * The parity batch: standard normal images in PyTorch layout (NCHW) and uniform labels, from the
 * engine's seeded generator, so every run with the same seed compares the same numbers.
 */
export function parityInput(batch: number, numClasses: number, seed: number): { nchw: Float32Array; labels: Int32Array } {
  const rng = new SeededRandom(seed + 0x9a41);
  const nchw = new Float32Array(batch * 3 * IMAGE * IMAGE);
  for (let i = 0; i < nchw.length; i++) nchw[i] = rng.normal();
  const labels = new Int32Array(batch);
  for (let i = 0; i < batch; i++) labels[i] = Math.floor(rng.uniform() * numClasses);
  return { nchw, labels };
}

/** Names, shapes (after the layout mapping) and roles, both ways; the mismatches in the note. */
function compareState(variables: NamedVariable[], torch: TorchStateEntry[]): ParityCheck {
  const problems: Array<{ name: string; text: string }> = [];
  const tfjsByName = new Map(variables.map((v) => [v.name, v]));
  const torchNames = new Set(torch.map((e) => e.name));
  for (const e of torch) {
    const v = tfjsByName.get(e.name);
    if (!v) {
      problems.push({ name: e.name, text: `only in PyTorch: ${e.name} [${e.shape.join(', ')}]` });
      continue;
    }
    const expected = tfjsShapeOf(e.kind, e.shape);
    if (expected.join(',') !== v.variable.shape.join(',')) {
      problems.push({
        name: e.name,
        text: `${e.name}: PyTorch [${e.shape.join(', ')}] (${e.kind}) is [${expected.join(', ')}] in TensorFlow.js layout, the model has [${v.variable.shape.join(', ')}]`,
      });
    }
    if (e.trainable !== v.trainable) {
      problems.push({
        name: e.name,
        text: `${e.name}: a ${e.trainable ? 'parameter' : 'buffer'} in PyTorch, a ${v.trainable ? 'parameter' : 'buffer'} in TensorFlow.js`,
      });
    }
  }
  for (const v of variables)
    if (!torchNames.has(v.name)) problems.push({ name: v.name, text: `only in TensorFlow.js: ${v.name} [${v.variable.shape.join(', ')}]` });
  if (!problems.length) return check('state', 'state_dict names, shapes, roles', 0, 'count', undefined, `${torch.length} tensors`);
  const shown =
    problems
      .slice(0, 10)
      .map((p) => p.text)
      .join('; ') + (problems.length > 10 ? `; and ${problems.length - 10} more` : '');
  return check('state', 'state_dict names, shapes, roles', problems.length, 'count', problems[0].name, shown);
}

function loadTorchState(variables: NamedVariable[], torch: TorchStateEntry[]): void {
  const byName = new Map(torch.map((e) => [e.name, e]));
  for (const v of variables) {
    const e = byName.get(v.name);
    if (!e) throw new Error(`no PyTorch value for ${v.name}`);
    const t = torchToTfjs(e.kind, e);
    tf.tidy(() => v.variable.assign(tf.tensor(t.data, t.shape, 'float32')));
  }
}

/** Each TensorFlow.js variable in PyTorch layout beside PyTorch's value after the step. */
function afterStep(variables: NamedVariable[], torch: TorchStateEntry[]): Array<{ name: string; trainable: boolean; a: Float32Array; b: Float32Array }> {
  const byName = new Map(torch.map((e) => [e.name, e]));
  return variables.map((v) => {
    const e = byName.get(v.name);
    if (!e) throw new Error(`no PyTorch value for ${v.name} after the step`);
    const mine = tfjsToTorch(e.kind, { data: v.variable.dataSync() as Float32Array, shape: v.variable.shape });
    return { name: v.name, trainable: v.trainable, a: mine.data, b: e.data };
  });
}

/**
 * Each tensor's update direction d = gradient + weightDecay * w, on both sides: TensorFlow.js's is
 * trainStep's momentum buffer after the first step (torch.optim.SGD's buffer is the same d);
 * PyTorch's is its .grad plus the decay, in float64. The buffer, not a gradient recovered from it:
 * where the gradient is far below weightDecay * w (a norm bias deep in the net: 1e-7 against
 * 4e-3), subtracting the decay again would only measure float32 rounding of the buffer.
 */
function stepUpdates(trainable: NamedVariable[], momenta: tf.Variable[], torch: TorchSideResult): Array<{ name: string; a: Float32Array; b: Float64Array }> {
  const initial = new Map(torch.initial.map((e) => [e.name, e]));
  const grads = new Map(torch.grads.map((e) => [e.name, e]));
  return trainable.map((v, i) => {
    const w0 = initial.get(v.name);
    const g = grads.get(v.name);
    if (!w0 || !g) throw new Error(`no PyTorch weight or gradient for ${v.name}`);
    const buffer = tfjsToTorch(g.kind, { data: momenta[i].dataSync() as Float32Array, shape: momenta[i].shape });
    const reference = new Float64Array(g.data.length);
    for (let j = 0; j < reference.length; j++) reference[j] = g.data[j] + RECIPE.weightDecay * w0.data[j];
    return { name: v.name, a: buffer.data, b: reference };
  });
}

/** max |after - initial| over PyTorch's parameters (trainable) or buffers. */
function changeMagnitude(torch: TorchSideResult, trainable: boolean): number {
  const initial = new Map(torch.initial.map((e) => [e.name, e]));
  let worst = 0;
  for (const e of torch.after) {
    const before = initial.get(e.name);
    if (e.trainable === trainable && before) worst = Math.max(worst, maxAbsDiff(e.data, before.data));
  }
  return worst;
}

/** templates/ of the repository or the installed extension: beside dist/, or the working folder. */
function findTemplates(explicit?: string): string {
  const candidates = explicit
    ? [explicit]
    : [path.join(__dirname, '..', 'templates'), path.join(__dirname, '..', '..', 'templates'), path.join(process.cwd(), 'templates')];
  const found = candidates.find((d) => fs.existsSync(path.join(d, TS_REGULARIZER)) && fs.existsSync(path.join(d, PY_REGULARIZER)));
  if (!found)
    throw new Error(`the parity step uses the confidence penalty templates (${TS_REGULARIZER}, ${PY_REGULARIZER}); none found in ${candidates.join(', ')}`);
  return found;
}
