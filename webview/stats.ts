/** Seed statistics for the runs table: runs of one variant on one benchmark and budget form a group. */
import type { RunSummary } from '../src/protocol/webview';

export function mean(xs: readonly number[]): number {
  return xs.reduce((s, x) => s + x, 0) / xs.length;
}

/** Sample standard deviation (n - 1): the seeds are a sample of the variant's outcomes. */
export function sampleStd(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

/**
 * Seeds of one variant: same source (hash), benchmark and budget. A smoke run and a full run
 * measure different things, and an edited file is a different variant (as in the code lenses).
 */
export function groupKey(r: RunSummary): string {
  return `${r.variantName}\u0000${r.variantHash}\u0000${r.bench}\u0000${r.budget}`;
}

export interface RunGroup {
  key: string;
  runs: RunSummary[];
  /** Best test accuracies of the runs that have one. */
  accs: number[];
}

/** Groups in order of their newest run (newest first); runs within a group by seed, then creation. */
export function groupRuns(runs: Iterable<RunSummary>): RunGroup[] {
  const byKey = new Map<string, RunSummary[]>();
  for (const r of runs) {
    const k = groupKey(r);
    const list = byKey.get(k);
    if (list) list.push(r);
    else byKey.set(k, [r]);
  }
  const newest = (list: RunSummary[]) => list.reduce((m, r) => (r.createdAt > m ? r.createdAt : m), '');
  return [...byKey.entries()]
    .map(([key, list]) => ({
      key,
      runs: [...list].sort((x, y) => x.seed - y.seed || x.createdAt.localeCompare(y.createdAt)),
      accs: list.filter((r) => r.bestTestAcc !== null).map((r) => r.bestTestAcc as number),
    }))
    .sort((x, y) => newest(y.runs).localeCompare(newest(x.runs)) || x.key.localeCompare(y.key));
}
