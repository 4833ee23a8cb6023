/**
 * One benchmark's statistics as a line of text, for the code lens and its hover:
 *   "ResNet-56 72.9 ± 0.3 (n=3), +0.8 vs baseline, p=0.02 (paired, n=3 seeds)"
 *   "ResNet-56 72.9 ± 0.3 (n=3), +0.8 vs baseline, p=0.04 (unpaired: seeds differ)"
 *   "ResNet-56 72.9 (n=1), +0.8 vs baseline, no test possible with n=1"
 * The p-value is the paired t-test's when both groups ran the same seeds, else Welch's (the
 * permutation and sign-flip tests cannot go below 0.1 / 0.25 with three seeds).
 */
import { getBenchmark, type BenchId } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import { visibleGroups } from '../analysis/held-out';
import { baselineGroupFor, groupRuns, type BaselineHashes, type RunGroup } from '../analysis/run-groups';
import { compareSeeded, seededOf, type SeededValues } from '../analysis/seed-comparison';
import { describe, formatDiff, formatP, NO_TEST_N1 } from '../analysis/statistics';

/** "72.9 ± 0.3 (n=3)" or "72.9 (n=1)". */
export function meanStdText(values: readonly number[]): string {
  const s = describe(values);
  return s.n === 1 ? `${s.mean.toFixed(1)} (n=1)` : `${s.mean.toFixed(1)} ± ${s.std.toFixed(1)} (n=${s.n})`;
}

/**
 * `label` names the benchmark ("ResNet-56"); `group` holds the variant's best test accuracies with
 * their seeds; `baseline` the baseline group's (omitted or empty: no comparison is shown).
 */
export function significanceText(label: string, group: SeededValues, baseline?: SeededValues, baselineName = 'baseline'): string {
  const head = `${label} ${meanStdText(group.values)}`;
  if (!baseline || !baseline.values.length) return head;
  const c = compareSeeded(baseline, group);
  if (c.note === NO_TEST_N1) return `${head}, ${formatDiff(c.diff)} vs ${baselineName}, ${NO_TEST_N1}`;
  const test = c.p !== null ? formatP(c.p) : (c.note ?? NO_TEST_N1);
  return `${head}, ${formatDiff(c.diff)} vs ${baselineName}, ${test} (${c.method})`;
}

/**
 * The significance text of one variant source on one benchmark, from the run store's records:
 * the group (visible runs only: a held-out benchmark shows nothing before a final evaluation)
 * whose latest completed run is the newest, against the task's baseline group with the same
 * budget, engine and recipe when there is one. Undefined when the source has no completed run
 * there. `label` defaults to the benchmark's short title.
 */
export function groupSignificanceText(
  records: readonly RunRecord[],
  variantHash: string,
  bench: BenchId,
  baselines: BaselineHashes,
  label = getBenchmark(bench).short,
): string | undefined {
  const groups = visibleGroups(groupRuns(records), records).filter((g) => g.values.length > 0);
  const newest = (g: RunGroup) => g.runs.reduce((m, r) => (r.createdAt > m ? r.createdAt : m), '');
  const mine = groups.filter((g) => g.variantHash === variantHash && g.bench === bench).sort((a, b) => newest(b).localeCompare(newest(a)));
  if (!mine.length) return undefined;
  const baseline = baselineGroupFor(mine[0], groups, baselines);
  return significanceText(label, seededOf(mine[0]), baseline ? seededOf(baseline) : undefined);
}
