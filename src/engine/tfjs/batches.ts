/**
 * The training loop's view of a dataset: loads it (see src/engine/data for the lookup order),
 * takes the budget's fixed subsets and serves augmented training batches and plain test batches.
 * REGBENCH_OFFLINE=1 turns downloads off (missing data then fails at once with where to put it).
 */
import type { RunSpec } from '../../protocol/benchmarks';
import { BatchIterator, loadDataset, selectSubset } from '../data';
import type { BatchSource } from './train';

/**
 * `evalBatch`: test images per forward pass. Every activation of a forward pass lives until the
 * pass ends, so it is no larger than what training fits in memory (see microBatchFor).
 */
export async function createBatchSource(spec: RunSpec, log: (message: string) => void, evalBatch: number): Promise<BatchSource> {
  const data = await loadDataset(spec.dataset, {
    dataDir: spec.dataDir,
    allowDownload: process.env.REGBENCH_OFFLINE !== '1',
    log,
  });
  log(`data: ${data.source}`);
  const trainIdx = selectSubset(data.train.n, spec.trainSubset);
  const testIdx = selectSubset(data.test.n, spec.testSubset);
  const train = new BatchIterator(data.train, { dataset: spec.dataset, batchSize: spec.recipe.batchSize, indices: trainIdx, train: true, seed: spec.seed });
  const test = new BatchIterator(data.test, { dataset: spec.dataset, batchSize: evalBatch, indices: testIdx, train: false });
  return {
    trainImages: train.numImages,
    testImages: test.numImages,
    *trainBatches(epoch: number, fromStep = 0) {
      // The epoch's order and augmentation are drawn whole from seed and epoch, so a resumed
      // epoch serves its remaining batches without drawing the skipped ones again.
      train.prepareEpoch(epoch);
      for (let k = fromStep; k < train.numBatches; k++) {
        const b = train.batch(k);
        yield { images: b.x, labels: b.y, size: b.size };
      }
    },
    *testBatches() {
      for (const b of test.epoch()) yield { images: b.x, labels: b.y, size: b.size };
    },
  };
}
