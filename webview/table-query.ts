/** Filtering and sorting of the runs table (pure, no DOM). */
import type { RunSummary } from '../src/protocol/webview';
import { runLabel } from '../src/present/run-label';
import type { SortKey, TableFilters } from './view-state';

export function matches(r: RunSummary, f: TableFilters): boolean {
  if (f.status && r.status !== f.status) return false;
  if (f.bench && r.bench !== f.bench) return false;
  if (f.variant && r.variantName !== f.variant) return false;
  if (f.engine && r.engine !== f.engine) return false;
  if (f.budget && r.budget !== f.budget) return false;
  const text = f.text.trim().toLowerCase();
  if (!text) return true;
  return [runLabel(r), r.name, r.id, r.variantHash, r.backend ?? ''].some((s) => s.toLowerCase().includes(text));
}

type Value = string | number | null;

const SORT_VALUE: Record<SortKey, (r: RunSummary) => Value> = {
  created: (r) => r.createdAt,
  status: (r) => r.status,
  label: (r) => runLabel(r),
  bench: (r) => r.bench,
  seed: (r) => r.seed,
  best: (r) => r.bestTestAcc,
  final: (r) => r.finalTestAcc,
  epoch: (r) => r.epochsCompleted,
  time: (r) => r.epochSeconds,
  backend: (r) => `${r.engine} ${r.backend ?? ''}`,
};

/** Code-unit order: ISO dates and ids sort right, and it is many times cheaper than localeCompare. */
const byCode = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Nulls (no accuracy yet) last in either direction. */
function compare(a: Value, b: Value, desc: boolean): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
  const c = typeof a === 'number' && typeof b === 'number' ? a - b : byCode(String(a), String(b));
  return desc ? -c : c;
}

/** The runs that pass the filters, sorted; ties by creation time (newest first), then id. */
export function queryRuns(runs: Iterable<RunSummary>, f: TableFilters, sort: { key: SortKey; desc: boolean }): RunSummary[] {
  const value = SORT_VALUE[sort.key];
  return [...runs]
    .filter((r) => matches(r, f))
    .map((r) => ({ r, v: value(r) }))
    .sort((x, y) => compare(x.v, y.v, sort.desc) || byCode(y.r.createdAt, x.r.createdAt) || byCode(x.r.id, y.r.id))
    .map((x) => x.r);
}

/** The distinct values of one field, for a filter's choices. */
export function choices(runs: Iterable<RunSummary>, field: (r: RunSummary) => string): string[] {
  return [...new Set([...runs].map(field))].sort();
}
