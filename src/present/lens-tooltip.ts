/**
 * The accuracy lens's tooltip: the full statistics of the variant's latest source on each
 * benchmark it has completed runs on (held-out benchmarks only after a final evaluation), against
 * the task's baseline group with the same budget, engine and recipe:
 *   ResNet-56/C100 [quick]: 72.9 ± 0.3 (n=3), 95% CI [72.2, 73.6]
 *     vs baseline 72.1 ± 0.4 (n=3): +0.8 [+0.1, +1.5], paired t p=0.02, sign-flip p=0.25,
 *     P(B>A) 0.89 [0.56, 1.00]; paired, n=3 seeds
 * When the seeds differ: the Welch interval, "Welch p=…, permutation p=…" and "; unpaired: seeds
 * differ".
 * No `vscode` import.
 */
import { getBenchmark, type BenchId } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import { visibleGroups } from '../analysis/held-out';
import { latestVariantRuns } from './lens-text';
import { baselineGroupFor, groupRuns, type BaselineHashes, type RunGroup } from '../analysis/run-groups';
import { meanStdText } from './significance-text';
import { compareSeeded, seededOf, type SeededValues } from '../analysis/seed-comparison';
import { describe, formatDiff, formatP, type Interval } from '../analysis/statistics';

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

/** The comparison line against the baseline group (B = the variant, A = the baseline), paired where the seeds match. */
export function comparisonLine(baseline: SeededValues, group: SeededValues): string {
  const c = compareSeeded(baseline, group);
  const u = c.unpaired;
  const parts = [`${formatDiff(c.diff)}${c.diffCi95 ? ` ${interval(c.diffCi95, formatDiff)}` : ''}`];
  if (c.paired) {
    if (c.paired.tP !== null) parts.push(`paired t ${formatP(c.paired.tP)}`);
    if (c.paired.signFlipP !== null) parts.push(`sign-flip ${formatP(c.paired.signFlipP)}`);
  } else {
    if (u.welch?.p != null) parts.push(`Welch ${formatP(u.welch.p)}`);
    if (u.permutationP !== null) parts.push(`permutation ${formatP(u.permutationP)}`);
  }
  parts.push(`P(B>A) ${two(u.pImprovement)}${u.pImprovementCi95 ? ` ${interval(u.pImprovementCi95, two)}` : ''}`);
  if (c.note) parts.push(c.note);
  return `vs baseline ${meanStdText(baseline.values)}: ${parts.join(', ')}; ${c.method}`;
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
    lines.push(base ? `  ${comparisonLine(seededOf(base), seededOf(g))}` : '  no baseline runs with the same budget, engine and recipe');
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
