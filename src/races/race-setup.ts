/**
 * A new race record from a checked request: the entrants (candidates, sweep points, baseline),
 * the planned rungs and the climbing order; every bad input is refused (UsageError, one line)
 * before anything is written.
 */
import { isBenchId } from '../protocol/benchmarks';
import { RACE_FORMAT, type RaceCandidate, type RaceRecord, type RaceRequest } from '../protocol/race';
import { UsageError } from '../runs/run-request';
import { findTemplatesDir } from '../analysis/run-groups';
import type { SweepSpec } from '../variants/sweep';
import { resolveBaseline, resolveBenches, resolveCandidates } from './race-entrants';
import { parseLadder, planRungs, rungText } from './race-plan';

export interface RaceAsk {
  candidates: string[];
  sets: SweepSpec;
  baseline?: string;
  bench?: string;
  ladder: string;
  seeds: number[];
  alpha: number;
  eta?: number;
  concurrency: number;
  request: Omit<RaceRequest, 'candidates' | 'sets' | 'baseline' | 'benches' | 'ladder' | 'seeds' | 'alpha' | 'eta' | 'concurrency'>;
  templatesDir?: string;
}

/** Checks everything and returns the race (not yet saved; id as given). */
export function setupRace(ask: RaceAsk, id: string, storeRoot: string, now = new Date()): RaceRecord {
  if (!(ask.alpha > 0 && ask.alpha < 1)) throw new UsageError(`--alpha must be between 0 and 1, got ${ask.alpha}`);
  if (ask.eta !== undefined && !(Number.isInteger(ask.eta) && ask.eta >= 2)) throw new UsageError(`--eta must be an integer >= 2, got ${ask.eta}`);
  if (!ask.seeds.length) throw new UsageError('--seeds needs at least one seed');
  // Cheap checks first: nothing is derived into the store before the ladder and benchmarks are known good.
  const benchIds = (ask.bench ?? '').split(',').map((s) => s.trim());
  if (ask.bench && ask.bench !== 'all') for (const b of benchIds) if (!isBenchId(b)) throw new UsageError(`unknown benchmark '${b}'`);
  if (ask.bench && ask.bench !== 'all') parseLadder(ask.ladder, benchIds.filter(isBenchId));
  const candidates = resolveCandidates(ask.candidates, ask.sets, storeRoot);
  const { kind, engine } = candidates[0];
  const benches = resolveBenches(ask.bench, kind, isBenchId);
  const ladder = parseLadder(ask.ladder, benches);
  const baseline = resolveBaseline(ask.baseline, kind, engine, findTemplatesDir(ask.templatesDir));
  const twin = candidates.find((c) => c.variantHash === baseline.variantHash);
  if (twin) throw new UsageError(`${twin.label} is the baseline's source; it cannot race against itself`);
  const rungs = planRungs(benches, ladder, ask.seeds);
  const sets: Record<string, string[]> = {};
  for (const s of ask.sets) sets[s.name] = [...s.values];
  return {
    format: RACE_FORMAT,
    id,
    created: now.toISOString(),
    status: 'running',
    ownerPid: process.pid,
    request: {
      ...ask.request,
      candidates: ask.candidates,
      sets: ask.sets.length ? sets : undefined,
      baseline: ask.baseline ?? baseline.label,
      benches,
      ladder,
      seeds: ask.seeds,
      alpha: ask.alpha,
      eta: ask.eta,
      concurrency: ask.concurrency,
    },
    order: rungs.map(rungText),
    baseline,
    candidates: candidates.map(({ source: _s, ...c }): RaceCandidate => ({ ...c, status: 'advanced', rung: -1 })),
    rungs,
    taus: [],
  };
}
