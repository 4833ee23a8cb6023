/**
 * The accuracy lens's tooltip: the full statistics of the variant's latest source on each
 * benchmark it has completed runs on (held-out benchmarks only after a final evaluation), against
 * the task's baseline group with the same budget, engine and recipe:
 *   ResNet-56/C100 [quick]: 72.9 ± 0.3 (n=3), 95% CI [72.2, 73.6]
 *     vs baseline 72.1 ± 0.4 (n=3): +0.8 [+0.1, +1.5], Welch p=0.02, permutation p=0.10,
 *     P(B>A) 0.89 [0.56, 1.00]
 * No `vscode` import.
 */
import { getBenchmark, type BenchId } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import { visibleGroups } from '../analysis/held-out';
import { latestVariantRuns } from './lens-text';
import { baselineGroupFor, groupRuns, type BaselineHashes, type RunGroup } from '../analysis/run-groups';
import { meanStdText } from './significance-text';
import { compareGroups, describe, formatDiff, formatP, type Interval } from '../analysis/statistics';

export const LENS_TOOLTIP_HEAD = 'Best test accuracy of the latest version of this variant per benchmark (mean ± std over seeds); click to open the dashboard.';

function interval(ci: Interval | null, fmt: (x: number) => string): string {
  return ci ? `[${fmt(ci[0])}, ${fmt(ci[1])}]` : '';
}

const one = (x: number) => x.toFixed(1);
const two = (x: number) => x.toFixed(2);

/** The group line: "72.9 ± 0.3 (n=3), 95% CI [72.2, 73.6]". */
export function groupLine(values: readonly number[]): string {
  const ci = describe(values).ci95;
  return ci ? `${meanStdText(values)}, 95% CI ${interval(ci, one)}` : meanStdText(values);
}

/** The comparison line against the baseline's values (B = the variant, A = the baseline). */
export function comparisonLine(baseline: readonly number[], values: readonly number[]): string {
  const c = compareGroups(baseline, values);
  const parts = [`${formatDiff(c.diff)}${c.diffCi95 ? ` ${interval(c.diffCi95, formatDiff)}` : ''}`];
  if (c.welch?.p != null) parts.push(`Welch ${formatP(c.welch.p)}`);
  if (c.permutationP !== null) parts.push(`permutation ${formatP(c.permutationP)}`);
  parts.push(`P(B>A) ${two(c.pImprovement)}${c.pImprovementCi95 ? ` ${interval(c.pImprovementCi95, two)}` : ''}`);
  if (c.note) parts.push(c.note);
  return `vs baseline ${meanStdText(baseline)}: ${parts.join(', ')}`;
}

function newest(g: RunGroup): string {
  return g.runs.reduce((m, r) => (r.createdAt > m ? r.createdAt : m), '');
}

/** The statistics of one benchmark, or undefined when the source has no completed visible group there. */
function benchLines(groups: readonly RunGroup[], hash: string, bench: BenchId, baselines: BaselineHashes): string[] | undefined {
  const mine = groups.filter((g) => g.variantHash === hash && g.bench === bench).sort((a, b) => newest(b).localeCompare(newest(a)));
  if (!mine.length) return undefined;
  const g = mine[0];
  const budget = g.budget === 'full' ? '' : ` [${g.budget}]`;
  const lines = [`${getBenchmark(bench).short}${budget}: ${groupLine(g.values)}`];
  if (baselines.has(g.variantHash)) lines.push('  (this is the baseline)');
  else {
    const base = baselineGroupFor(g, groups, baselines);
    lines.push(base ? `  ${comparisonLine(base.values, g.values)}` : '  no baseline runs with the same budget, engine and recipe');
  }
  return lines;
}

/** The whole tooltip for the variant file `variantPath` on `benches` (its track, then any other). */
export function lensTooltipText(records: readonly RunRecord[], variantPath: string, benches: readonly BenchId[], baselines: BaselineHashes): string {
  const runs = latestVariantRuns(records, variantPath);
  if (!runs.length) return LENS_TOOLTIP_HEAD;
  const hash = runs[0].spec.variantHash;
  const shown = [...benches];
  for (const r of runs) if (!shown.includes(r.spec.bench)) shown.push(r.spec.bench);
  const groups = visibleGroups(groupRuns(records), records).filter((g) => g.values.length > 0);
  const body = shown.flatMap((b) => benchLines(groups, hash, b, baselines) ?? []);
  return [LENS_TOOLTIP_HEAD, ...body].join('\n');
}
