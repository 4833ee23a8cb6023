/**
 * The fixed image subsets of the smaller budgets. The subset depends only on the split size and
 * the subset size, never on the run seed: every seed and every variant trains and tests on the
 * same images, so their accuracies compare. It is the first `size` entries of the seed-0
 * permutation (random.ts), sorted ascending. Not class-balanced: a random 10k of CIFAR-100 holds
 * about 100 +- 10 images per class, which is close enough for ranking variants.
 * Because all sizes cut the same permutation, a smaller subset is contained in a larger one.
 */
import { PROTOCOL } from '../../protocol/benchmarks';
import { permutation } from './random';

export const SUBSET_SEED: number = PROTOCOL.subsetSeed;

/** Indices into a split of `n` images; `size` null (or >= n) selects every image, in order. */
export function selectSubset(n: number, size: number | null): Int32Array {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`split size must be a non-negative integer, got ${n}`);
  if (size === null || size >= n) {
    const all = new Int32Array(n);
    for (let i = 0; i < n; i++) all[i] = i;
    return all;
  }
  if (!Number.isInteger(size) || size < 0) throw new RangeError(`subset size must be a non-negative integer, got ${size}`);
  return permutation(n, SUBSET_SEED).slice(0, size).sort();
}
