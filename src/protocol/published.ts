/**
 * Published figures of the benchmarks (../shared/PROTOCOL.md, "Published figures"): best test
 * accuracy %, full protocol (200 epochs), measured elsewhere, never here. Results tables show them
 * as external rows; they take no part in the best-per-column mark or the significance tests.
 */
import type { BenchId, TaskKind } from './benchmarks';

/** A single figure, or a range over the benchmark's runs ("71.36 to 72.65"). */
export type PublishedValue = number | [number, number];

export interface PublishedRow {
  name: string;
  /** The task kinds whose tables show the row. */
  kinds: readonly TaskKind[];
  values: Partial<Record<BenchId, PublishedValue>>;
  /** Where the figure comes from, and anything that differs from the recipe here. */
  source: string;
  note?: string;
}

const BENCH_SOURCE = 'published benchmark baselines';

export const PUBLISHED: readonly PublishedRow[] = [
  {
    name: 'confidence penalty',
    kinds: ['regularizer'],
    values: { 'resnet56-cifar100': 72.66, 'vgg16bn-cifar100': 74.31, 'mobilenetv2-fmnist': 94.9 },
    source: BENCH_SOURCE,
  },
  {
    name: 'DropBlock-style co-activation penalty',
    kinds: ['regularizer'],
    values: { 'resnet56-cifar100': [71.36, 72.65], 'vgg16bn-cifar100': [72.74, 73.91], 'mobilenetv2-fmnist': [91.84, 94.69] },
    source: BENCH_SOURCE,
    note: 'some VGG-16-BN runs diverged',
  },
  {
    name: 'orthogonal regularization',
    kinds: ['regularizer'],
    values: { 'resnet56-cifar100': 73.16, 'vgg16bn-cifar100': 74.03, 'mobilenetv2-fmnist': 94.85 },
    source: BENCH_SOURCE,
  },
  {
    name: 'best submitted design (about)',
    kinds: ['regularizer'],
    values: { 'resnet56-cifar100': 75.3, 'vgg16bn-cifar100': 76.5, 'mobilenetv2-fmnist': 95.5 },
    source: BENCH_SOURCE,
  },
  {
    name: 'BatchInstanceNorm',
    kinds: ['norm'],
    values: { 'resnet56-cifar100': 66.06, 'resnet110-cifar100': 68.65, 'mobilenetv2-fmnist': 93.64 },
    source: BENCH_SOURCE,
  },
  { name: 'GroupNorm', kinds: ['norm'], values: { 'resnet56-cifar100': 67.9, 'resnet110-cifar100': 70.43, 'mobilenetv2-fmnist': 93.16 }, source: BENCH_SOURCE },
  {
    name: 'SwitchableNorm',
    kinds: ['norm'],
    values: { 'resnet56-cifar100': 68.95, 'resnet110-cifar100': 70.58, 'mobilenetv2-fmnist': 94.1 },
    source: BENCH_SOURCE,
  },
  {
    name: 'best submitted design (about)',
    kinds: ['norm'],
    values: { 'resnet56-cifar100': 72.7, 'resnet110-cifar100': 74.9, 'mobilenetv2-fmnist': 94.7 },
    source: BENCH_SOURCE,
  },
  {
    name: 'plain BatchNorm (public reference)',
    kinds: ['regularizer', 'norm'],
    values: { 'resnet56-cifar100': 72.63, 'vgg16bn-cifar100': 74.0, 'resnet20-cifar10': 92.6 },
    source: 'chenyaofo/pytorch-cifar-models',
    note: 'batch 256',
  },
  {
    name: 'plain BatchNorm, ResNet-110 (public reference)',
    kinds: ['regularizer', 'norm'],
    values: { 'resnet110-cifar100': 71.14 },
    source: 'bearpaw/pytorch-classification',
    note: 'step learning-rate schedule',
  },
];

/** "72.66" or "71.36-72.65". */
export function formatPublished(v: PublishedValue): string {
  return typeof v === 'number' ? v.toFixed(2) : `${v[0].toFixed(2)}-${v[1].toFixed(2)}`;
}
