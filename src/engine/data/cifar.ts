/**
 * The CIFAR binary format: fixed-size records of label byte(s) + 3072 pixel bytes, the pixels
 * channel-major (1024 red, 1024 green, 1024 blue, each row-major 32x32). CIFAR-100 records carry
 * the coarse label then the fine label; the benchmarks use the fine one.
 */
import { existsSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { CifarSource } from './catalog';
import { DataError } from './errors';
import { IMAGE_BYTES, type DataSplit } from './types';

const PLANE = 1024;

export function cifarRecordSize(source: CifarSource): number {
  return source.labelBytes + IMAGE_BYTES;
}

export type CifarLocation = { kind: 'folder'; path: string } | { kind: 'archive'; path: string };

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/**
 * What a data directory holds for this dataset: the extracted folder (as a sub-folder, or the
 * directory itself), else the official archive, else null. A folder with files missing is an
 * error rather than a miss: the user clearly meant it.
 */
export function findCifar(source: CifarSource, dir: string): CifarLocation | null {
  const candidates = [join(dir, source.folder), dir];
  for (const folder of candidates) {
    if (!isDir(folder)) continue;
    const names = [...source.trainFiles, source.testFile];
    if (folder === dir && !names.some((n) => existsSync(join(dir, n)))) continue;
    const missing = names.find((n) => !isFile(join(folder, n)));
    if (missing) {
      const file = join(folder, missing);
      throw new DataError(
        `${source.title} folder ${folder} is incomplete: ${missing} is missing; put the whole ${source.folder}/ folder from ${source.archive} there, or ${source.archive} itself in ${dir}`,
        file,
        'missing',
      );
    }
    return { kind: 'folder', path: folder };
  }
  const archive = join(dir, source.archive);
  if (isFile(archive)) return { kind: 'archive', path: archive };
  return null;
}

/** Checks that a complete extracted folder exists at `folder` (used for the cache). */
export function isCompleteCifarFolder(source: CifarSource, folder: string): boolean {
  return [...source.trainFiles, source.testFile].every((n) => isFile(join(folder, n)));
}

/** Decodes records into NHWC images starting at image `at`; validates every label. */
function decodeRecords(source: CifarSource, buf: Uint8Array, file: string, split: DataSplit, at: number): void {
  const rec = cifarRecordSize(source);
  const count = buf.length / rec;
  const { images, labels } = split;
  for (let r = 0; r < count; r++) {
    const base = r * rec;
    const label = buf[base + source.labelBytes - 1];
    if (label >= source.numClasses || (source.labelBytes === 2 && buf[base] >= 20)) {
      throw new DataError(`${file} is corrupt: record ${r} has label ${label} (expected 0..${source.numClasses - 1})`, file, 'corrupt');
    }
    labels[at + r] = label;
    const px = base + source.labelBytes;
    let o = (at + r) * IMAGE_BYTES;
    for (let p = 0; p < PLANE; p++) {
      images[o] = buf[px + p];
      images[o + 1] = buf[px + PLANE + p];
      images[o + 2] = buf[px + 2 * PLANE + p];
      o += 3;
    }
  }
}

async function readSplit(source: CifarSource, folder: string, names: readonly string[]): Promise<DataSplit> {
  const rec = cifarRecordSize(source);
  const paths = names.map((n) => join(folder, n));
  const sizes = await Promise.all(paths.map(async (p) => (await stat(p)).size));
  sizes.forEach((size, i) => {
    if (size === 0 || size % rec !== 0) {
      throw new DataError(`${paths[i]} is corrupt: its size ${size} is not a positive multiple of the ${rec}-byte ${source.title} record`, paths[i], 'corrupt');
    }
  });
  const n = sizes.reduce((s, x) => s + x / rec, 0);
  const split: DataSplit = { images: new Uint8Array(n * IMAGE_BYTES), labels: new Uint8Array(n), n };
  let at = 0;
  for (const p of paths) {
    const buf = await readFile(p);
    decodeRecords(source, buf, p, split, at);
    at += buf.length / rec;
  }
  return split;
}

/** Reads an extracted folder (train files in order, then the test file). */
export async function readCifarFolder(source: CifarSource, folder: string): Promise<{ train: DataSplit; test: DataSplit }> {
  const train = await readSplit(source, folder, source.trainFiles);
  const test = await readSplit(source, folder, [source.testFile]);
  return { train, test };
}

/**
 * Encodes NHWC images and labels into CIFAR records (the inverse of the reader); CIFAR-100
 * records need a coarse label per image as well.
 */
export function encodeCifarRecords(source: CifarSource, images: Uint8Array, labels: Uint8Array, coarse?: Uint8Array): Uint8Array {
  const rec = cifarRecordSize(source);
  const n = labels.length;
  const out = new Uint8Array(n * rec);
  for (let i = 0; i < n; i++) {
    const base = i * rec;
    if (source.labelBytes === 2) {
      if (!coarse) throw new Error('CIFAR-100 records need coarse labels');
      out[base] = coarse[i];
    }
    out[base + source.labelBytes - 1] = labels[i];
    const px = base + source.labelBytes;
    let o = i * IMAGE_BYTES;
    for (let p = 0; p < PLANE; p++) {
      out[px + p] = images[o];
      out[px + PLANE + p] = images[o + 1];
      out[px + 2 * PLANE + p] = images[o + 2];
      o += 3;
    }
  }
  return out;
}
