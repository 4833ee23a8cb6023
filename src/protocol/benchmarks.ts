/**
 * The benchmark protocol in one place: the five benchmarks, the training recipe and the budgets.
 * Both engines (TensorFlow.js and PyTorch) and every view read these values; nothing else may
 * restate them. The PyTorch worker receives the resolved values inside the run spec.
 */

export type BenchId =
  | 'resnet56-cifar100'
  | 'vgg16bn-cifar100'
  | 'mobilenetv2-fmnist'
  | 'resnet110-cifar100'
  | 'resnet20-cifar10';

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
 * Parameter counts (trainable parameters only) of the PyTorch reference models
 * (chenyaofo/pytorch-cifar-models definitions; measured with torch 1.13, see docs/architectures.md).
 */
export const PARAM_COUNTS: Record<BenchId, number> = {
  'resnet20-cifar10': 272474,
  'resnet56-cifar100': 861620,
  'resnet110-cifar100': 1736564,
  'vgg16bn-cifar100': 15299748,
  'mobilenetv2-fmnist': 2236682,
};

/** Number of BatchNorm2d slots (each one is replaced by a CustomNorm). */
export const NORM_COUNTS: Record<BenchId, number> = {
  'resnet20-cifar10': 21,
  'resnet56-cifar100': 57,
  'resnet110-cifar100': 111,
  'vgg16bn-cifar100': 13,
  'mobilenetv2-fmnist': 52,
};

export const BENCHMARKS: readonly Benchmark[] = [
  { id: 'resnet56-cifar100', title: 'ResNet-56/CIFAR-100', short: 'ResNet-56/C100', arch: 'resnet56', dataset: 'cifar100', numClasses: 100, paramCount: PARAM_COUNTS['resnet56-cifar100'] },
  { id: 'vgg16bn-cifar100', title: 'VGG-16-BN/CIFAR-100', short: 'VGG-16-BN/C100', arch: 'vgg16bn', dataset: 'cifar100', numClasses: 100, paramCount: PARAM_COUNTS['vgg16bn-cifar100'] },
  { id: 'mobilenetv2-fmnist', title: 'MobileNetV2/FashionMNIST', short: 'MobileNetV2/FMNIST', arch: 'mobilenetv2', dataset: 'fashion-mnist', numClasses: 10, paramCount: PARAM_COUNTS['mobilenetv2-fmnist'] },
  { id: 'resnet110-cifar100', title: 'ResNet-110/CIFAR-100', short: 'ResNet-110/C100', arch: 'resnet110', dataset: 'cifar100', numClasses: 100, paramCount: PARAM_COUNTS['resnet110-cifar100'] },
  { id: 'resnet20-cifar10', title: 'ResNet-20/CIFAR-10', short: 'ResNet-20/C10', arch: 'resnet20', dataset: 'cifar10', numClasses: 10, paramCount: PARAM_COUNTS['resnet20-cifar10'] },
];

export function isBenchId(s: string): s is BenchId {
  return BENCHMARKS.some((b) => b.id === s);
}

export function getBenchmark(id: BenchId): Benchmark {
  const b = BENCHMARKS.find((x) => x.id === id);
  if (!b) throw new Error(`unknown benchmark '${id}'`);
  return b;
}

/** Per-channel normalization constants (RGB order), applied after augmentation. */
export const DATASET_STATS: Record<DatasetId, { mean: [number, number, number]; std: [number, number, number]; trainSize: number; testSize: number }> = {
  cifar10: { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616], trainSize: 50000, testSize: 10000 },
  cifar100: { mean: [0.5071, 0.4865, 0.4409], std: [0.2673, 0.2564, 0.2762], trainSize: 50000, testSize: 10000 },
  // FashionMNIST is padded 28 -> 32 with zeros and its gray channel repeated 3 times.
  'fashion-mnist': { mean: [0.286, 0.286, 0.286], std: [0.353, 0.353, 0.353], trainSize: 60000, testSize: 10000 },
};

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

export const RECIPE: Recipe = {
  optimizer: 'sgd',
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  batchSize: 128,
  schedule: 'cosine-per-step',
  augmentation: 'randomcrop32-pad4+hflip',
  bnMomentum: 0.1,
  bnEpsilon: 1e-5,
};

/** Learning rate at global step `step` (0-based) of `totalSteps`. */
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

export const BUDGET_IDS: readonly BudgetId[] = ['smoke', 'quick', 'full'];

/**
 * smoke: seconds, proves the pipeline. quick: a first ranking of variants in minutes
 * (mobilenetv2-fmnist finishes in <= 20 min on 2 CPU cores, see README). full: the paper protocol.
 */
export function budgetSize(budget: BudgetId, bench: BenchId): BudgetSize {
  switch (budget) {
    case 'smoke':
      return { epochs: 1, trainSubset: 512, testSubset: 256 };
    case 'quick':
      return QUICK[bench];
    case 'full':
      return { epochs: 200, trainSubset: null, testSubset: null };
  }
}

const QUICK: Record<BenchId, BudgetSize> = {
  'mobilenetv2-fmnist': { epochs: 4, trainSubset: 10000, testSubset: 2000 },
  'resnet20-cifar10': { epochs: 5, trainSubset: 10000, testSubset: 2000 },
  'resnet56-cifar100': { epochs: 5, trainSubset: 10000, testSubset: 2000 },
  'resnet110-cifar100': { epochs: 5, trainSubset: 10000, testSubset: 2000 },
  'vgg16bn-cifar100': { epochs: 5, trainSubset: 10000, testSubset: 2000 },
};

export type EngineId = 'tfjs' | 'pytorch';
export type BackendId = 'tensorflow-gpu' | 'tensorflow' | 'wasm+native' | 'wasm' | 'cpu';

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
  /** pytorch: 'cpu' | 'cuda' (undefined: cuda when available). */
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
}
