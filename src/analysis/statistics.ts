/**
 * Seed statistics of run groups and the comparison of two groups (A: the baseline or reference,
 * B: the candidate): mean, sample std and the Student-t 95% CI of a group; the difference of means
 * B - A with its Welch 95% CI and the Welch two-sided p-value; an exact permutation test when both
 * groups have at most 10 runs; and the probability of improvement P(B > A) with a seeded bootstrap
 * 95% CI. The t distribution comes from @stdlib (docs/statistics.md says why); nothing here reads
 * the store, so the extension, the CLI and the webview can share it.
 */
import { mean, sampleVariance } from './descriptive';
import { tCdf, tQuantile } from './student-t';

export const NO_TEST_N1 = 'no test possible with n=1';
/** The permutation test enumerates every split, so it is limited to small groups. */
export const PERMUTATION_MAX_N = 10;
export const BOOTSTRAP_RESAMPLES = 10000;
export const BOOTSTRAP_SEED = 20261202;

export type Interval = [number, number];

export interface GroupStats {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1); 0 when n = 1. */
  std: number;
  /** 95% CI of the mean (Student t, n - 1 degrees of freedom); null when n = 1. */
  ci95: Interval | null;
}

export interface WelchResult {
  t: number;
  df: number;
  /** Two-sided p-value; null when both groups have zero variance (t undefined). */
  p: number | null;
}

export interface Comparison {
  a: GroupStats;
  b: GroupStats;
  /** mean(B) - mean(A). */
  diff: number;
  /** Welch 95% CI of the difference; null when a group has n = 1 or both have zero variance. */
  diffCi95: Interval | null;
  welch: WelchResult | null;
  /** Exact two-sided permutation p-value (|mean difference|); null unless 2 <= n <= 10 for both. */
  permutationP: number | null;
  /** P(B > A) over all pairs (ties count half). */
  pImprovement: number;
  pImprovementCi95: Interval | null;
  /** Why there is no p-value, e.g. NO_TEST_N1. */
  note?: string;
}

export { mean, sampleVariance };

function checkValues(xs: readonly number[], what: string): void {
  if (!xs.length) throw new Error(`${what}: no values (a group needs at least one completed run)`);
  if (xs.some((x) => !Number.isFinite(x))) throw new Error(`${what}: values must be finite numbers`);
}

export function describe(xs: readonly number[]): GroupStats {
  checkValues(xs, 'describe');
  const n = xs.length;
  const m = mean(xs);
  const std = Math.sqrt(sampleVariance(xs));
  if (n < 2) return { n, mean: m, std: 0, ci95: null };
  const half = tQuantile(0.975, n - 1) * (std / Math.sqrt(n));
  return { n, mean: m, std, ci95: [m - half, m + half] };
}

/** Welch's t-test of B against A (statistic of mean(B) - mean(A)) and the 95% CI of the difference. */
export function welch(a: readonly number[], b: readonly number[]): { result: WelchResult; ci95: Interval } | null {
  if (a.length < 2 || b.length < 2) return null;
  const va = sampleVariance(a) / a.length;
  const vb = sampleVariance(b) / b.length;
  const se = Math.sqrt(va + vb);
  if (se === 0) return null;
  const df = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const diff = mean(b) - mean(a);
  const t = diff / se;
  const p = Math.min(1, 2 * tCdf(-Math.abs(t), df));
  const half = tQuantile(0.975, df) * se;
  return { result: { t, df, p }, ci95: [diff - half, diff + half] };
}

/**
 * Exact two-sided permutation test on the difference of means: the fraction of all
 * C(na + nb, na) re-labellings whose |mean difference| is at least the observed one.
 */
export function permutationTest(a: readonly number[], b: readonly number[]): number {
  const all = [...a, ...b];
  const total = all.reduce((s, x) => s + x, 0);
  const na = a.length;
  const nb = b.length;
  const observed = Math.abs(mean(b) - mean(a));
  // Re-labellings that reach the observed difference up to rounding count as reaching it.
  const threshold = observed - 1e-9 * Math.max(1, observed);
  let hits = 0;
  let count = 0;
  const visit = (start: number, left: number, sumA: number): void => {
    if (left === 0) {
      count++;
      if (Math.abs((total - sumA) / nb - sumA / na) >= threshold) hits++;
      return;
    }
    for (let i = start; i <= all.length - left; i++) visit(i + 1, left - 1, sumA + all[i]);
  };
  visit(0, na, 0);
  return hits / count;
}

/** P(B > A): the fraction of pairs (a, b) with b > a, ties counting half. */
export function probabilityOfImprovement(a: readonly number[], b: readonly number[]): number {
  let wins = 0;
  for (const x of a) for (const y of b) wins += y > x ? 1 : y === x ? 0.5 : 0;
  return wins / (a.length * b.length);
}

/** A small seeded generator (mulberry32): the same seed gives the same bootstrap, everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
}

/** Percentile bootstrap 95% CI of P(B > A), resampling each group independently. */
export function bootstrapImprovementCi(a: readonly number[], b: readonly number[], resamples = BOOTSTRAP_RESAMPLES, seed = BOOTSTRAP_SEED): Interval {
  const random = seededRandom(seed);
  const draw = (xs: readonly number[]) => xs.map(() => xs[Math.floor(random() * xs.length)]);
  const stats: number[] = [];
  for (let i = 0; i < resamples; i++) stats.push(probabilityOfImprovement(draw(a), draw(b)));
  stats.sort((x, y) => x - y);
  return [quantileSorted(stats, 0.025), quantileSorted(stats, 0.975)];
}

/** Linear interpolation between order statistics (numpy's default). */
function quantileSorted(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Everything `regbench compare`, the lens and the tables say about B against A. */
export function compareGroups(a: readonly number[], b: readonly number[]): Comparison {
  checkValues(a, 'baseline group');
  checkValues(b, 'compared group');
  const w = welch(a, b);
  const small = a.length <= PERMUTATION_MAX_N && b.length <= PERMUTATION_MAX_N;
  const testable = a.length >= 2 && b.length >= 2;
  const out: Comparison = {
    a: describe(a),
    b: describe(b),
    diff: mean(b) - mean(a),
    diffCi95: w ? w.ci95 : null,
    welch: w ? w.result : null,
    permutationP: testable && small ? permutationTest(a, b) : null,
    pImprovement: probabilityOfImprovement(a, b),
    pImprovementCi95: testable ? bootstrapImprovementCi(a, b) : null,
  };
  if (!testable) out.note = NO_TEST_N1;
  else if (!w) out.note = 'no t-test possible: both groups have zero variance';
  return out;
}

/** "p=0.02", "p=0.31", "p<0.001". */
export function formatP(p: number): string {
  if (p < 0.001) return 'p<0.001';
  if (p < 0.01) return `p=${p.toFixed(3)}`;
  return `p=${p.toFixed(2)}`;
}

/** "+0.8" / "-1.2" (accuracy points, one decimal). */
export function formatDiff(d: number): string {
  const r = d.toFixed(1);
  return d >= 0 && !r.startsWith('-') ? `+${r}` : r === '-0.0' ? '+0.0' : r;
}
