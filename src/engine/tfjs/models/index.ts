/**
 * The five benchmark architectures in TensorFlow.js (NHWC), and the extra models that are built by
 * name only (WRN-28-10). Names, layouts and initialization are documented in docs/architectures.md.
 */
import { BENCHMARKS } from '../../../protocol/benchmarks';
import type { ExtraModelId, Model, ModelArch, NormFactory } from '../types';
import { batchNorm2d } from './batchnorm';
import { MobileNetV2 } from './mobilenetv2';
import { LayerFactory, type Network, NetworkModel } from './network';
import { CifarResNet } from './resnet';
import { Vgg16Bn } from './vgg';
import { WideResNet, type WideResNetShape } from './wide-resnet';

export { BatchNorm2d, batchNorm2d } from './batchnorm';

export interface BuildOptions {
  /** Builds every normalization slot; default BatchNorm2d (a variant's CustomNorm replaces it). */
  normFactory?: NormFactory;
  /** Seeds the weight initialization and the dropout masks; default 0. */
  seed?: number;
}

const RESNET_BLOCKS: Record<'resnet20' | 'resnet56' | 'resnet110', number> = { resnet20: 3, resnet56: 9, resnet110: 18 };
/** The Wide ResNets by id (models.py WIDE_RESNETS holds the same). */
const WIDE_RESNETS: Record<ExtraModelId, WideResNetShape> = { 'wrn28-10': { depth: 28, widen: 10 } };

/** Every id buildModel accepts: the benchmarks' architectures, then the extra models. */
export const MODEL_IDS: readonly ModelArch[] = [...new Set(BENCHMARKS.map((b) => b.arch)), ...(Object.keys(WIDE_RESNETS) as ExtraModelId[])];

export function isModelArch(s: string): s is ModelArch {
  return (MODEL_IDS as readonly string[]).includes(s);
}

export function buildModel(arch: ModelArch, numClasses: number, options: BuildOptions = {}): Model {
  const seed = options.seed ?? 0;
  const factory = new LayerFactory(seed, options.normFactory ?? batchNorm2d);
  // Dropout draws from its own stream so that the initial weights do not depend on it.
  const dropoutSeed = seed + 0x51ed;
  let network: Network;
  switch (arch) {
    case 'resnet20':
    case 'resnet56':
    case 'resnet110':
      network = new CifarResNet(factory, RESNET_BLOCKS[arch], numClasses);
      break;
    case 'vgg16bn':
      network = new Vgg16Bn(factory, numClasses, dropoutSeed);
      break;
    case 'mobilenetv2':
      network = new MobileNetV2(factory, numClasses, dropoutSeed);
      break;
    case 'wrn28-10':
      network = new WideResNet(factory, WIDE_RESNETS[arch], numClasses, dropoutSeed);
      break;
    default: {
      const unknown: never = arch;
      throw new Error(`unknown architecture '${String(unknown)}' (expected one of ${MODEL_IDS.join(', ')})`);
    }
  }
  return new NetworkModel(arch, numClasses, network, factory);
}
