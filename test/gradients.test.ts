/**
 * Whole-model gradient check of the wasm training backend: for each of the five architectures,
 * every trainable parameter's gradient of the cross-entropy loss (training mode, small batch) on
 * `wasm` (with the project's training kernels, src/engine/tfjs/kernels/) must match the plain
 * JavaScript `cpu` backend, which runs tfjs-core's own kernels and the tf-op BatchNorm.
 *
 * Measure per parameter tensor: ||g_wasm - g_cpu||_2 / ||g_cpu||_2 <= 1e-3. The max elementwise
 * error (max |g_wasm - g_cpu| / max |g_cpu|) is reported too, not asserted: it is the measure a
 * single flipped ReLU would dominate.
 *
 * Kinks. The backends' forwards differ by float32 rounding, amplified with depth: the ReLU inputs
 * differ by up to ~6e-5 (ResNet-20) to ~2e-3 (MobileNetV2) at the deepest layers (reported per
 * architecture). An input that close to 0 (or to 6 for ReLU6) may lie on different
 * sides on the two backends, as may the winner of a near-tied max-pool window; the gradient then
 * differs locally however right the kernels are (docs/parity.md). With 20 000 to 750 000 ReLU inputs
 * per model a fixed margin such as "none within 1e-5" is not attainable (MobileNetV2 had 6-7
 * within 1e-5 for each seed tried), so the test checks the exact condition instead: the inputs of every
 * Relu, Relu6 and MaxPool kernel are recorded on both backends, and every ReLU input must lie
 * farther from its kink than the two backends differ at that element (so every mask agrees), and
 * every max-pool window's lead must exceed twice the window's largest difference (so every winner
 * agrees). The seeds below are the ones, of 20-140 tried per architecture, with the largest such
 * safety factor (reported); when a model or kernel change moves the activations, the failure
 * names the kink and another seed is the fix, not a larger tolerance.
 *
 * Zero gradients. Some parameters get no gradient at all in exact arithmetic, because a
 * training-mode BatchNorm downstream removes any per-channel constant: VGG's convolution biases
 * (each conv feeds a norm) and MobileNetV2's projection-norm biases (their output, the linear
 * bottleneck stream, reaches the loss only through 1x1 convolutions each followed by a norm, whose
 * input gradient sums to zero over the positions). Their float32 values are rounding on both
 * backends, so a ratio of the two means nothing; instead both backends must keep them below
 * ZERO_GRADIENT_RATIO of a comparable gradient, and a BatchNorm backward that failed to remove the
 * mean would not.
 *
 * ReLU6's cap. With BatchNorm at its initial weight 1 the ReLU6 inputs are about standard normal and
 * almost never exceed 6, so a gradient that ignored the cap would pass unnoticed. The weight of
 * the norm before MobileNetV2's last ReLU6 (`features.18.1`) is therefore set to 3 on both
 * backends (~2 % of its inputs are then clipped; the count is reported and must be > 0).
 *
 * Sizes. The cpu backend's convolution gradients are slow, so every architecture gets the
 * smallest input that keeps its batch statistics meaningful, batch 2: the ResNets pool globally
 * and run at 8x8 (their last stage at 2x2, 8 values per channel); MobileNetV2 runs at 16x16,
 * because at 8x8 its last six norms see 1x1 maps, 2 values per channel, where BatchNorm's input
 * gradient is a float32 cancellation (scale (1 - xhat^2) ~ eps / variance); VGG-16 needs 32x32
 * (five 2x2 pools down to the 512-wide classifier). The cpu side takes ~1-3 s per architecture
 * except VGG (~30 s at batch 2, ~16 s at batch 1).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
// A named import: the bundler drops a bare import of this package (sideEffects), and with it the
// registration of the cpu backend.
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import type { ArchId } from '../src/protocol/benchmarks';
import { initBackend } from '../src/engine/tfjs/backend';
import { wasmTrainingPaths } from '../src/engine/tfjs/native/index';
import { WASM_TRAINING_KERNELS } from '../src/engine/tfjs/kernels/register';
import { MASKED_GRAD } from '../src/engine/tfjs/kernels/activation-grad';
import {
  CHANNEL_AFFINE,
  CHANNEL_AFFINE2,
  CHANNEL_AFFINE2_RELU,
  CHANNEL_AFFINE_RELU,
  CHANNEL_GRAD_SUMS,
  CHANNEL_GRAD_SUMS_RELU,
  CHANNEL_MOMENTS,
} from '../src/engine/tfjs/kernels/channel-stats';
import { ADD_RELU } from '../src/engine/tfjs/kernels/add-relu';
import { buildModel } from '../src/engine/tfjs/models/index';
import { SeededRandom } from '../src/engine/tfjs/models/init';
import { disableDropout } from '../src/engine/parity/dropout';
import { maxRelativeDiff } from '../src/engine/parity/compare';

/** Per tensor ||g_wasm - g_cpu|| / ||g_cpu||, unless a case sets its own. */
const GRADIENT_TOLERANCE = 1e-3;
/** Cross-entropy of both backends, relative. */
const LOSS_TOLERANCE = 1e-5;
/**
 * Smallest allowed distance of a ReLU input to its kink (or of a max-pool lead) in units of the
 * backends' difference there: below 1 the decision may differ between the backends.
 */
const KINK_SAFETY = 1;
/** ||g|| of a zero-gradient parameter against its reference gradient (see the header). */
const ZERO_GRADIENT_RATIO = 1e-3;
/** Weight given to the norm before a ReLU6 so that the cap is reached (see the header). */
const RELU6_CAP_NORM_WEIGHT = 3;

interface ArchCase {
  arch: ArchId;
  classes: number;
  /** Square input side. */
  size: number;
  batch: number;
  /** Model weights and input; chosen so that no activation sits near a kink (see the header). */
  seed: number;
  /** Dropout layers disableDropout must find. */
  dropouts: number;
  /** Kernels of the project's that the wasm side must run, so that the check covers them. */
  projectKernels: string[];
  /** Replaces GRADIENT_TOLERANCE, where the float32 noise floor of the model is measured higher. */
  tolerance?: number;
  /** A norm feeding a ReLU6, whose weight becomes RELU6_CAP_NORM_WEIGHT. */
  relu6CapNorm?: string;
}

const DENSE_TRAINING_KERNELS = [
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  MASKED_GRAD,
  CHANNEL_MOMENTS,
  CHANNEL_AFFINE,
  CHANNEL_GRAD_SUMS,
  CHANNEL_AFFINE2,
];

const CASES: ArchCase[] = [
  { arch: 'resnet20', classes: 10, size: 8, batch: 2, seed: 12, dropouts: 0, projectKernels: DENSE_TRAINING_KERNELS },
  { arch: 'resnet56', classes: 100, size: 8, batch: 2, seed: 14, dropouts: 0, projectKernels: DENSE_TRAINING_KERNELS },
  { arch: 'resnet110', classes: 100, size: 8, batch: 2, seed: 18, dropouts: 0, projectKernels: DENSE_TRAINING_KERNELS },
  { arch: 'vgg16bn', classes: 100, size: 32, batch: 2, seed: 4, dropouts: 2, projectKernels: DENSE_TRAINING_KERNELS },
  {
    arch: 'mobilenetv2',
    classes: 10,
    size: 16,
    batch: 2,
    seed: 39,
    dropouts: 1,
    relu6CapNorm: 'features.18.1',
    // The cpu backend against itself, with the input moved by one rounding (1.2e-7 relative),
    // already differs by up to 2.0e-4 per tensor here (ResNet-110: 9.7e-5). wasm against cpu
    // gives 6.2e-4, worst on the stem norm's weight gradient (features.0.1.weight, a sum over 512
    // positions with cancellation, behind 52 norms), and 4.2e-4..8.5e-4 for other flip-free seeds.
    // The kernel errors tried on this test showed 1e-2 and above, so twice the default loses nothing.
    tolerance: 2e-3,
    projectKernels: [...DENSE_TRAINING_KERNELS, 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'],
  },
];

/** The kernels whose inputs decide the gradient's routing (masks, pool winners). */
const DECISION_KERNELS = ['Relu', 'Relu6', 'MaxPool'] as const;
// ReLUs fused into native kernels, and how each one's ReLU input follows from its inputs:
// BatchNorm2d + ReLU (x * a + b per channel), a residual sum + ReLU (a + b).
const FUSED_DECISIONS: Record<string, (inputs: Float32Array[]) => Float32Array> = {
  [CHANNEL_AFFINE_RELU]: ([x, a, b]) => x.map((v, i) => Math.fround(Math.fround(v * a[i % a.length]) + b[i % a.length])),
  [ADD_RELU]: ([a, b]) => a.map((v, i) => Math.fround(v + b[i])),
};
type DecisionKernel = (typeof DECISION_KERNELS)[number];

interface DecisionInput {
  kernel: DecisionKernel;
  shape: number[];
  attrs: NamedAttrMap;
  values: Float32Array;
}

interface BackendRun {
  names: string[];
  shapes: number[][];
  /** Every named variable (parameters and buffers) as built, before the step. */
  state: Map<string, Float32Array>;
  grads: Float32Array[];
  loss: number;
  decisions: DecisionInput[];
  kernelCalls: Map<string, number>;
  seconds: number;
}

/**
 * Replaces `names` on `backendName` by wrappers that call `observe` and then the original kernel;
 * returns the function that puts the originals back. Kernels are looked up on every run, so the
 * wrapper sees every call while it is registered.
 */
function wrapKernels(
  backendName: string,
  names: readonly string[],
  observe: (name: string, inputs: TensorInfo[], attrs: NamedAttrMap, backend: KernelBackend) => void,
): () => void {
  const originals: KernelConfig[] = [];
  for (const name of names) {
    const original = tf.getKernel(name, backendName);
    if (!original) continue;
    originals.push(original);
    const kernelFunc: KernelFunc = (args) => {
      // tfjs types a kernel's backend as {}; it is the engine's KernelBackend instance.
      observe(name, Object.values(args.inputs) as TensorInfo[], args.attrs ?? {}, args.backend as KernelBackend);
      return original.kernelFunc(args);
    };
    tf.unregisterKernel(name, backendName);
    tf.registerKernel({ ...original, kernelFunc });
  }
  return () => {
    for (const original of originals) {
      tf.unregisterKernel(original.kernelName, backendName);
      tf.registerKernel(original);
    }
  };
}

/**
 * The project kernels a training step must run on a path. On the native path a ReLU after the
 * built-in BatchNorm2d or after a residual sum is fused into its kernels: VGG (every norm feeds a
 * ReLU) then runs only the fused norm kernels and no separate ReLU mask, the ResNets run both
 * kinds, MobileNetV2 (ReLU6 only) none of the fused ones.
 */
function projectKernelsOn(path: string, c: ArchCase): string[] {
  if (path !== 'wasm+native' || c.arch === 'mobilenetv2') return c.projectKernels;
  const fusedNorm = [CHANNEL_AFFINE_RELU, CHANNEL_GRAD_SUMS_RELU, CHANNEL_AFFINE2_RELU];
  if (c.arch === 'vgg16bn')
    return [...c.projectKernels.filter((k) => ![CHANNEL_AFFINE, CHANNEL_GRAD_SUMS, CHANNEL_AFFINE2, MASKED_GRAD].includes(k)), ...fusedNorm];
  return [...c.projectKernels, ...fusedNorm, ADD_RELU];
}

/** A private float32 copy: the cpu backend hands out its own storage. */
function copyOf(values: unknown): Float32Array {
  assert.ok(values instanceof Float32Array, 'float32 data expected');
  return new Float32Array(values);
}

/** NHWC standard normal images and uniform labels from the case's seed. */
function inputFor(c: ArchCase): { images: Float32Array; labels: Int32Array } {
  const rng = new SeededRandom(c.seed + 7919);
  const images = new Float32Array(c.batch * c.size * c.size * 3);
  for (let i = 0; i < images.length; i++) images[i] = rng.normal();
  const labels = Int32Array.from({ length: c.batch }, () => Math.floor(rng.uniform() * c.classes));
  return { images, labels };
}

async function gradientsOn(path: 'wasm' | 'wasm+native' | 'cpu', c: ArchCase): Promise<BackendRun> {
  if (path !== 'cpu') assert.equal((await initBackend(path)).backend, path);
  else assert.equal((await initBackend('cpu')).versions['tfjs-backend-cpu'], version_cpu);
  // Both wasm paths run on the tfjs backend 'wasm' (wasm+native replaces some of its kernels).
  const backendName = path === 'cpu' ? 'cpu' : 'wasm';
  assert.equal(tf.getBackend(), backendName);
  const tensorsBefore = tf.memory().numTensors;
  const dataIdsBefore = tf.engine().backend.numDataIds();
  const started = Date.now();

  const model = buildModel(c.arch, c.classes, { seed: c.seed });
  const decisions: DecisionInput[] = [];
  const kernelCalls = new Map<string, number>();
  let run: BackendRun;
  try {
    assert.equal(disableDropout(model), c.dropouts, 'Dropout layers replaced by Dropout(0)');
    const named = model.namedVariables();
    if (c.relu6CapNorm) {
      const weight = named.find((v) => v.name === `${c.relu6CapNorm}.weight`);
      assert.ok(weight, `${c.arch} has no ${c.relu6CapNorm}.weight`);
      tf.tidy(() => weight.variable.assign(tf.fill(weight.variable.shape, RELU6_CAP_NORM_WEIGHT)));
    }
    const state = new Map(named.map((v) => [v.name, copyOf(v.variable.dataSync())]));
    const params = named.filter((v) => v.trainable);
    const { images, labels } = inputFor(c);

    const restoreDecisions = wrapKernels(backendName, DECISION_KERNELS, (name, inputs, attrs, backend) => {
      const x = inputs[0];
      decisions.push({ kernel: name as DecisionKernel, shape: x.shape, attrs: { ...attrs }, values: copyOf(backend.readSync(x.dataId)) });
    });
    const restoreFused = wrapKernels(backendName, Object.keys(FUSED_DECISIONS), (name, inputs, _attrs, backend) => {
      decisions.push({
        kernel: 'Relu',
        shape: inputs[0].shape,
        attrs: {},
        values: FUSED_DECISIONS[name](inputs.map((t) => copyOf(backend.readSync(t.dataId)))),
      });
    });
    const restoreCounts = wrapKernels(backendName, backendName === 'wasm' ? projectKernelsOn(path, c) : [], (name) =>
      kernelCalls.set(name, (kernelCalls.get(name) ?? 0) + 1),
    );
    let loss = NaN;
    let grads: Float32Array[] = [];
    try {
      tf.tidy(() => {
        const x = tf.tensor4d(images, [c.batch, c.size, c.size, 3]);
        const yOneHot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), c.classes), 'float32');
        const { value, grads: byName } = tf.variableGrads(
          () => tf.losses.softmaxCrossEntropy(yOneHot, model.forward(x, true)) as tf.Scalar,
          params.map((p) => p.variable),
        );
        loss = value.dataSync()[0];
        grads = params.map((p) => {
          const g = byName[p.variable.name];
          assert.ok(g, `${c.arch} on ${backendName}: no gradient for ${p.name}`);
          return copyOf(g.dataSync());
        });
      });
    } finally {
      restoreCounts();
      restoreFused();
      restoreDecisions();
    }
    run = {
      names: params.map((p) => p.name),
      shapes: params.map((p) => p.variable.shape),
      state,
      grads,
      loss,
      decisions,
      kernelCalls,
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    model.dispose();
  }
  assert.equal(tf.memory().numTensors, tensorsBefore, `${c.arch} on ${backendName}: tensors leaked`);
  assert.equal(tf.engine().backend.numDataIds(), dataIdsBefore, `${c.arch} on ${backendName}: backend buffers leaked`);
  return run;
}

interface KinkReport {
  /** Elements (ReLU) or windows (max pool) whose decision differs between the backends. */
  flips: number;
  /** min over ReLU inputs of |x_cpu - kink| / |x_cpu - x_wasm|. */
  reluSafety: number;
  /** min over max-pool windows with a positive winner of (winner - runner-up) / (2 max |x_cpu - x_wasm|), cpu side. */
  poolSafety: number;
  /** Where the smallest safety factor is, for the failure message. */
  where: string;
  /** Smallest |x_cpu - kink| over the ReLU inputs. */
  nearestKink: number;
  /** Largest |x_wasm - x_cpu| over the ReLU inputs. */
  largestInputDiff: number;
  /** ReLU6 inputs above 6 on the cpu side (the cap's gradient path in use). */
  capped: number;
}

/** Which side of ReLU's / ReLU6's kinks x is on, with the masks' convention (0 < x <= 6 passes). */
function side(kernel: DecisionKernel, x: number): number {
  if (kernel === 'Relu') return x > 0 ? 1 : 0;
  return x <= 0 ? 0 : x <= 6 ? 1 : 2;
}

/** For each 2x2 stride-2 window (NHWC): the flat indices of its elements, in window order. */
function* poolWindows(shape: number[]): Generator<[number, number, number, number]> {
  const [b, h, w, ch] = shape;
  for (let n = 0; n < b; n++) {
    for (let i = 0; i + 1 < h; i += 2) {
      for (let j = 0; j + 1 < w; j += 2) {
        for (let k = 0; k < ch; k++) {
          const at = (di: number, dj: number): number => ((n * h + i + di) * w + j + dj) * ch + k;
          yield [at(0, 0), at(0, 1), at(1, 0), at(1, 1)];
        }
      }
    }
  }
}

/** The first largest element of a window, and its lead over the runner-up. */
function poolWinner(values: Float32Array, window: number[]): { winner: number; lead: number } {
  let winner = window[0];
  let second = -Infinity;
  for (const at of window.slice(1)) {
    if (values[at] > values[winner]) {
      second = values[winner];
      winner = at;
    } else if (values[at] > second) second = values[at];
  }
  return { winner, lead: values[winner] - second };
}

function compareDecisions(cpu: DecisionInput[], wasm: DecisionInput[]): KinkReport {
  assert.equal(wasm.length, cpu.length, 'both backends run the same Relu/Relu6/MaxPool kernels');
  const report: KinkReport = { flips: 0, reluSafety: Infinity, poolSafety: Infinity, where: '', nearestKink: Infinity, largestInputDiff: 0, capped: 0 };
  cpu.forEach((c, call) => {
    const w = wasm[call];
    assert.equal(w.kernel, c.kernel);
    assert.deepEqual(w.shape, c.shape);
    if (c.kernel === 'MaxPool') {
      // The models pool only with MaxPool2d(2, 2); the windows below assume it.
      assert.deepEqual([c.attrs.filterSize, c.attrs.strides, c.attrs.pad], [2, 2, 'valid']);
      for (const window of poolWindows(c.shape)) {
        const pc = poolWinner(c.values, window);
        // A window of zeros holds ReLU outputs that were off: no gradient passes whichever wins.
        if (!(c.values[pc.winner] > 0)) continue;
        if (poolWinner(w.values, window).winner !== pc.winner) report.flips++;
        const diff = Math.max(...window.map((at) => Math.abs(c.values[at] - w.values[at])));
        const safety = pc.lead / (2 * diff);
        if (safety < report.poolSafety) {
          report.poolSafety = safety;
          if (safety < report.reluSafety) report.where = `MaxPool call ${call} window at ${window[0]} (lead ${pc.lead}, difference ${diff})`;
        }
      }
      return;
    }
    const kinks = c.kernel === 'Relu' ? [0] : [0, 6];
    for (let i = 0; i < c.values.length; i++) {
      const [x, y] = [c.values[i], w.values[i]];
      if (side(c.kernel, x) !== side(c.kernel, y)) report.flips++;
      if (c.kernel === 'Relu6' && x > 6) report.capped++;
      const diff = Math.abs(x - y);
      report.largestInputDiff = Math.max(report.largestInputDiff, diff);
      for (const k of kinks) {
        report.nearestKink = Math.min(report.nearestKink, Math.abs(x - k));
        const safety = Math.abs(x - k) / diff;
        if (safety < report.reluSafety) {
          report.reluSafety = safety;
          if (safety < report.poolSafety) report.where = `${c.kernel} call ${call} element ${i} (cpu ${x}, wasm ${y})`;
        }
      }
    }
  });
  return report;
}

function norm(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i] * values[i];
  return Math.sqrt(s);
}

function normOfDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/**
 * The parameters whose exact gradient is zero (see the header), each with the gradient that sets
 * its scale: for a VGG conv bias, the bias gradient of the norm it feeds (what the conv bias would
 * get if that norm did not subtract the mean); for a MobileNetV2 projection-norm bias, the same
 * norm's weight gradient (sum dy * xhat beside sum dy). Undefined for every other parameter.
 */
function zeroGradientReference(arch: ArchId, name: string, names: string[], shapes: number[][]): string | undefined {
  if (arch === 'vgg16bn') {
    const m = /^features\.(\d+)\.bias$/.exec(name);
    const weight = m ? names.indexOf(`features.${m[1]}.weight`) : -1;
    return m && weight >= 0 && shapes[weight].length === 4 ? `features.${Number(m[1]) + 1}.bias` : undefined;
  }
  if (arch === 'mobilenetv2') {
    // Only the projection norm sits directly in a block's `conv` list; the others are `conv.<i>.1`.
    const m = /^(features\.\d+\.conv\.\d+)\.bias$/.exec(name);
    return m ? `${m[1]}.weight` : undefined;
  }
  return undefined;
}

function format(x: number): string {
  return x.toExponential(2);
}

// The cpu side of each case, computed once for both wasm paths.
const cpuRuns = new Map<string, BackendRun>();

for (const path of wasmTrainingPaths())
  describe(`whole-model gradients: ${path} training kernels against the cpu backend`, () => {
    before(async () => {
      // Both backends once up front: the threaded wasm start-up is not part of any architecture.
      assert.ok(version_cpu);
      assert.equal((await initBackend('wasm')).backend, 'wasm');
      for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), `${name} not registered for wasm`);
      await initBackend('cpu');
    });

    for (const c of CASES) {
      test(`${c.arch}: every parameter gradient, ${c.batch}x${c.size}x${c.size}x3, seed ${c.seed}`, async (t) => {
        const cpu = cpuRuns.get(c.arch) ?? (await gradientsOn('cpu', c));
        cpuRuns.set(c.arch, cpu);
        const wasm = await gradientsOn(path, c);

        // Same network, same numbers: the seeded initialization is backend-independent.
        assert.deepEqual([...wasm.state.keys()], [...cpu.state.keys()]);
        for (const [name, values] of cpu.state) assert.deepEqual(wasm.state.get(name), values, `initial ${name} differs between backends`);
        assert.deepEqual(wasm.names, cpu.names);

        for (const name of projectKernelsOn(path, c)) assert.ok((wasm.kernelCalls.get(name) ?? 0) > 0, `${name} never ran on ${path} for ${c.arch}`);

        // A wrong forward kernel shows here first, before it could pass for a kink flip below.
        const lossError = Math.abs(wasm.loss - cpu.loss) / Math.abs(cpu.loss);
        assert.ok(lossError <= LOSS_TOLERANCE, `${c.arch}: loss ${wasm.loss} on wasm, ${cpu.loss} on cpu`);
        const kinks = compareDecisions(cpu.decisions, wasm.decisions);
        t.diagnostic(
          `${c.arch}: ${cpu.decisions.length} Relu/Relu6/MaxPool calls; ReLU inputs: nearest kink ${format(kinks.nearestKink)}, largest backend difference ` +
            `${format(kinks.largestInputDiff)}, safety ${kinks.reluSafety.toFixed(2)}${kinks.capped ? `, ${kinks.capped} above ReLU6's cap` : ''}; max-pool safety ${Number.isFinite(kinks.poolSafety) ? kinks.poolSafety.toFixed(2) : '- (no max pool)'}; least safe: ${kinks.where}`,
        );
        const kinkAdvice = `a kink, not a kernel error, as long as the largest backend difference (${format(kinks.largestInputDiff)}) stays near float32 rounding: choose another seed (see the header)`;
        assert.equal(kinks.flips, 0, `${c.arch}: ${kinks.flips} ReLU masks / max-pool winners differ between the backends; ${kinkAdvice}`);
        if (c.relu6CapNorm) assert.ok(kinks.capped > 0, `${c.arch}: no ReLU6 input above 6, so the cap's gradient is not checked`);
        assert.ok(
          Math.min(kinks.reluSafety, kinks.poolSafety) >= KINK_SAFETY,
          `${c.arch}: safety ${format(Math.min(kinks.reluSafety, kinks.poolSafety))} < ${KINK_SAFETY} at ${kinks.where}; ${kinkAdvice}`,
        );

        let worst = { name: '', ratio: -1 };
        let worstElementwise = { name: '', error: -1 };
        let worstZero = { name: '', ratio: -1 };
        let zeroCount = 0;
        const tolerance = c.tolerance ?? GRADIENT_TOLERANCE;
        const failures: string[] = [];
        cpu.names.forEach((name, i) => {
          const [gc, gw] = [cpu.grads[i], wasm.grads[i]];
          assert.equal(gw.length, gc.length);
          const referenceName = zeroGradientReference(c.arch, name, cpu.names, cpu.shapes);
          if (referenceName) {
            const reference = cpu.names.indexOf(referenceName);
            assert.ok(reference >= 0, `${c.arch}: no parameter ${referenceName}`);
            const scale = Math.min(norm(cpu.grads[reference]), norm(wasm.grads[reference]));
            assert.ok(scale > 0, `${c.arch}: ${referenceName} has a zero gradient`);
            const ratio = Math.max(norm(gc), norm(gw)) / scale;
            zeroCount++;
            if (!(ratio <= worstZero.ratio)) worstZero = { name, ratio };
            if (!(ratio <= ZERO_GRADIENT_RATIO))
              failures.push(`${name} (exactly zero in exact arithmetic): ||g|| = ${format(ratio)} x ||g(${referenceName})||`);
            return;
          }
          const scale = norm(gc);
          assert.ok(scale > 0, `${c.arch}: ${name} has a zero gradient on cpu`);
          const ratio = normOfDifference(gw, gc) / scale;
          const elementwise = maxRelativeDiff(gw, gc);
          if (!(ratio <= worst.ratio)) worst = { name, ratio };
          if (!(elementwise <= worstElementwise.error)) worstElementwise = { name, error: elementwise };
          if (!(ratio <= tolerance)) failures.push(`${name}: ||g_wasm - g_cpu|| / ||g_cpu|| = ${format(ratio)}`);
        });
        t.diagnostic(
          `${c.arch}: ${cpu.names.length} parameter tensors, loss ${cpu.loss.toFixed(6)} (relative difference ${format(lossError)}), ` +
            `${cpu.names.length - zeroCount} compared, worst norm error ${format(worst.ratio)} (${worst.name}; tolerance ${tolerance}), worst max-elementwise error ${format(worstElementwise.error)} (${worstElementwise.name})` +
            (zeroCount ? `; ${zeroCount} zero-gradient tensors, at most ${format(worstZero.ratio)} x their reference (${worstZero.name})` : '') +
            `; cpu ${cpu.seconds.toFixed(1)} s, wasm ${wasm.seconds.toFixed(1)} s`,
        );
        assert.deepEqual(failures, [], `${c.arch}: gradients differ between wasm and cpu`);
      });
    }
  });
