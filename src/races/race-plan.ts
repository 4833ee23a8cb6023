/**
 * A race's ladder and its rungs. `--ladder smoke,quick:epochs=2:train=2048` is a list of budgets,
 * each optionally with epochs and subsets overridden; it must grow (each step trains at least as
 * many epochs on at least as many images as the one before, and more of one of them). The rungs
 * climb in a fixed order (docs/races.md): the first budget on the first benchmark and the first
 * seeds; then the remaining seeds; then each next budget; then the remaining benchmarks.
 */
import { BUDGET_IDS, budgetSize, DATASET_STATS, getBenchmark, type BenchId, type BudgetId } from '../protocol/benchmarks';
import type { LadderStep, RaceRung, RungStep } from '../protocol/race';
import { UsageError } from '../runs/run-request';

const STEP_KEYS: Record<string, 'epochs' | 'trainSubset' | 'testSubset'> = { epochs: 'epochs', train: 'trainSubset', test: 'testSubset' };

/** Parses `--ladder`; throws UsageError (one line) on an unknown budget, a bad override or a ladder that does not grow. */
export function parseLadder(text: string, benches: readonly BenchId[]): LadderStep[] {
  const steps = text.split(',').map((part) => parseStep(part.trim()));
  if (!steps.length || !steps[0].label) throw new UsageError('--ladder needs at least one budget, e.g. smoke,quick');
  for (let i = 1; i < steps.length; i++) {
    for (const bench of benches) {
      const a = stepSize(steps[i - 1], bench);
      const b = stepSize(steps[i], bench);
      const trainA = a.trainSubset ?? trainSize(bench);
      const trainB = b.trainSubset ?? trainSize(bench);
      const grows = b.epochs >= a.epochs && trainB >= trainA && (b.epochs > a.epochs || trainB > trainA);
      if (!grows) {
        throw new UsageError(
          `--ladder does not grow from ${steps[i - 1].label} (${a.epochs} epochs on ${trainA} images) to ${steps[i].label} (${b.epochs} epochs on ${trainB} images) on ${bench}; each step must train at least as many epochs on at least as many images, and more of one`,
        );
      }
    }
  }
  return steps;
}

function parseStep(part: string): LadderStep {
  const [budget, ...overrides] = part.split(':');
  if (!BUDGET_IDS.includes(budget as BudgetId)) throw new UsageError(`--ladder: unknown budget '${budget}' (one of ${BUDGET_IDS.join(', ')})`);
  const step: LadderStep = { budget: budget as BudgetId, label: part };
  for (const o of overrides) {
    const m = /^(epochs|train|test)=(\d+)$/.exec(o);
    if (!m || Number(m[2]) < 1) throw new UsageError(`--ladder: '${o}' in '${part}' is not epochs=N, train=N or test=N with N >= 1`);
    step[STEP_KEYS[m[1]]] = Number(m[2]);
  }
  return step;
}

function trainSize(bench: BenchId): number {
  return DATASET_STATS[getBenchmark(bench).dataset].trainSize;
}

/** Epochs and subsets of a ladder step on a benchmark: the budget's, with the step's overrides. */
export function stepSize(step: LadderStep, bench: BenchId): { epochs: number; trainSubset: number | null; testSubset: number | null } {
  const size = budgetSize(step.budget, bench);
  return { epochs: step.epochs ?? size.epochs, trainSubset: step.trainSubset ?? size.trainSubset, testSubset: step.testSubset ?? size.testSubset };
}

/** How many seeds the first rung uses: half of them (rounded up), at least two when there are two. */
export function firstSeedCount(seeds: number): number {
  return Math.min(seeds, Math.max(2, Math.ceil(seeds / 2)));
}

/** The rungs of a race, in climbing order, with no cells yet. */
export function planRungs(benches: readonly BenchId[], ladder: readonly LadderStep[], seeds: readonly number[]): RaceRung[] {
  const rungs: RaceRung[] = [];
  const add = (step: RungStep, l: LadderStep, b: readonly BenchId[], s: readonly number[]) => {
    const size = stepSize(l, b[0]);
    rungs.push({ index: rungs.length, step, ladder: l, ...size, benches: [...b], seeds: [...s], status: 'pending', cells: [] });
  };
  const first = benches.slice(0, 1);
  add('start', ladder[0], first, seeds.slice(0, firstSeedCount(seeds.length)));
  if (firstSeedCount(seeds.length) < seeds.length) add('seeds', ladder[0], first, seeds);
  for (const l of ladder.slice(1)) add('budget', l, first, seeds);
  if (benches.length > 1) add('benchmarks', ladder[ladder.length - 1], benches, seeds);
  return rungs;
}

/** "rung 2 (more seeds): smoke · resnet20-cifar10 · seeds 0,1,2" */
export function rungText(r: RaceRung): string {
  const why = { start: 'start', seeds: 'more seeds', budget: 'next budget', benchmarks: 'remaining benchmarks' }[r.step];
  return `rung ${r.index + 1} (${why}): ${r.ladder.label} (${r.epochs} epoch${r.epochs === 1 ? '' : 's'}, ${r.trainSubset ?? 'all'} training images) · ${r.benches.join(', ')} · seeds ${r.seeds.join(',')}`;
}
