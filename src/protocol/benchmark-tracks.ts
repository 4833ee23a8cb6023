/**
 * Which benchmarks judge which kind of variant (PROTOCOL.md, "used by"): a regularizer is judged
 * on ResNet-56/CIFAR-100, VGG-16-BN/CIFAR-100 and MobileNetV2/FashionMNIST; a normalization layer
 * on ResNet-56/CIFAR-100, ResNet-110/CIFAR-100 and MobileNetV2/FashionMNIST. ResNet-20/CIFAR-10
 * belongs to neither track: it is the quick check. No `vscode` import.
 */
import { BENCHMARKS, type BenchId } from './benchmarks';

const REGULARIZER_TRACK: readonly BenchId[] = ['resnet56-cifar100', 'vgg16bn-cifar100', 'mobilenetv2-fmnist'];
const NORM_TRACK: readonly BenchId[] = ['resnet56-cifar100', 'resnet110-cifar100', 'mobilenetv2-fmnist'];

export interface VariantKind {
  regularizer: boolean;
  norm: boolean;
}

/** The track benchmarks of a variant, in BENCHMARKS order (both tracks when it defines both). */
export function trackBenchmarks(kind: VariantKind): BenchId[] {
  const wanted = new Set<BenchId>([...(kind.regularizer ? REGULARIZER_TRACK : []), ...(kind.norm ? NORM_TRACK : [])]);
  return BENCHMARKS.map((b) => b.id).filter((id) => wanted.has(id));
}
