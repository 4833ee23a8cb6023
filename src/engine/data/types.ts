/** What the data layer hands to the training loop. */
import { PROTOCOL } from '../../protocol/benchmarks';

/** One split in memory: `n` images, uint8 NHWC `[n,32,32,3]` (RGB), and their integer labels. */
export interface DataSplit {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
}

export interface LoadedDataset {
  train: DataSplit;
  test: DataSplit;
  /** Where the data was read from (a folder, or an archive and the cache folder it went to). */
  source: string;
}

/** Every image of the engine is 32x32 RGB. */
export const IMAGE_SIZE: number = PROTOCOL.image.size;
export const IMAGE_CHANNELS: number = PROTOCOL.image.channels;
export const IMAGE_BYTES = IMAGE_SIZE * IMAGE_SIZE * IMAGE_CHANNELS;
