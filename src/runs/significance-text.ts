/**
 * One benchmark's statistics as a line of text, for the code lens and its hover:
 *   "ResNet-56 72.9 ± 0.3 (n=3), +0.8 vs baseline, p=0.02"
 *   "ResNet-56 72.9 (n=1), +0.8 vs baseline, no test possible with n=1"
 * The p-value is Welch's (the permutation test cannot go below 0.1 with three seeds each).
 */
import { compareGroups, describe, formatDiff, formatP, NO_TEST_N1 } from './statistics';

/** "72.9 ± 0.3 (n=3)" or "72.9 (n=1)". */
export function meanStdText(values: readonly number[]): string {
  const s = describe(values);
  return s.n === 1 ? `${s.mean.toFixed(1)} (n=1)` : `${s.mean.toFixed(1)} ± ${s.std.toFixed(1)} (n=${s.n})`;
}

/**
 * `label` names the benchmark ("ResNet-56"); `values` are the variant's best test accuracies (one
 * per seed); `baseline` the baseline group's (omitted or empty: no comparison is shown).
 */
export function significanceText(label: string, values: readonly number[], baseline?: readonly number[], baselineName = 'baseline'): string {
  const head = `${label} ${meanStdText(values)}`;
  if (!baseline || !baseline.length) return head;
  const c = compareGroups(baseline, values);
  const test = c.welch?.p != null ? formatP(c.welch.p) : (c.note ?? NO_TEST_N1);
  return `${head}, ${formatDiff(c.diff)} vs ${baselineName}, ${test}`;
}
