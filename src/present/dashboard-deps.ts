/**
 * What the dashboard host is given about held-out benchmarks and significance (DashboardDeps in
 * src/vscode/dashboard-panel.ts), computed from the run store's records:
 * - hiddenBenchmarks: the held-out benchmarks with at least one run not yet visible (no final
 *   evaluation of its source). The dashboard hides a whole benchmark, so one hidden run hides the
 *   benchmark for every variant: coarser than the lenses, but a hidden number never reaches it.
 * - significanceOf: a leaderboard cell's difference and p against the task's baseline group (same
 *   benchmark, budget, engine and recipe): the paired t-test's when both ran the same seeds
 *   ("paired, n=3 seeds"), Welch's otherwise ("unpaired: seeds differ"), Holm-adjusted over every
 *   variant compared with that baseline group on the benchmark; nothing for the baseline itself
 *   or without a test.
 * No `vscode` import.
 */
import { TASK_KINDS, type BenchId } from '../protocol/benchmarks';
import type { RunSummary, Significance } from '../protocol/webview';
import type { SignificanceOf } from './dashboard-model';
import { finalHashes, isVisible, visibleGroups } from '../analysis/held-out';
import type { RunRecord } from '../runs/run-record';
import { baselineGroupFor, groupRuns, type BaselineHashes, type RunGroup } from '../analysis/run-groups';
import { headlineTest, holmAdjust, seededOf, type HeadlineTest } from '../analysis/seed-comparison';

const HELD_OUT_BENCHES: ReadonlySet<BenchId> = new Set(Object.values(TASK_KINDS).map((k) => k.heldOut));

export function hiddenBenchmarks(records: readonly RunRecord[]): Set<BenchId> {
  const finals = finalHashes(records);
  return new Set(records.filter((r) => HELD_OUT_BENCHES.has(r.spec.bench) && !isVisible(r, finals)).map((r) => r.spec.bench));
}

/** The family of `base`: every visible non-baseline group whose baseline group it is, with its test. */
function family(base: RunGroup, groups: readonly RunGroup[], baselines: BaselineHashes): Array<{ group: RunGroup; test: HeadlineTest }> {
  return groups
    .filter((g) => g.bench === base.bench && g.values.length > 0 && !baselines.has(g.variantHash) && baselineGroupFor(g, groups, baselines) === base)
    .map((group) => ({ group, test: headlineTest(seededOf(base), seededOf(group)) }));
}

/** The significance of one visible group against its baseline group (Holm over the baseline's family), or undefined. */
export function groupSignificance(target: RunGroup, groups: readonly RunGroup[], baselines: BaselineHashes): Significance | undefined {
  if (baselines.has(target.variantHash) || !target.values.length) return undefined;
  const base = baselineGroupFor(target, groups, baselines);
  if (!base) return undefined;
  // Headline tests only: the bootstrap and the permutation tests are not shown on the leaderboard.
  const members = family(base, groups, baselines);
  const adjusted = holmAdjust(members.map((m) => m.test.p));
  const i = members.findIndex((m) => m.group === target);
  const test = members[i]?.test;
  const p = adjusted[i];
  if (!test || test.p === null || p === null || p === undefined) return undefined;
  const out: Significance = { p, diff: test.diff, test: test.method };
  const over = adjusted.filter((x) => x !== null).length;
  if (over > 1) Object.assign(out, { rawP: test.p, holmOver: over });
  return out;
}

/**
 * The dashboard's significance hook over the records `records()` returns at the time of asking;
 * the groups are computed once per records array (the leaderboard asks once per cell).
 */
export function significanceOf(records: () => readonly RunRecord[], baselines: () => BaselineHashes): SignificanceOf {
  let cached: { source: readonly RunRecord[]; groups: RunGroup[] } | undefined;
  const groupsOf = (all: readonly RunRecord[]) => {
    if (cached?.source !== all) cached = { source: all, groups: visibleGroups(groupRuns(all), all).filter((g) => g.values.length > 0) };
    return cached.groups;
  };
  return (cell: readonly RunSummary[], bench: BenchId) => {
    const ids = new Set(cell.map((s) => s.id));
    const groups = groupsOf(records());
    const target = groups.find((g) => g.bench === bench && g.runs.some((r) => ids.has(r.id)));
    return target ? groupSignificance(target, groups, baselines()) : undefined;
  };
}
