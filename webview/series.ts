/**
 * Seed groups and their curves (pure, no DOM). A seed group is the runs of one variant source
 * (hash), budget and engine on one benchmark; the charts draw it as the mean over its seeds with
 * a ± sample std band, or as its seeds one by one.
 */
import type { EpochColumns, EpochMetric, RunSummary, StepLoss } from '../src/protocol/webview';

export type MetricKey = EpochMetric;

/** x = epoch (1-based); `s` = the sample std of the seeds at that epoch (mean curves only). */
export interface Point {
  x: number;
  y: number;
  s?: number;
}

export function seedGroupKey(r: Pick<RunSummary, 'variantHash' | 'budget' | 'engine' | 'bench'>): string {
  return `${r.variantHash}|${r.budget}|${r.engine}|${r.bench}`;
}

export interface SeedGroup {
  key: string;
  /** By seed, then creation. */
  runs: RunSummary[];
}

/** The seed groups of the runs given, in order of their oldest run (so colors stay put). */
export function seedGroups(runs: Iterable<RunSummary>): SeedGroup[] {
  const byKey = new Map<string, RunSummary[]>();
  for (const r of runs) {
    const k = seedGroupKey(r);
    const list = byKey.get(k);
    if (list) list.push(r);
    else byKey.set(k, [r]);
  }
  const oldest = (list: RunSummary[]) => list.reduce((m, r) => (r.createdAt < m ? r.createdAt : m), list[0].createdAt);
  return [...byKey.entries()]
    .map(([key, list]) => ({ key, runs: list.sort((x, y) => x.seed - y.seed || x.createdAt.localeCompare(y.createdAt)) }))
    .sort((x, y) => oldest(x.runs).localeCompare(oldest(y.runs)) || x.key.localeCompare(y.key));
}

/** Nulls (non-finite values) become NaN, which makes Chart.js break the line there. */
const valueAt = (cols: EpochColumns, key: MetricKey, i: number): number => cols[key][i] ?? NaN;

export function runCurve(cols: EpochColumns, key: MetricKey): Point[] {
  return cols.epoch.map((e, i) => ({ x: e + 1, y: valueAt(cols, key, i) }));
}

/**
 * A run's curve of `key`; the train loss also gets its within-epoch points (x = fractional epoch,
 * see src/present/step-loss.ts). Where an epoch point and a step point share an x (the epoch's
 * last step), the epoch's own value is kept.
 */
export function runCurveWithSteps(cols: EpochColumns, key: MetricKey, steps: StepLoss | undefined): Point[] {
  const epochs = runCurve(cols, key);
  if (key !== 'trainLoss' || !steps?.x.length) return epochs;
  const byX = new Map<number, number>();
  steps.x.forEach((x, i) => byX.set(x, steps.loss[i]));
  for (const p of epochs) byX.set(p.x, p.y);
  return [...byX.entries()].sort((a, b) => a[0] - b[0]).map(([x, y]) => ({ x, y }));
}

/** y of a curve (sorted by x, finite ys) at x by linear interpolation; undefined outside it. */
function interpolate(curve: readonly Point[], x: number): number | undefined {
  if (!curve.length || x < curve[0].x || x > curve[curve.length - 1].x) return undefined;
  const hi = curve.findIndex((p) => p.x >= x);
  const b = curve[hi];
  if (b.x === x) return b.y;
  const a = curve[hi - 1];
  return a.y + ((b.y - a.y) * (x - a.x)) / (b.x - a.x);
}

/** Most points a mean over seeds' step curves draws (the union of their x, evenly thinned). */
const MEAN_STEP_LIMIT = 400;

/**
 * Mean and sample std of curves with unaligned x (seeds' within-epoch points): at every x of any
 * curve, over the curves that reach it (each interpolated linearly between its own points).
 */
export function meanOfCurves(curves: readonly Point[][]): Point[] {
  const finite = curves.map((c) => c.filter((p) => Number.isFinite(p.y)));
  let xs = [...new Set(finite.flatMap((c) => c.map((p) => p.x)))].sort((a, b) => a - b);
  if (xs.length > MEAN_STEP_LIMIT) xs = Array.from({ length: MEAN_STEP_LIMIT }, (_, i) => xs[Math.round((i * (xs.length - 1)) / (MEAN_STEP_LIMIT - 1))]);
  return xs.map((x) => {
    const ys = finite.map((c) => interpolate(c, x)).filter((y): y is number => y !== undefined);
    const m = ys.reduce((s, y) => s + y, 0) / ys.length;
    const s = ys.length > 1 ? Math.sqrt(ys.reduce((acc, y) => acc + (y - m) ** 2, 0) / (ys.length - 1)) : 0;
    return { x, y: m, s };
  });
}

/**
 * Mean and sample std over the seeds at every epoch that at least one seed reached (a live seed
 * that is behind simply does not count at the later epochs). Std is 0 with one value.
 */
export function meanCurve(seeds: readonly EpochColumns[], key: MetricKey): Point[] {
  const last = Math.max(-1, ...seeds.map((c) => c.epoch[c.epoch.length - 1] ?? -1));
  const sum = new Float64Array(last + 1);
  const sumSq = new Float64Array(last + 1);
  const count = new Uint32Array(last + 1);
  for (const cols of seeds) {
    cols.epoch.forEach((e, i) => {
      const v = valueAt(cols, key, i);
      if (Number.isNaN(v)) return;
      sum[e] += v;
      sumSq[e] += v * v;
      count[e] += 1;
    });
  }
  const out: Point[] = [];
  for (let i = 0; i <= last; i++) {
    const n = count[i];
    if (!n) continue;
    const m = sum[i] / n;
    // max(0, …): rounding can make the variance of equal values slightly negative.
    const s = n > 1 ? Math.sqrt(Math.max(0, (sumSq[i] - n * m * m) / (n - 1))) : 0;
    out.push({ x: i + 1, y: m, s });
  }
  return out;
}
