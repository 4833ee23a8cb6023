/**
 * The PyTorch worker's data, prepared by this (TypeScript) data layer so that the worker reads no
 * dataset format itself: one file per split, holding exactly the images a run uses (the budget's
 * subset, in subset order) as raw bytes: `n` labels (uint8), then `n` images uint8 NHWC
 * [n,32,32,3], the form DataSplit has in memory. The worker maps it with torch.from_file
 * (src/engine/pytorch/data_cache.py); a JSON header beside it describes it for people.
 *
 * The files are content-addressed (`<dataset>-<split>-<n>-<sha256 prefix>.u8` in the tensor
 * cache): never stale, shared by every run on the same images, written atomically (temporary
 * file, then rename), so concurrent runs may prepare the same file.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, statSync, writeFileSync, openSync, writeSync, closeSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { DatasetId, RunSpec, TensorFile, TensorFiles } from '../../protocol/benchmarks';
import { loadDataset, type LoadOptions } from './load';
import { defaultCacheDir } from './locations';
import { selectSubset } from './subset';
import { IMAGE_BYTES, IMAGE_CHANNELS, IMAGE_SIZE, type DataSplit } from './types';

export type { TensorFile, TensorFiles };

export const TENSOR_FORMAT = 'regbench-u8';

/** `<cache>/regbench/tensors`: beside the dataset cache (`<cache>/regbench/datasets`). */
export function defaultTensorDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(dirname(defaultCacheDir(env)), 'tensors');
}

export interface PrepareOptions extends LoadOptions {
  /** Where the files go (default: defaultTensorDir(env)). */
  tensorDir?: string;
  /** The environment of the run (its XDG_CACHE_HOME selects the default tensor directory). */
  env?: NodeJS.ProcessEnv;
}

/** The bytes of one split's file, in order (no copy of the images when every image is used). */
function splitParts(split: DataSplit, indices: Int32Array): Uint8Array[] {
  const n = indices.length;
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) labels[i] = split.labels[indices[i]];
  const identity = n === split.n && indices.every((v, i) => v === i);
  if (identity) return [labels, split.images.subarray(0, n * IMAGE_BYTES)];
  const images = new Uint8Array(n * IMAGE_BYTES);
  for (let i = 0; i < n; i++) images.set(split.images.subarray(indices[i] * IMAGE_BYTES, (indices[i] + 1) * IMAGE_BYTES), i * IMAGE_BYTES);
  return [labels, images];
}

function writeSplitFile(dir: string, dataset: DatasetId, name: 'train' | 'test', split: DataSplit, indices: Int32Array, source: string): TensorFile {
  const parts = splitParts(split, indices);
  const hash = createHash('sha256');
  for (const p of parts) hash.update(p);
  const n = indices.length;
  const file = join(dir, `${dataset}-${name}-${n}-${hash.digest('hex').slice(0, 16)}.u8`);
  const size = n * (1 + IMAGE_BYTES);
  if (existsSync(file) && statSync(file).size === size) return { path: file, n };
  mkdirSync(dir, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      for (const p of parts) writeSync(fd, p);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const header = {
    format: TENSOR_FORMAT,
    version: 1,
    dataset,
    split: name,
    n,
    layout: `${n} labels (uint8), then ${n} images uint8 NHWC [${n},${IMAGE_SIZE},${IMAGE_SIZE},${IMAGE_CHANNELS}]`,
    source,
  };
  writeFileSync(`${file.slice(0, -3)}.json`, JSON.stringify(header, null, 2) + '\n');
  return { path: file, n };
}

/**
 * Reads the run's dataset with the data layer (lookup, download when allowed, checks) and writes
 * the run's train and test subsets as tensor files. Throws DataError as loadDataset does.
 */
export async function prepareTensorFiles(
  spec: Pick<RunSpec, 'dataset' | 'dataDir' | 'trainSubset' | 'testSubset'>,
  opts: PrepareOptions = {},
): Promise<TensorFiles> {
  const data = await loadDataset(spec.dataset, { ...opts, dataDir: spec.dataDir ?? opts.dataDir });
  const dir = opts.tensorDir ?? (opts.cacheDir ? join(dirname(opts.cacheDir), 'tensors') : defaultTensorDir(opts.env));
  const train = writeSplitFile(dir, spec.dataset, 'train', data.train, selectSubset(data.train.n, spec.trainSubset), data.source);
  const test = writeSplitFile(dir, spec.dataset, 'test', data.test, selectSubset(data.test.n, spec.testSubset), data.source);
  return { train, test, source: data.source };
}
