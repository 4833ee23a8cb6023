/**
 * Several entrants measured on the same blocks ((benchmark, seed) cells: same seed, same
 * initialisation and data order): the randomized complete block design. Its additive model,
 * score = entrant effect + cell effect + noise, gives one residual variance estimated from every
 * entrant at once, with (k - 1)(n - 1) degrees of freedom for k entrants on n cells, where a
 * single paired comparison of two entrants has only n - 1. Comparisons of two entrants then use
 * that pooled variance (Fisher's LSD / Dunnett-style contrasts): far more power with two or three
 * seeds, under the design's assumption that the noise has one variance for every entrant.
 */
import { tCdf, tQuantile } from './student-t';
import { ROUNDING_SPREAD } from './paired';

export interface BlockResidual {
  /** Residual mean square of the additive model. */
  mse: number;
  /** Residual degrees of freedom, (k - 1)(n - 1). */
  df: number;
  /** The cells every entrant has (sorted); the only ones the model uses. */
  cells: string[];
  /** Entrants in the model (k). */
  entrants: number;
}

export interface BlockContrast {
  /** Cells compared (n). */
  n: number;
  /** mean(candidate - other) over the model's cells. */
  meanDiff: number;
  /** Standard error of meanDiff, sqrt(2 mse / n); 0 when the residual variance is rounding. */
  se: number;
  df: number;
  /** meanDiff / se; null when se is 0. */
  t: number | null;
  /** 95% t interval of meanDiff on the residual degrees of freedom; [d, d] when se is 0. */
  ci95: [number, number];
}

/** The residual variance of the additive model over the cells every entrant has; null with fewer than 2 entrants or 2 such cells. */
export function blockResidual(entrants: ReadonlyArray<ReadonlyMap<string, number>>): BlockResidual | null {
  const k = entrants.length;
  if (k < 2) return null;
  const cells = [...entrants[0].keys()].filter((c) => entrants.every((e) => e.has(c))).sort();
  const n = cells.length;
  if (n < 2) return null;
  const y = entrants.map((e) => cells.map((c) => e.get(c) as number));
  if (y.some((row) => row.some((v) => !Number.isFinite(v)))) throw new Error('block design: every score must be a finite number');
  const rowMean = y.map((row) => row.reduce((s, v) => s + v, 0) / n);
  const colMean = cells.map((_, j) => y.reduce((s, row) => s + row[j], 0) / k);
  const grand = rowMean.reduce((s, v) => s + v, 0) / k;
  let sse = 0;
  for (let i = 0; i < k; i++) for (let j = 0; j < n; j++) sse += (y[i][j] - rowMean[i] - colMean[j] + grand) ** 2;
  const df = (k - 1) * (n - 1);
  const scale = Math.max(1, ...y.flat().map(Math.abs));
  const mse = sse / df;
  return { mse: Math.sqrt(mse) <= ROUNDING_SPREAD * scale ? 0 : mse, df, cells, entrants: k };
}

/** candidate - other over the model's cells, with the pooled standard error; null when either lacks a model cell. */
export function blockContrast(other: ReadonlyMap<string, number>, candidate: ReadonlyMap<string, number>, model: BlockResidual): BlockContrast | null {
  if (model.cells.some((c) => !other.has(c) || !candidate.has(c))) return null;
  const n = model.cells.length;
  const meanDiff = model.cells.reduce((s, c) => s + (candidate.get(c) as number) - (other.get(c) as number), 0) / n;
  const se = Math.sqrt((2 * model.mse) / n);
  if (se === 0) return { n, meanDiff, se, df: model.df, t: null, ci95: [meanDiff, meanDiff] };
  const half = tQuantile(0.975, model.df) * se;
  return { n, meanDiff, se, df: model.df, t: meanDiff / se, ci95: [meanDiff - half, meanDiff + half] };
}

/** One-sided p of the contrast: 'less' tests candidate < other. Null without a t statistic. */
export function contrastOneSidedP(c: BlockContrast, direction: 'less' | 'greater'): number | null {
  if (c.t === null) return null;
  return direction === 'less' ? tCdf(c.t, c.df) : tCdf(-c.t, c.df);
}
