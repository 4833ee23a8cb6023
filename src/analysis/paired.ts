/**
 * Paired comparison of two groups that share seeds (the same seed, or the same benchmark and seed,
 * on both sides): the differences d = candidate - baseline of the matched cells, their mean with
 * the Student-t 95% CI, the two-sided paired t p-value (one-sided on request), and the exact
 * sign-flip permutation p-value; plus Holm's step-down correction for one baseline against several
 * candidates. Degenerate cases (docs/statistics.md, "Paired comparison"):
 * - n = 1 matched pair: ci95 = [d, d] (no spread to estimate), tP and signFlipP null;
 * - n >= 2 with every difference equal (zero variance): ci95 = [d, d], tP null (t undefined; scipy
 *   says p = 0 or NaN there), signFlipP still exact (2 / 2^n when d != 0, 1 when d = 0). Equal
 *   up to rounding counts: 71.0 - 70.1 and 71.4 - 70.5 differ in the last bits, so a spread of
 *   the differences below 1e-12 of the largest value compared is taken as zero.
 */
import { mean, sampleVariance } from './descriptive';
import { seededRandom } from './statistics';
import { tCdf, tQuantile } from './student-t';

/** Up to this many pairs the sign-flip test enumerates all 2^n flips; beyond, a seeded Monte Carlo. */
export const SIGN_FLIP_EXACT_MAX_N = 16;
export const SIGN_FLIP_RESAMPLES = 65536;
export const SIGN_FLIP_SEED = 20261207;
/** A spread of the differences below this fraction of the compared values is rounding: zero variance. */
export const ROUNDING_SPREAD = 1e-12;

/** One observation per (benchmark, seed) cell; key = `${bench}/${seed}` or just `${seed}`. */
export interface PairedResult {
  /** Matched pairs. */
  n: number;
  /** mean(candidate - baseline) over the matched pairs. */
  meanDiff: number;
  /** Sample standard deviation of the differences (n - 1); 0 when n = 1. */
  sdDiff: number;
  /** 95% t interval of the mean difference, n - 1 degrees of freedom; [d, d] when n = 1 or zero variance. */
  ci95: [number, number];
  /** Paired t statistic (meanDiff / (sdDiff / sqrt n)); null when n < 2 or zero variance. */
  t: number | null;
  /** Degrees of freedom, n - 1. */
  df: number;
  /** Two-sided paired t p-value; null when t is. */
  tP: number | null;
  /** Two-sided sign-flip permutation p-value; null when n < 2. */
  signFlipP: number | null;
  /** True when signFlipP enumerated all 2^n flips (n <= 16); false: seeded Monte Carlo of 65,536 flips. */
  signFlipExact: boolean;
  /** Keys present on one side only (sorted); they take no part in the figures above. */
  unmatched: { baselineOnly: string[]; candidateOnly: string[] };
}

function checkFinite(values: ReadonlyMap<string, number>, what: string): void {
  for (const [k, v] of values) if (!Number.isFinite(v)) throw new Error(`${what}: the value of ${k} must be a finite number (got ${v})`);
}

/** Compare candidate with baseline over their shared keys; null when no key is shared. */
export function pairedCompare(baseline: ReadonlyMap<string, number>, candidate: ReadonlyMap<string, number>): PairedResult | null {
  checkFinite(baseline, 'paired baseline');
  checkFinite(candidate, 'paired candidate');
  const shared = [...baseline.keys()].filter((k) => candidate.has(k)).sort();
  const unmatched = {
    baselineOnly: [...baseline.keys()].filter((k) => !candidate.has(k)).sort(),
    candidateOnly: [...candidate.keys()].filter((k) => !baseline.has(k)).sort(),
  };
  if (!shared.length) return null;
  const d = shared.map((k) => (candidate.get(k) as number) - (baseline.get(k) as number));
  const n = d.length;
  const m = mean(d);
  const scale = Math.max(1, ...shared.map((k) => Math.max(Math.abs(baseline.get(k) as number), Math.abs(candidate.get(k) as number))));
  const spread = Math.sqrt(sampleVariance(d));
  const sd = spread <= ROUNDING_SPREAD * scale ? 0 : spread;
  const out: PairedResult = {
    n,
    meanDiff: m,
    sdDiff: sd,
    ci95: [m, m],
    t: null,
    df: n - 1,
    tP: null,
    signFlipP: null,
    signFlipExact: n <= SIGN_FLIP_EXACT_MAX_N,
    unmatched,
  };
  if (n < 2) return out;
  out.signFlipP = signFlipP(d);
  if (sd === 0) return out;
  const se = sd / Math.sqrt(n);
  const half = tQuantile(0.975, n - 1) * se;
  out.ci95 = [m - half, m + half];
  out.t = m / se;
  out.tP = Math.min(1, 2 * tCdf(-Math.abs(out.t), n - 1));
  return out;
}

/**
 * One-sided paired t p-value: 'less' tests mean(candidate - baseline) < 0 (the candidate is worse),
 * 'greater' tests > 0. Null when the result has no t statistic (n < 2 or zero variance).
 */
export function pairedOneSidedP(result: PairedResult, direction: 'less' | 'greater'): number | null {
  if (result.t === null) return null;
  return direction === 'less' ? tCdf(result.t, result.df) : tCdf(-result.t, result.df);
}

/**
 * Two-sided sign-flip test of the differences: the fraction of sign assignments whose |sum| is at
 * least the observed one (flips that reach it up to rounding count). All 2^n when n <= 16;
 * beyond, (hits + 1) / (65,536 + 1) over seeded random flips.
 */
export function signFlipP(d: readonly number[]): number {
  const n = d.length;
  const observed = Math.abs(d.reduce((s, x) => s + x, 0));
  const threshold = observed - 1e-9 * Math.max(1, observed);
  const reaches = (sign: (i: number) => boolean): boolean => {
    let s = 0;
    for (let i = 0; i < n; i++) s += sign(i) ? -d[i] : d[i];
    return Math.abs(s) >= threshold;
  };
  if (n <= SIGN_FLIP_EXACT_MAX_N) {
    const total = 2 ** n;
    let hits = 0;
    for (let mask = 0; mask < total; mask++) if (reaches((i) => ((mask >>> i) & 1) === 1)) hits++;
    return hits / total;
  }
  const random = seededRandom(SIGN_FLIP_SEED);
  let hits = 0;
  for (let r = 0; r < SIGN_FLIP_RESAMPLES; r++) if (reaches(() => random() < 0.5)) hits++;
  return (hits + 1) / (SIGN_FLIP_RESAMPLES + 1);
}

/**
 * Holm's step-down adjustment: sort ascending, multiply the k-th smallest (k from 0) by (m - k),
 * carry the running maximum so the adjusted values stay monotone, cap at 1; returned in the input's
 * order.
 */
export function holm(pValues: readonly number[]): number[] {
  for (const p of pValues) if (!(p >= 0 && p <= 1)) throw new Error(`holm: p-values must lie in [0, 1] (got ${p})`);
  const m = pValues.length;
  const order = pValues.map((p, i) => ({ p, i })).sort((x, y) => x.p - y.p || x.i - y.i);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach(({ p, i }, k) => {
    running = Math.max(running, Math.min(1, (m - k) * p));
    out[i] = running;
  });
  return out;
}
