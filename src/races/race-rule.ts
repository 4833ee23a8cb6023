/**
 * The drop rule a race applies after each rung (docs/races.md states what it guarantees):
 * each live candidate is compared, paired over the rung's (benchmark, seed) cells (with the
 * residual variance pooled over every live entrant, a randomized block design, when there are
 * three or more), with the baseline and with the current leader (the best other live candidate by mean difference to the
 * baseline). Its p-value is min(2 p_baseline, 2 (m - 1) p_leader) with one-sided ("worse") paired
 * p-values: a Bonferroni split of its level, half to the baseline, half to the m - 1 other
 * candidates (which covers the leader being picked from the data); p_baseline alone when it is the
 * only candidate. Holm's step-down adjusts these over the rung's m candidates;
 * a candidate is dropped when its adjusted p is at most alpha / K (K rungs: a Bonferroni split of
 * alpha over the race's looks). With `eta`, classic successive halving instead: the best
 * ceil(m / eta) by mean difference stay (a heuristic with no error rate).
 */
import { blockContrast, blockResidual, contrastOneSidedP, type BlockContrast, type BlockResidual } from '../analysis/block-design';
import { holm, pairedCompare, pairedOneSidedP, type PairedResult } from '../analysis/paired';
import type { DropRule, RacePairedResult, RaceTest } from '../protocol/race';

/** Scores (best test accuracy) per cell key `${bench}/${seed}`. */
export type CellScores = ReadonlyMap<string, number>;

export interface RungJudgement {
  tests: RaceTest[];
  /** Live candidates, best first by mean difference to the baseline. */
  ranking: string[];
  /** Mean difference to the baseline per candidate (for ranks and taus). */
  meanDiff: Map<string, number>;
  drops: Array<{ candidate: string; rule: DropRule; p?: number }>;
}

export interface RuleOptions {
  alpha: number;
  /** Rungs in the race: each rung tests at alpha / rungs. */
  rungs: number;
  eta?: number;
}

/**
 * The one-sided p that the candidate is worse. With every difference equal (no spread: t is
 * undefined) the exact sign-flip p is used: 1/2^n when all n differences are negative.
 */
function summary(r: PairedResult | null): RacePairedResult | null {
  if (!r) return null;
  let p = pairedOneSidedP(r, 'less');
  if (p === null && r.n >= 2 && r.sdDiff === 0) p = r.meanDiff < 0 ? 0.5 ** r.n : 1;
  return { n: r.n, meanDiff: r.meanDiff, ci95: r.n >= 2 ? r.ci95 : null, p, df: r.df };
}

/** The same, from the block design's pooled variance (zero residual variance: the sign-flip p as above). */
function pooledSummary(c: BlockContrast | null, model: BlockResidual): RacePairedResult | null {
  if (!c) return null;
  let p = contrastOneSidedP(c, 'less');
  if (p === null) p = c.meanDiff < 0 ? 0.5 ** c.n : 1;
  return { n: c.n, meanDiff: c.meanDiff, ci95: c.ci95, p, df: c.df, pooledOver: model.entrants };
}

/**
 * How one entrant compares with another on this rung: with three or more live entrants sharing
 * at least two cells, against the block design's residual variance pooled over all of them
 * (src/analysis/block-design.ts); otherwise a plain paired t over the pair's shared cells.
 */
function comparer(baseline: CellScores, candidates: ReadonlyMap<string, CellScores>): (other: CellScores, c: CellScores) => RacePairedResult | null {
  const model = candidates.size >= 2 ? blockResidual([baseline, ...candidates.values()]) : null;
  if (model) return (other, c) => pooledSummary(blockContrast(other, c, model), model);
  return (other, c) => summary(pairedCompare(other, c));
}

/** Judges one rung: the tests of every live candidate and which of them are dropped. */
export function judgeRung(baseline: CellScores, candidates: ReadonlyMap<string, CellScores>, opts: RuleOptions): RungJudgement {
  const ids = [...candidates.keys()];
  const compare = comparer(baseline, candidates);
  const vsBase = new Map(ids.map((id) => [id, compare(baseline, candidates.get(id) as CellScores)]));
  const meanDiff = new Map(ids.map((id) => [id, vsBase.get(id)?.meanDiff ?? Number.NEGATIVE_INFINITY]));
  const ranking = [...ids].sort((a, b) => (meanDiff.get(b) as number) - (meanDiff.get(a) as number) || a.localeCompare(b));
  const level = opts.alpha / opts.rungs;
  const m = ids.length;
  const tests: RaceTest[] = ids.map((id) => {
    const base = vsBase.get(id) ?? null;
    const leader = ranking.find((x) => x !== id);
    const lead = leader !== undefined ? compare(candidates.get(leader) as CellScores, candidates.get(id) as CellScores) : undefined;
    const viaBase = base?.p == null ? 1 : m > 1 ? 2 * base.p : base.p;
    const viaLeader = lead?.p == null ? 1 : 2 * (m - 1) * lead.p;
    const raw = Math.min(1, viaBase, viaLeader);
    return { candidate: id, vsBaseline: base, leader, vsLeader: lead, adjustedP: raw, level, dropped: false };
  });
  const raw = tests.map((t) => t.adjustedP as number);
  const adjusted = holm(raw);
  tests.forEach((t, i) => (t.adjustedP = adjusted[i]));
  const drops: RungJudgement['drops'] = [];
  if (opts.eta !== undefined) {
    const keep = new Set(ranking.slice(0, Math.max(1, Math.ceil(m / opts.eta))));
    for (const t of tests) if (!keep.has(t.candidate)) drops.push({ candidate: t.candidate, rule: 'halving' });
  } else {
    tests.forEach((t, i) => {
      if ((t.adjustedP as number) > level) return;
      // Named after the baseline when its comparison alone, with the same adjustment, would drop it.
      const holmFactor = raw[i] > 0 ? (t.adjustedP as number) / raw[i] : 1;
      const baseAlone = Math.min(1, (t.vsBaseline?.p ?? 1) * (m > 1 ? 2 : 1) * holmFactor);
      drops.push({ candidate: t.candidate, rule: baseAlone <= level ? 'worse-than-baseline' : 'worse-than-leader', p: t.adjustedP ?? undefined });
    });
  }
  for (const d of drops) (tests.find((t) => t.candidate === d.candidate) as RaceTest).dropped = true;
  return { tests, ranking, meanDiff, drops };
}
