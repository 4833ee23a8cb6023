/**
 * Where each dataset comes from and how its official files are named and checksummed.
 * Checksums are the MD5 sums the dataset authors publish for the compressed files
 * (cs.toronto.edu/~kriz/cifar.html; the same values are in torchvision's dataset classes).
 */
import type { DatasetId } from '../../protocol/benchmarks';

export interface CifarSource {
  format: 'cifar';
  id: 'cifar10' | 'cifar100';
  title: string;
  archive: string;
  archiveMd5: string;
  baseUrls: readonly string[];
  /** Top folder of the archive, also the folder name accepted on disk. */
  folder: string;
  trainFiles: readonly string[];
  testFile: string;
  /** Label bytes before the 3072 pixel bytes of a record; the last label byte is the one used. */
  labelBytes: 1 | 2;
  numClasses: number;
}

export interface IdxFiles {
  trainImages: string;
  trainLabels: string;
  testImages: string;
  testLabels: string;
}

export interface IdxSource {
  format: 'idx';
  id: 'fashion-mnist';
  title: string;
  /** Uncompressed names; on disk a `.gz` of each is accepted too, and is what is downloaded. */
  files: IdxFiles;
  /** MD5 of each official `.gz` file, keyed by the `.gz` name. */
  md5: Readonly<Record<string, string>>;
  baseUrls: readonly string[];
  /** Sub-folder names accepted inside a data directory (tried after the directory itself). */
  subfolders: readonly string[];
  /** Debian's `dataset-fashion-mnist` installs the four .gz files here. */
  systemDir: string;
  numClasses: number;
}

export type DatasetSource = CifarSource | IdxSource;

const TORONTO = 'https://www.cs.toronto.edu/~kriz/';

export const CIFAR10: CifarSource = {
  format: 'cifar',
  id: 'cifar10',
  title: 'CIFAR-10',
  archive: 'cifar-10-binary.tar.gz',
  archiveMd5: 'c32a1d4ab5d03f1284b67883e8d87530',
  baseUrls: [TORONTO],
  folder: 'cifar-10-batches-bin',
  trainFiles: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  testFile: 'test_batch.bin',
  labelBytes: 1,
  numClasses: 10,
};

export const CIFAR100: CifarSource = {
  format: 'cifar',
  id: 'cifar100',
  title: 'CIFAR-100',
  archive: 'cifar-100-binary.tar.gz',
  archiveMd5: '03b5dce01913d631647c71ecec9e9cb8',
  baseUrls: [TORONTO],
  folder: 'cifar-100-binary',
  trainFiles: ['train.bin'],
  testFile: 'test.bin',
  labelBytes: 2,
  numClasses: 100,
};

export const FASHION_MNIST: IdxSource = {
  format: 'idx',
  id: 'fashion-mnist',
  title: 'FashionMNIST',
  files: {
    trainImages: 'train-images-idx3-ubyte',
    trainLabels: 'train-labels-idx1-ubyte',
    testImages: 't10k-images-idx3-ubyte',
    testLabels: 't10k-labels-idx1-ubyte',
  },
  md5: {
    'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
    't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
    't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
  },
  baseUrls: [
    'https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/',
    'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/',
  ],
  subfolders: ['fashion-mnist', 'FashionMNIST/raw'],
  systemDir: '/usr/share/datasets/fashion-mnist',
  numClasses: 10,
};

export const SOURCES: Readonly<Record<DatasetId, DatasetSource>> = {
  cifar10: CIFAR10,
  cifar100: CIFAR100,
  'fashion-mnist': FASHION_MNIST,
};

/** The four IDX names in a fixed order (train images, train labels, test images, test labels). */
export function idxFileList(files: IdxFiles): string[] {
  return [files.trainImages, files.trainLabels, files.testImages, files.testLabels];
}

/** A mirror replacing the official URLs and, optionally, checksums (tests, private mirrors). */
export interface RemoteOverride {
  /** Base URL the file names are appended to (a trailing slash is added when missing). */
  baseUrl: string;
  /** MD5 by file name (`cifar-10-binary.tar.gz`, `train-images-idx3-ubyte.gz`, ...). */
  md5?: Readonly<Record<string, string>>;
}

export function downloadUrls(source: DatasetSource, file: string, remote?: RemoteOverride): string[] {
  if (remote) return [remote.baseUrl.replace(/\/?$/, '/') + file];
  return source.baseUrls.map((b) => b + file);
}

export function expectedMd5(source: DatasetSource, file: string, remote?: RemoteOverride): string | undefined {
  const override = remote?.md5?.[file];
  if (override) return override.toLowerCase();
  if (source.format === 'cifar') return file === source.archive ? source.archiveMd5 : undefined;
  return source.md5[file];
}
