/**
 * Small synthetic datasets in the real on-disk formats, for pipeline checks and tests when the
 * real data is not at hand. They are only ever read when the user points --data-dir at them;
 * nothing substitutes them for real data. Images are learnable on purpose (a class colour or
 * shape plus a class grating, with seeded noise), so a smoke run rises above chance accuracy.
 * A difficulty in [0, 1] keeps them from saturating (docs/data.md, "Synthetic data"): each image
 * blends in a second, random class (class overlap, weight up to the difficulty) and training
 * labels are flipped to a random other class with probability 0.2 x difficulty; both from a
 * stream of their own, so difficulty 0 writes exactly the bytes of the easy data.
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
  /** 0 (easy, the default here) to 1: class overlap and training label noise, see `difficultyParams`. */
  difficulty?: number;
}

/** What `regbench data synth` uses without --difficulty: accuracies well below 100% (docs/data.md). */
export const SYNTHETIC_CLI_DIFFICULTY = 0.5;
/** Training labels flipped at difficulty 1. */
export const LABEL_NOISE_AT_FULL_DIFFICULTY = 0.2;

export interface Hardness {
  /** Each image blends a second class in with weight m ~ U(0, overlap). */
  overlap: number;
  /** Probability that a training label is replaced by a uniformly random other class. */
  labelNoise: number;
  /** The stream of the blend partners, weights and label flips (not the images' own stream). */
  rng: Rng;
}

export function difficultyParams(difficulty: number, seed: number): Hardness {
  if (!(difficulty >= 0 && difficulty <= 1)) throw new RangeError(`difficulty must be a number from 0 to 1, got ${difficulty}`);
  return { overlap: difficulty, labelNoise: LABEL_NOISE_AT_FULL_DIFFICULTY * difficulty, rng: new Rng(mix32(seed ^ 0x5eed0d1f)) };
}

const EASY: Hardness = { overlap: 0, labelNoise: 0, rng: new Rng(0) };

/** The class blended in and its weight (none at overlap 0: the hardness stream is not touched). */
function blendPartner(k: number, numClasses: number, h: Hardness): { j: number; m: number } {
  if (h.overlap === 0) return { j: k, m: 0 };
  return { j: (k + 1 + h.rng.nextInt(numClasses - 1)) % numClasses, m: h.overlap * h.rng.nextFloat() };
}

/** Flips training labels in place with probability h.labelNoise; returns how many were flipped. */
export function flipLabels(labels: Uint8Array, numClasses: number, h: Hardness): number {
  if (h.labelNoise === 0) return 0;
  let flipped = 0;
  for (let i = 0; i < labels.length; i++) {
    if (h.rng.nextFloat() >= h.labelNoise) continue;
    labels[i] = (labels[i] + 1 + h.rng.nextInt(numClasses - 1)) % numClasses;
    flipped++;
  }
  return flipped;
}

export const SYNTHETIC_DEFAULT_TRAIN = 1000;
export const SYNTHETIC_DEFAULT_TEST = 500;

function clampByte(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** A class's oriented grating (its orientation and frequency) at pixel (x, y). */
function grating(k: number, phase: number): (x: number, y: number) => number {
  const theta = ((k % 8) * Math.PI) / 8;
  const freq = 1.5 + (Math.floor(k / 8) % 4);
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  return (x, y) => 50 * Math.sin((2 * Math.PI * freq * (x * cos + y * sin)) / IMAGE_SIZE + phase);
}

const baseColour = (k: number, c: number): number => 50 + (mix32(k * 3 + c + 12345) % 156);

/**
 * Colour images: per-class base colour and oriented grating, random phase and noise; with
 * `hard.overlap` > 0 a second class's colour and grating blended in with weight m (the label stays
 * the first class).
 */
export function syntheticColorImages(numClasses: number, n: number, rng: Rng, hard: Hardness = EASY): { images: Uint8Array; labels: Uint8Array } {
  const images = new Uint8Array(n * IMAGE_BYTES);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = (i + rng.nextInt(numClasses)) % numClasses;
    labels[i] = k;
    const wave = grating(k, rng.nextFloat() * 2 * Math.PI);
    const { j, m } = blendPartner(k, numClasses, hard);
    const other = m > 0 ? grating(j, hard.rng.nextFloat() * 2 * Math.PI) : wave;
    let o = i * IMAGE_BYTES;
    for (let y = 0; y < IMAGE_SIZE; y++) {
      for (let x = 0; x < IMAGE_SIZE; x++) {
        const w = m > 0 ? (1 - m) * wave(x, y) + m * other(x, y) : wave(x, y);
        for (let c = 0; c < 3; c++) {
          const base = m > 0 ? (1 - m) * baseColour(k, c) + m * baseColour(j, c) : baseColour(k, c);
          images[o++] = clampByte(base + w + (rng.nextFloat() - 0.5) * 50);
        }
      }
    }
  }
  return { images, labels };
}

/**
 * 28x28 gray images: a per-class rectangle (size, brightness) on black, jittered and noisy; with
 * `hard.overlap` > 0 its size and brightness are blended towards a second class's by m.
 */
export function syntheticGrayImages(n: number, rng: Rng, hard: Hardness = EASY): { gray: Uint8Array; labels: Uint8Array } {
  const side = 28;
  const gray = new Uint8Array(n * side * side);
  const labels = new Uint8Array(n);
  const mixed = (a: number, b: number, m: number) => (m > 0 ? Math.round((1 - m) * a + m * b) : a);
  for (let i = 0; i < n; i++) {
    const k = (i + rng.nextInt(10)) % 10;
    labels[i] = k;
    const { j, m } = blendPartner(k, 10, hard);
    const jy = rng.nextInt(5) - 2;
    const jx = rng.nextInt(5) - 2;
    const rect = (w: number, h: number) => {
      const top = Math.floor((side - h) / 2) + jy;
      const left = Math.floor((side - w) / 2) + jx;
      return { y0: Math.max(0, top), y1: Math.min(side, top + h), x0: Math.max(0, left), x1: Math.min(side, left + w) };
    };
    const own = rect(8 + 3 * (k % 5), 10 + 8 * Math.floor(k / 5));
    const r = m > 0 ? rect(mixed(8 + 3 * (k % 5), 8 + 3 * (j % 5), m), mixed(10 + 8 * Math.floor(k / 5), 10 + 8 * Math.floor(j / 5), m)) : own;
    // A blended rectangle takes its noise from the hardness stream; the images' own stream advances
    // as for the easy image, so the classes drawn stay those of the easy data.
    if (m > 0) for (let t = (own.y1 - own.y0) * (own.x1 - own.x0); t > 0; t--) rng.nextFloat();
    const noise = m > 0 ? hard.rng : rng;
    const level = mixed(90 + 16 * k, 90 + 16 * j, m);
    for (let y = r.y0; y < r.y1; y++) {
      for (let x = r.x0; x < r.x1; x++) {
        gray[i * side * side + y * side + x] = clampByte(level + (noise.nextFloat() - 0.5) * 60);
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

function cifarFiles(source: CifarSource, train: number, test: number, rng: Rng, hard: Hardness): Array<{ name: string; data: Uint8Array }> {
  const coarseOf = (fine: Uint8Array): Uint8Array => fine.map((f) => Math.floor(f / 5));
  const encode = (n: number, training: boolean): Uint8Array => {
    const { images, labels } = syntheticColorImages(source.numClasses, n, rng, hard);
    if (training) flipLabels(labels, source.numClasses, hard);
    return encodeCifarRecords(source, images, labels, source.labelBytes === 2 ? coarseOf(labels) : undefined);
  };
  const files: Array<{ name: string; data: Uint8Array }> = [];
  const parts = source.trainFiles.length;
  source.trainFiles.forEach((name, b) => {
    const count = Math.floor(train / parts) + (b < train % parts ? 1 : 0);
    files.push({ name, data: encode(count, true) });
  });
  files.push({ name: source.testFile, data: encode(test, false) });
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
  const seed = opts.seed ?? 0;
  const rng = new Rng(seed);
  const hard = difficultyParams(opts.difficulty ?? 0, seed);
  await mkdir(outDir, { recursive: true });
  if (dataset === 'fashion-mnist') {
    const f = FASHION_MNIST.files;
    const written: string[] = [];
    for (const [imagesName, labelsName, n] of [
      [f.trainImages, f.trainLabels, train],
      [f.testImages, f.testLabels, test],
    ] as const) {
      const { gray, labels } = syntheticGrayImages(n, rng, hard);
      if (imagesName === f.trainImages) flipLabels(labels, 10, hard);
      const imagesPath = join(outDir, `${imagesName}.gz`);
      const labelsPath = join(outDir, `${labelsName}.gz`);
      await writeFile(imagesPath, encodeIdxGz(IDX_IMAGES_MAGIC, [n, 28, 28], gray));
      await writeFile(labelsPath, encodeIdxGz(IDX_LABELS_MAGIC, [n], labels));
      written.push(imagesPath, labelsPath);
    }
    return written;
  }
  const source = dataset === 'cifar10' ? CIFAR10 : CIFAR100;
  const files = cifarFiles(source, train, test, rng, hard);
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
