/**
 * Small synthetic datasets in the real on-disk formats, for pipeline checks and tests when the
 * real data is not at hand. They are only ever read when the user points --data-dir at them;
 * nothing substitutes them for real data. Images are learnable on purpose (a class colour or
 * shape plus a class grating, with seeded noise), so a smoke run rises above chance accuracy.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import type { DatasetId } from '../../protocol/benchmarks';
import { CIFAR10, CIFAR100, FASHION_MNIST, type CifarSource } from './catalog';
import { encodeCifarRecords } from './cifar';
import { grayToPaddedRgb } from './fashion-mnist';
import { encodeIdxGz, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC } from './idx';
import { mix32, Rng } from './random';
import { writeTar } from './tar';
import { IMAGE_BYTES, IMAGE_SIZE, type DataSplit } from './types';

export interface SyntheticOptions {
  train?: number;
  test?: number;
  seed?: number;
  /** CIFAR only: write the official `.tar.gz` archive instead of the extracted folder. */
  archive?: boolean;
}

export const SYNTHETIC_DEFAULT_TRAIN = 1000;
export const SYNTHETIC_DEFAULT_TEST = 500;

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** Colour images: per-class base colour and oriented grating, random phase and noise. */
export function syntheticColorImages(numClasses: number, n: number, rng: Rng): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(n * IMAGE_BYTES);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = (i + rng.nextInt(numClasses)) % numClasses;
    labels[i] = k;
    const theta = ((k % 8) * Math.PI) / 8;
    const freq = 1.5 + (Math.floor(k / 8) % 4);
    const phase = rng.nextFloat() * 2 * Math.PI;
    const cos = Math.cos(theta);
    const sin = Math.sin(theta);
    let o = i * IMAGE_BYTES;
    for (let y = 0; y < IMAGE_SIZE; y++) {
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const wave = 50 * Math.sin((2 * Math.PI * freq * (x * cos + y * sin)) / IMAGE_SIZE + phase);
        for (let c = 0; c < 3; c++) {
          const base = 50 + (mix32(k * 3 + c + 12345) % 156);
          images[o++] = clampByte(base + wave + (rng.nextFloat() - 0.5) * 50);
        }
      }
    }
  }
  return { images, labels };
}

/** 28x28 gray images: a per-class rectangle (size, brightness) on black, jittered and noisy. */
export function syntheticGrayImages(n: number, rng: Rng): { gray: Uint8Array; labels: Uint8Array } {
  const side = 28;
  const gray = new Uint8Array(n * side * side);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = (i + rng.nextInt(10)) % 10;
    labels[i] = k;
    const w = 8 + 3 * (k % 5);
    const h = 10 + 8 * Math.floor(k / 5);
    const top = Math.floor((side - h) / 2) + rng.nextInt(5) - 2;
    const left = Math.floor((side - w) / 2) + rng.nextInt(5) - 2;
    const level = 90 + 16 * k;
    for (let y = Math.max(0, top); y < Math.min(side, top + h); y++) {
      for (let x = Math.max(0, left); x < Math.min(side, left + w); x++) {
        gray[i * side * side + y * side + x] = clampByte(level + (rng.nextFloat() - 0.5) * 60);
      }
    }
  }
  return { gray, labels };
}

/** An in-memory split as loadDataset would return it (benchmarks, tests of the batch code). */
export function syntheticSplit(dataset: DatasetId, n: number, seed = 0): DataSplit {
  const rng = new Rng(seed);
  if (dataset === 'fashion-mnist') {
    const { gray, labels } = syntheticGrayImages(n, rng);
    return { images: grayToPaddedRgb(gray, n), labels, n };
  }
  const { images, labels } = syntheticColorImages(dataset === 'cifar10' ? 10 : 100, n, rng);
  return { images, labels, n };
}

function cifarFiles(source: CifarSource, train: number, test: number, rng: Rng): Array<{ name: string; data: Uint8Array }> {
  const coarseOf = (fine: Uint8Array): Uint8Array => fine.map((f) => Math.floor(f / 5));
  const encode = (n: number): Uint8Array => {
    const { images, labels } = syntheticColorImages(source.numClasses, n, rng);
    return encodeCifarRecords(source, images, labels, source.labelBytes === 2 ? coarseOf(labels) : undefined);
  };
  const files: Array<{ name: string; data: Uint8Array }> = [];
  const parts = source.trainFiles.length;
  source.trainFiles.forEach((name, b) => {
    const count = Math.floor(train / parts) + (b < train % parts ? 1 : 0);
    files.push({ name, data: encode(count) });
  });
  files.push({ name: source.testFile, data: encode(test) });
  return files;
}

/**
 * Writes a small valid file set for `dataset` into `outDir` and returns the paths written.
 * CIFAR: the extracted folder (`cifar-10-batches-bin/` or `cifar-100-binary/`), or with
 * `archive` the `.tar.gz` (which has its own MD5, not the official one). FashionMNIST: the four
 * gzipped IDX files directly in `outDir`.
 */
export async function writeSyntheticDataset(dataset: DatasetId, outDir: string, opts: SyntheticOptions = {}): Promise<string[]> {
  const train = opts.train ?? SYNTHETIC_DEFAULT_TRAIN;
  const test = opts.test ?? SYNTHETIC_DEFAULT_TEST;
  if (!(train >= 1 && test >= 1)) throw new RangeError('synthetic splits need at least one image each');
  const rng = new Rng(opts.seed ?? 0);
  await mkdir(outDir, { recursive: true });
  if (dataset === 'fashion-mnist') {
    const f = FASHION_MNIST.files;
    const written: string[] = [];
    for (const [imagesName, labelsName, n] of [
      [f.trainImages, f.trainLabels, train],
      [f.testImages, f.testLabels, test],
    ] as const) {
      const { gray, labels } = syntheticGrayImages(n, rng);
      const imagesPath = join(outDir, `${imagesName}.gz`);
      const labelsPath = join(outDir, `${labelsName}.gz`);
      await writeFile(imagesPath, encodeIdxGz(IDX_IMAGES_MAGIC, [n, 28, 28], gray));
      await writeFile(labelsPath, encodeIdxGz(IDX_LABELS_MAGIC, [n], labels));
      written.push(imagesPath, labelsPath);
    }
    return written;
  }
  const source = dataset === 'cifar10' ? CIFAR10 : CIFAR100;
  const files = cifarFiles(source, train, test, rng);
  if (opts.archive) {
    const tar = writeTar([{ name: `${source.folder}/` }, ...files.map((f) => ({ name: `${source.folder}/${f.name}`, data: f.data }))]);
    const archivePath = join(outDir, source.archive);
    await writeFile(archivePath, gzipSync(tar));
    return [archivePath];
  }
  const folder = join(outDir, source.folder);
  await mkdir(folder, { recursive: true });
  const written: string[] = [];
  for (const f of files) {
    const p = join(folder, f.name);
    await writeFile(p, f.data);
    written.push(p);
  }
  return written;
}
