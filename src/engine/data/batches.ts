/**
 * Batches for training and evaluation, as float32 NHWC [B,32,32,3] plus int32 labels.
 * Training epochs: a seeded shuffle (seed = runSeed * 1000 + epoch), then per image a crop offset
 * and a flip drawn from the same generator, in shuffled order: dy = nextInt(9) - 4,
 * dx = nextInt(9) - 4, flip = nextFloat() < 0.5. Evaluation: fixed order, no augmentation.
 * The last partial batch is kept (PyTorch's drop_last=False).
 * The arrays of a batch are reused by the next batch of the same size: copy them (tf.tensor
 * does) before asking for the next one.
 */
import type { DatasetId } from '../../protocol/benchmarks';
import { CROP_PADDING, writeAugmentedImage, writeNormalizedImage } from './augment';
import { normalizationLut } from './normalize';
import { Rng } from './random';
import { IMAGE_BYTES, type DataSplit } from './types';

export interface Batch {
  /** Normalized images, length size * 3072. */
  x: Float32Array;
  /** Labels, length size. */
  y: Int32Array;
  size: number;
  /** 0-based batch index within the epoch. */
  index: number;
}

export interface BatchIteratorOptions {
  /** Selects the normalization constants. */
  dataset: DatasetId;
  batchSize: number;
  /** Indices of the images to use (a subset); default every image of the split. */
  indices?: Int32Array;
  /** true: shuffle + crop + flip per epoch; false: evaluation order, normalization only. */
  train: boolean;
  /** The run seed (training only). */
  seed?: number;
}

/** The seed of a training epoch's shuffle and augmentation draws. */
export function epochSeed(runSeed: number, epoch: number): number {
  return runSeed * 1000 + epoch;
}

export class BatchIterator {
  readonly numImages: number;
  readonly numBatches: number;
  readonly batchSize: number;
  private readonly split: DataSplit;
  private readonly indices: Int32Array;
  private readonly train: boolean;
  private readonly runSeed: number;
  private readonly lut: Float32Array;
  private readonly order: Int32Array;
  private readonly offY: Int8Array;
  private readonly offX: Int8Array;
  private readonly flips: Uint8Array;
  private preparedEpoch = -1;
  private readonly full: Batch;
  private last: Batch | undefined;

  constructor(split: DataSplit, opts: BatchIteratorOptions) {
    if (!(opts.batchSize >= 1) || !Number.isInteger(opts.batchSize)) throw new RangeError(`batch size must be a positive integer, got ${opts.batchSize}`);
    this.split = split;
    this.indices = opts.indices ?? Int32Array.from({ length: split.n }, (_, i) => i);
    for (const i of this.indices) if (i < 0 || i >= split.n) throw new RangeError(`index ${i} outside a split of ${split.n} images`);
    this.numImages = this.indices.length;
    this.batchSize = opts.batchSize;
    this.numBatches = Math.ceil(this.numImages / this.batchSize);
    this.train = opts.train;
    this.runSeed = opts.seed ?? 0;
    this.lut = normalizationLut(opts.dataset);
    this.order = this.indices.slice();
    const n = this.train ? this.numImages : 0;
    this.offY = new Int8Array(n);
    this.offX = new Int8Array(n);
    this.flips = new Uint8Array(n);
    const b = Math.min(this.batchSize, Math.max(1, this.numImages));
    this.full = { x: new Float32Array(b * IMAGE_BYTES), y: new Int32Array(b), size: b, index: 0 };
  }

  /** Draws the epoch's order and augmentations; batch() then serves any batch of that epoch. */
  prepareEpoch(epoch: number): void {
    if (!this.train || this.preparedEpoch === epoch) return;
    const rng = new Rng(epochSeed(this.runSeed, epoch));
    this.order.set(this.indices);
    rng.shuffle(this.order);
    const span = 2 * CROP_PADDING + 1;
    for (let p = 0; p < this.numImages; p++) {
      this.offY[p] = rng.nextInt(span) - CROP_PADDING;
      this.offX[p] = rng.nextInt(span) - CROP_PADDING;
      this.flips[p] = rng.nextFloat() < 0.5 ? 1 : 0;
    }
    this.preparedEpoch = epoch;
  }

  /** Batch `k` of the prepared epoch (for evaluation: of the fixed order). */
  batch(k: number): Batch {
    if (!(k >= 0 && k < this.numBatches)) throw new RangeError(`batch ${k} outside 0..${this.numBatches - 1}`);
    if (this.train && this.preparedEpoch < 0) throw new Error('prepareEpoch() must be called before batch() on a training iterator');
    const start = k * this.batchSize;
    const size = Math.min(this.batchSize, this.numImages - start);
    const out = size === this.full.size ? this.full : this.lastBatch(size);
    out.index = k;
    const { images, labels } = this.split;
    for (let i = 0; i < size; i++) {
      const p = start + i;
      const img = this.order[p];
      out.y[i] = labels[img];
      if (this.train) writeAugmentedImage(images, img * IMAGE_BYTES, this.lut, this.offY[p], this.offX[p], this.flips[p] === 1, out.x, i * IMAGE_BYTES);
      else writeNormalizedImage(images, img * IMAGE_BYTES, this.lut, out.x, i * IMAGE_BYTES);
    }
    return out;
  }

  /** Every batch of one epoch, in order (`epoch` is ignored for evaluation). */
  *epoch(epoch = 0): Generator<Batch> {
    this.prepareEpoch(epoch);
    for (let k = 0; k < this.numBatches; k++) yield this.batch(k);
  }

  private lastBatch(size: number): Batch {
    if (!this.last || this.last.size !== size) {
      this.last = { x: this.full.x.subarray(0, size * IMAGE_BYTES), y: this.full.y.subarray(0, size), size, index: 0 };
    }
    return this.last;
  }
}
