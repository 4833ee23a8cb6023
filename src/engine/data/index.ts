/** The data layer of the TensorFlow.js engine: datasets on disk, subsets, and training batches. */
export { BatchIterator, epochSeed, type Batch, type BatchIteratorOptions } from './batches';
export { SOURCES, type RemoteOverride } from './catalog';
export { DataError, type DataErrorReason } from './errors';
export { loadDataset, type LoadOptions } from './load';
export { defaultCacheDir } from './locations';
export { normalizationLut } from './normalize';
export { mix32, permutation, Rng } from './random';
export { selectSubset } from './subset';
export { syntheticSplit, writeSyntheticDataset, type SyntheticOptions } from './synthetic';
export type { DataSplit, LoadedDataset } from './types';
export { defaultTensorDir, prepareTensorFiles, type PrepareOptions } from './tensor-files';
