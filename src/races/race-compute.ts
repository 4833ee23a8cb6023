/**
 * The compute a race used against the exhaustive alternative (every candidate and the baseline on
 * every benchmark and seed at the last ladder step), in hours from measured epoch times: a run's
 * hours are its epochs times its mean epoch seconds; a run the race did not make has the mean
 * epoch time measured on that benchmark at the last step (scaled by training images from a lower
 * step when no run got that far there).
 */
import { DATASET_STATS, getBenchmark, type BenchId } from '../protocol/benchmarks';
import type { RaceCompute, RaceRecord } from '../protocol/race';
import type { CellRun } from './race-world';
import { stepSize } from './race-plan';

function images(bench: BenchId, trainSubset: number | null): number {
  return trainSubset ?? DATASET_STATS[getBenchmark(bench).dataset].trainSize;
}

export function raceCompute(race: RaceRecord, get: (runId: string) => CellRun | undefined): RaceCompute {
  const seen = new Map<string, { reused: boolean; bench: BenchId; train: number; run: CellRun }>();
  for (const rung of race.rungs) {
    for (const c of rung.cells) {
      if (!c.runId || seen.has(c.runId)) continue;
      const run = get(c.runId);
      if (run) seen.set(c.runId, { reused: c.reused === true, bench: c.bench, train: images(c.bench, stepSize(rung.ladder, c.bench).trainSubset), run });
    }
  }
  const hours = (r: CellRun) => ((r.epochSeconds ?? 0) * r.epochsCompleted) / 3600;
  const all = [...seen.values()];
  const trained = all.filter((x) => !x.reused);
  const last = race.request.ladder[race.request.ladder.length - 1];
  const benches = race.request.benches;
  const entrants = race.candidates.length + 1;
  let exhaustiveHours = 0;
  for (const bench of benches) {
    const size = stepSize(last, bench);
    const lastImages = images(bench, size.trainSubset);
    // Seconds per training image per epoch, measured on this benchmark (largest step first).
    const measured = all.filter((x) => x.bench === bench && x.run.epochSeconds !== null && x.run.epochsCompleted > 0).sort((a, b) => b.train - a.train);
    const atLast = measured.filter((x) => x.train === lastImages);
    const basis = atLast.length ? atLast : measured.filter((x) => x.train === measured[0]?.train);
    if (!basis.length) continue;
    const perImage = basis.reduce((s, x) => s + (x.run.epochSeconds as number) / x.train, 0) / basis.length;
    exhaustiveHours += (entrants * race.request.seeds.length * size.epochs * perImage * lastImages) / 3600;
  }
  return {
    runs: trained.length,
    reusedRuns: all.length - trained.length,
    hours: trained.reduce((s, x) => s + hours(x.run), 0),
    exhaustiveRuns: entrants * benches.length * race.request.seeds.length,
    exhaustiveHours,
  };
}
