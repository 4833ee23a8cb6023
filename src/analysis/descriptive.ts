/**
 * Mean and sample spread of a few numbers (the seeds of a group). Dependency-free, so the
 * dashboard page, the dashboard model and the statistics share one definition.
 */
export function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Sample variance (n - 1): the seeds are a sample of the variant's outcomes; 0 below two values. */
export function sampleVariance(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1);
}

export function sampleStd(xs: readonly number[]): number {
  return Math.sqrt(sampleVariance(xs));
}
