/**
 * How the parity check measures the distance between the two engines' numbers. Relative measures
 * divide by the largest magnitude of the reference (PyTorch) tensor, not element by element: a
 * logit or a running variance near zero would otherwise turn float32 rounding into a large ratio.
 */

/** max |a - b| over the elements. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cannot compare ${a.length} values with ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    // A NaN is the answer: no comparison may let a later finite value replace it.
    if (Number.isNaN(d)) return d;
    if (d > worst) worst = d;
  }
  return worst;
}

/** max |a - b| / max |reference|; the absolute difference when the reference is all zeros. */
export function maxRelativeDiff(a: ArrayLike<number>, reference: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < reference.length; i++) scale = Math.max(scale, Math.abs(reference[i]));
  const d = maxAbsDiff(a, reference);
  return scale > 0 ? d / scale : d;
}

export interface WorstOf {
  error: number;
  /** The name of the tensor with the largest error ('' when there was none to compare). */
  worst: string;
}

/** The largest `measure` over named pairs, and which pair gave it. */
export function worstOf(
  pairs: Iterable<{ name: string; a: ArrayLike<number>; b: ArrayLike<number> }>,
  measure: (a: ArrayLike<number>, b: ArrayLike<number>) => number,
): WorstOf {
  let result: WorstOf = { error: 0, worst: '' };
  for (const { name, a, b } of pairs) {
    const e = measure(a, b);
    // The first NaN wins and stays: no later finite error may hide it.
    if (Number.isNaN(result.error)) break;
    if (result.worst === '' || Number.isNaN(e) || e > result.error) result = { error: e, worst: name };
  }
  return result;
}
