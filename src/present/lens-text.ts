/**
 * The text of the accuracy code lens on a variant file, e.g.
 *   "ResNet-56/C100 72.4% · VGG-16-BN/C100 — · MobileNetV2/FMNIST 94.5%".
 * Which runs count:
 * - A variant is a file: the runs whose spec.variantPath is the document's path.
 * - Only the runs of the variant's latest source (the variantHash of its most recently created
 *   run): after an edit, the lens speaks of the new code as soon as it has a run.
 * - Per benchmark: a running run wins ("epoch 12/200 · 61.3%", epochs completed and the last test
 *   accuracy). Otherwise the completed runs at the budget of the latest completed one, latest run
 *   per seed: one seed gives its best test accuracy, several give "mean ± sample std (n seeds)".
 *   A budget other than full is named, because a quick accuracy is not a paper figure.
 * - With baseline runs of the same budget, engine and recipe, a completed cell also says the
 *   difference and its p against the baseline: the paired t-test's when both ran the same seeds
 *   ("72.9 ± 0.3 (n=3), +0.8 vs baseline, p=0.02 (paired, n=3 seeds)"), else Welch's ("...
 *   (unpaired: seeds differ)"); with n=1: "no test possible with n=1".
 * - A held-out benchmark says "held out" until the source has a final evaluation.
 * - Otherwise "queued", or the last final status (failed, diverged, cancelled), or "—".
 * No `vscode` import.
 */
import { getBenchmark, type BenchId } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import { sameFile } from '../variants/variant-file';
import { mean, sampleStd } from '../analysis/descriptive';
import { finalHashes, isVisible } from '../analysis/held-out';
import { groupRuns, baselineGroupFor, type BaselineHashes } from '../analysis/run-groups';
import { seededOf } from '../analysis/seed-comparison';
import { significanceText } from './significance-text';

export const HELD_OUT_TEXT = 'held out (Final Evaluation… shows it)';

export const MISSING = '—';
const SEPARATOR = ' · ';

/** The runs of `variantPath` that ran its latest source, oldest first. */
export function latestVariantRuns(records: readonly RunRecord[], variantPath: string): RunRecord[] {
  const mine = records.filter((r) => sameFile(r.spec.variantPath, variantPath)).sort(byCreation);
  if (!mine.length) return [];
  const latestHash = mine[mine.length - 1].spec.variantHash;
  return mine.filter((r) => r.spec.variantHash === latestHash);
}

/** What one benchmark cell says, from the runs of one variant source on that benchmark. */
export function benchCellText(runs: readonly RunRecord[]): string {
  const sorted = [...runs].sort(byCreation);
  const running = sorted.filter((r) => r.status === 'running');
  if (running.length) return runningText(running[running.length - 1]);
  const completed = sorted.filter((r) => r.status === 'completed' && r.bestTestAcc !== null);
  if (completed.length) {
    const budget = completed[completed.length - 1].spec.budget;
    const perSeed = new Map<number, number>();
    for (const r of completed) if (r.spec.budget === budget) perSeed.set(r.spec.seed, r.bestTestAcc as number);
    const accs = [...perSeed.values()];
    const budgetNote = budget === 'full' ? '' : budget;
    if (accs.length === 1) return `${formatPercent(accs[0])}${budgetNote ? ` (${budgetNote})` : ''}`;
    const notes = [`${accs.length} seeds`, budgetNote].filter(Boolean).join(', ');
    return `${formatMeanStd(accs)} (${notes})`;
  }
  if (sorted.some((r) => r.status === 'queued')) return 'queued';
  const last = sorted[sorted.length - 1];
  return last ? last.status : MISSING;
}

export function runningText(r: RunRecord): string {
  const epochs = `epoch ${r.epochsCompleted}/${r.totalEpochs}`;
  return r.finalTestAcc === null ? epochs : `${epochs}${SEPARATOR}${formatPercent(r.finalTestAcc)}`;
}

/**
 * The whole accuracy lens: one cell per benchmark in `benches` (the variant's track), then any
 * other benchmark the variant has runs on.
 */
export function accuracyLensText(records: readonly RunRecord[], variantPath: string, benches: readonly BenchId[], baselines?: BaselineHashes): string {
  const runs = latestVariantRuns(records, variantPath);
  const shown: BenchId[] = [...benches];
  for (const r of runs) if (!shown.includes(r.spec.bench)) shown.push(r.spec.bench);
  const finals = finalHashes(records);
  return shown
    .map((bench) => {
      const here = runs.filter((r) => r.spec.bench === bench);
      if (here.some((r) => !isVisible(r, finals))) return `${getBenchmark(bench).short} ${HELD_OUT_TEXT}`;
      const withStats = baselines ? significanceCell(records, here, baselines) : undefined;
      return `${getBenchmark(bench).short} ${withStats ?? benchCellText(here)}`;
    })
    .join(SEPARATOR);
}

/**
 * The completed cell with its comparison to the baseline group, when the cell is a completed
 * group and the baseline has runs of the same budget, engine and recipe; undefined otherwise.
 */
function significanceCell(records: readonly RunRecord[], runs: readonly RunRecord[], baselines: BaselineHashes): string | undefined {
  if (!runs.length || runs.some((r) => r.status === 'running')) return undefined;
  const groups = groupRuns(records).filter((g) => g.values.length > 0);
  const latest = [...runs]
    .sort(byCreation)
    .filter((r) => r.status === 'completed')
    .pop();
  if (!latest) return undefined;
  const mine = groups.find((g) => g.runs.some((r) => r.id === latest.id));
  if (!mine || baselines.has(mine.variantHash)) return undefined;
  const baseline = baselineGroupFor(mine, groups, baselines);
  if (!baseline) return undefined;
  const budget = latest.spec.budget === 'full' ? '' : ` [${latest.spec.budget}]`;
  return `${significanceText('', seededOf(mine), seededOf(baseline)).trim()}${budget}`;
}

/** 72.4% (one decimal, as the papers report). */
export function formatPercent(acc: number): string {
  return `${acc.toFixed(1)}%`;
}

/** "72.4 ± 0.3%": mean and sample standard deviation (n - 1), both with one decimal. */
export function formatMeanStd(values: readonly number[]): string {
  if (values.length < 2) throw new Error('a standard deviation needs at least two values');
  return `${mean(values).toFixed(1)} ± ${sampleStd(values).toFixed(1)}%`;
}

function byCreation(a: RunRecord, b: RunRecord): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
