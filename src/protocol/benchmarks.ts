/**
 * The benchmark protocol in one place: the five benchmarks, the training recipe and the budgets.
 * Both engines (TensorFlow.js and PyTorch) and every view read these values; nothing else may
 * restate them. The values live in protocol.json, which the PyTorch worker reads too; this file
 * gives them their TypeScript types. The worker also receives the resolved values inside the run spec.
 */
import protocolJson from './protocol.json';

export type BenchId = 'resnet56-cifar100' | 'vgg16bn-cifar100' | 'mobilenetv2-fmnist' | 'resnet110-cifar100' | 'resnet20-cifar10';

export type ArchId = 'resnet20' | 'resnet56' | 'resnet110' | 'vgg16bn' | 'mobilenetv2';
export type DatasetId = 'cifar10' | 'cifar100' | 'fashion-mnist';
export type BudgetId = 'smoke' | 'quick' | 'full';

export interface Benchmark {
  id: BenchId;
  /** Human title as the commands show it, e.g. "ResNet-56/CIFAR-100". */
  title: string;
  /** Short form for code lenses, e.g. "ResNet-56/C100". */
  short: string;
  arch: ArchId;
  dataset: DatasetId;
  numClasses: number;
  /** Exact trainable + running-statistics-free parameter count of the PyTorch reference. */
  paramCount: number;
}

/**
 * The values of the protocol as protocol.json states them, typed. protocol.json is the one source:
 * the PyTorch worker reads the same file (src/engine/pytorch/protocol.py).
 */
interface ProtocolFile {
  protocolVersion: number;
  benchmarks: (Benchmark & { normCount: number })[];
  datasets: Record<DatasetId, DatasetStats>;
  image: { size: number; channels: number; cropPadding: number };
  recipe: Recipe;
  budgets: Record<BudgetId, { default: BudgetSize; perBench?: Partial<Record<BenchId, BudgetSize>> }>;
  subsetSeed: number;
  pytorchProgressEverySteps: number;
  exitCodes: { worker: { completed: number; notCompleted: number }; cli: { ok: number; failed: number; usage: number } };
}

// The JSON import is typed with plain strings; the literal unions above are this file's view of it
// (checked against the file by test/protocol-shared.test.ts), hence the cast through unknown.
export const PROTOCOL = protocolJson as unknown as Readonly<ProtocolFile>;

export interface DatasetStats {
  mean: [number, number, number];
  std: [number, number, number];
  trainSize: number;
  testSize: number;
}

function byBench<T>(pick: (b: ProtocolFile['benchmarks'][number]) => T): Record<BenchId, T> {
  return Object.fromEntries(PROTOCOL.benchmarks.map((b) => [b.id, pick(b)])) as Record<BenchId, T>;
}

/**
 * Parameter counts (trainable parameters only) of the PyTorch reference models
 * (chenyaofo/pytorch-cifar-models definitions; measured with torch 1.13, see docs/architectures.md).
 */
export const PARAM_COUNTS: Record<BenchId, number> = byBench((b) => b.paramCount);

/** Number of BatchNorm2d slots (each one is replaced by a CustomNorm). */
export const NORM_COUNTS: Record<BenchId, number> = byBench((b) => b.normCount);

export const BENCHMARKS: readonly Benchmark[] = PROTOCOL.benchmarks.map(({ normCount: _n, ...b }) => b);

export function isBenchId(s: string): s is BenchId {
  return BENCHMARKS.some((b) => b.id === s);
}

export function getBenchmark(id: BenchId): Benchmark {
  const b = BENCHMARKS.find((x) => x.id === id);
  if (!b) throw new Error(`unknown benchmark '${id}'`);
  return b;
}

/**
 * Per-channel normalization constants (RGB order), applied after augmentation. FashionMNIST is
 * padded 28 -> 32 with zeros and its gray channel repeated 3 times.
 */
export const DATASET_STATS: Record<DatasetId, DatasetStats> = PROTOCOL.datasets;

/** The training recipe, identical for every benchmark and variant. */
export interface Recipe {
  optimizer: 'sgd';
  lr: number;
  momentum: number;
  /** Coupled L2 (added to the gradient) on every parameter, as torch.optim.SGD does. */
  weightDecay: number;
  batchSize: number;
  /** Cosine annealing from lr to 0, stepped once per training step, spanning the whole run. */
  schedule: 'cosine-per-step';
  augmentation: 'randomcrop32-pad4+hflip';
  bnMomentum: number;
  bnEpsilon: number;
}

export const RECIPE: Recipe = PROTOCOL.recipe;

/**
 * Learning rate at global step `step` (0-based) of `totalSteps`. Code, not data: the PyTorch
 * worker has its own (train.py cosine_lr); test/protocol-shared.test.ts checks they agree.
 */
export function cosineLr(baseLr: number, step: number, totalSteps: number): number {
  if (totalSteps <= 1) return baseLr;
  return 0.5 * baseLr * (1 + Math.cos((Math.PI * step) / totalSteps));
}

export interface BudgetSize {
  epochs: number;
  /** Training images used (null: the whole training set). A fixed subset, the same for every seed. */
  trainSubset: number | null;
  /** Test images used (null: the whole test set). */
  testSubset: number | null;
}

export const BUDGET_IDS: readonly BudgetId[] = Object.keys(PROTOCOL.budgets) as BudgetId[];

/**
 * smoke: seconds, proves the pipeline. quick: a first ranking of variants in minutes
 * (mobilenetv2-fmnist finishes in <= 20 min on 2 CPU cores, see README). full: the paper protocol.
 */
export function budgetSize(budget: BudgetId, bench: BenchId): BudgetSize {
  const b = PROTOCOL.budgets[budget];
  return { ...(b.perBench?.[bench] ?? b.default) };
}

export type EngineId = 'tfjs' | 'pytorch';
export type BackendId = 'tensorflow-gpu' | 'tensorflow' | 'torch' | 'wasm+native' | 'wasm' | 'cpu';
/** Every TensorFlow.js backend `--backend` accepts, fastest first. */
export const BACKEND_IDS: readonly BackendId[] = ['tensorflow-gpu', 'tensorflow', 'torch', 'wasm+native', 'wasm', 'cpu'];

/** Everything a worker needs to run one benchmark; written into the run record as is. */
export interface RunSpec {
  runId: string;
  bench: BenchId;
  arch: ArchId;
  dataset: DatasetId;
  numClasses: number;
  budget: BudgetId;
  epochs: number;
  trainSubset: number | null;
  testSubset: number | null;
  seed: number;
  recipe: Recipe;
  engine: EngineId;
  /** tfjs: requested backend (undefined: best available). */
  backend?: BackendId;
  /** pytorch: 'cpu' | 'cuda' (undefined: cuda when available); tfjs backend 'torch': cpu | cuda[:N] (undefined: cpu). */
  device?: string;
  /** Explicit data directory (--data-dir / REGBENCH_DATA); undefined: default lookup. */
  dataDir?: string;
  /** Absolute path of the variant file as the user wrote it. */
  variantPath: string;
  /** sha256 of the variant source (hex, first 16 chars). */
  variantHash: string;
  /** What the variant provides; detected before the run starts. */
  variantKind: { regularizer: boolean; norm: boolean };
  /** Absolute path of the run directory (the worker may write artifacts there). */
  runDir: string;
  /**
   * Set by the runner (never stored in the record) when this segment must continue from the
   * checkpoint in `<runDir>/checkpoint/` if there is one (resume, Slurm tasks); without a
   * checkpoint the run starts at epoch 0.
   */
  resume?: boolean;
  /**
   * The step watchdog's limit in seconds (--step-timeout): undefined = the default policy (the
   * larger of 120 s and 50x the median step; 600 s for the first step), 0 = off.
   */
  stepTimeoutSeconds?: number;
  /**
   * Set by the runner (never stored in the record) for the PyTorch worker: the run's images,
   * prepared by the TypeScript data layer (src/engine/data/tensor-files.ts).
   */
  tensors?: TensorFiles;
}

/** One split prepared for the PyTorch worker: `n` uint8 labels, then `n` uint8 NHWC 32x32x3 images. */
export interface TensorFile {
  path: string;
  n: number;
}

export interface TensorFiles {
  train: TensorFile;
  test: TensorFile;
  /** Where the dataset was read from. */
  source: string;
}

export type TaskKind = 'regularizer' | 'norm';

/**
 * Per task kind, the benchmark the protocol holds out (PROTOCOL.md, "used by"): its numbers stay
 * hidden until a final evaluation of the variant's exact source (src/analysis/held-out.ts).
 */
export const TASK_KINDS: Record<TaskKind, { title: string; heldOut: BenchId }> = {
  regularizer: { title: 'regularizers', heldOut: 'mobilenetv2-fmnist' },
  norm: { title: 'normalization layers', heldOut: 'resnet110-cifar100' },
};
