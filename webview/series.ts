/**
 * Seed groups and their curves (pure, no DOM). A seed group is the runs of one variant source
 * (hash), budget and engine on one benchmark; the charts draw it as the mean over its seeds with
 * a ± sample std band, or as its seeds one by one.
 */
import type { EpochColumns, EpochMetric, RunSummary } from '../src/protocol/webview';

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
