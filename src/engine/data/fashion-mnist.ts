/**
 * FashionMNIST on disk (the four IDX files, gzipped or not) and in memory: 28x28 gray images
 * padded with 2 zero pixels on each side to 32x32 and the gray value repeated in R, G and B, so
 * that every architecture sees the same [N,32,32,3] input as with CIFAR.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { idxFileList, type IdxSource } from './catalog';
import { DataError } from './errors';
import { decodeIdx, IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, readMaybeGzip } from './idx';
import { IMAGE_BYTES, IMAGE_SIZE, type DataSplit } from './types';

const SIDE = 28;
const PAD = (IMAGE_SIZE - SIDE) / 2;

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The on-disk path of one IDX file in `folder`: the `.gz` form first, then the plain one. */
function idxPath(folder: string, name: string): string | undefined {
  for (const candidate of [join(folder, `${name}.gz`), join(folder, name)]) if (isFile(candidate)) return candidate;
  return undefined;
}

export interface IdxLocation {
  folder: string;
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

/**
 * Finds the four files in `dir` or one of its accepted sub-folders; null when none of them is
 * there; an error naming the first absent one when the set is incomplete.
 */
export function findIdx(source: IdxSource, dir: string): IdxLocation | null {
  for (const folder of [dir, ...source.subfolders.map((s) => join(dir, s))]) {
    const names = idxFileList(source.files);
    const paths = names.map((n) => idxPath(folder, n));
    if (paths.every((p) => p === undefined)) continue;
    const missing = paths.findIndex((p) => p === undefined);
    if (missing >= 0) {
      const file = join(folder, `${names[missing]}.gz`);
      throw new DataError(
        `${source.title} in ${folder} is incomplete: ${names[missing]}.gz is missing; get it from ${source.baseUrls[0]}${names[missing]}.gz`,
        file,
        'missing',
      );
    }
    const [trainImages, trainLabels, testImages, testLabels] = paths as string[];
    return { folder, trainImages, trainLabels, testImages, testLabels };
  }
  return null;
}

/** Pads 28x28 gray to 32x32 and repeats it into three channels (NHWC). */
export function grayToPaddedRgb(gray: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(n * IMAGE_BYTES);
  for (let i = 0; i < n; i++) {
    const src = i * SIDE * SIDE;
    for (let r = 0; r < SIDE; r++) {
      let o = (i * IMAGE_SIZE * IMAGE_SIZE + (r + PAD) * IMAGE_SIZE + PAD) * 3;
      const row = src + r * SIDE;
      for (let c = 0; c < SIDE; c++) {
        const v = gray[row + c];
        out[o] = v;
        out[o + 1] = v;
        out[o + 2] = v;
        o += 3;
      }
    }
  }
  return out;
}

async function readSplit(source: IdxSource, imagesFile: string, labelsFile: string): Promise<DataSplit> {
  const [imagesBuf, labelsBuf] = await Promise.all([readMaybeGzip(imagesFile), readMaybeGzip(labelsFile)]);
  const images = decodeIdx(imagesBuf, IDX_IMAGES_MAGIC, imagesFile);
  const labels = decodeIdx(labelsBuf, IDX_LABELS_MAGIC, labelsFile);
  if (images.dims.length !== 3 || images.dims[1] !== SIDE || images.dims[2] !== SIDE) {
    throw new DataError(`${imagesFile} is corrupt: image dims [${images.dims.join(',')}], expected [n,28,28]`, imagesFile, 'corrupt');
  }
  const n = images.dims[0];
  if (labels.dims.length !== 1 || labels.dims[0] !== n) {
    throw new DataError(`${labelsFile} is corrupt: ${labels.dims[0]} labels for ${n} images in ${imagesFile}`, labelsFile, 'corrupt');
  }
  for (let i = 0; i < n; i++) {
    if (labels.data[i] >= source.numClasses) {
      throw new DataError(`${labelsFile} is corrupt: label ${labels.data[i]} at ${i} (expected 0..${source.numClasses - 1})`, labelsFile, 'corrupt');
    }
  }
  return { images: grayToPaddedRgb(images.data, n), labels: Uint8Array.from(labels.data), n };
}

export async function readIdxDataset(source: IdxSource, loc: IdxLocation): Promise<{ train: DataSplit; test: DataSplit }> {
  const [train, test] = await Promise.all([readSplit(source, loc.trainImages, loc.trainLabels), readSplit(source, loc.testImages, loc.testLabels)]);
  return { train, test };
}
