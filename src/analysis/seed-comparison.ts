/**
 * B (the candidate) against A (the baseline) over their seeds, paired where it can be: when both
 * groups ran exactly the same seeds, each once, the differences per seed are compared (paired t,
 * sign-flip test: src/analysis/paired.ts) and the method reads "paired, n=3 seeds"; otherwise
 * today's unpaired figures (Welch, permutation) stand and the method says why ("unpaired: seeds
 * differ"). The unpaired figures (and P(B > A)) are always computed. `holmAdjust` corrects the
 * headline p-values of several candidates against one baseline.
 */
import type { RunGroup } from './run-groups';
import { holm, pairedCompare, type PairedResult } from './paired';
import { compareGroups, mean, NO_TEST_N1, welch, type Comparison, type Interval } from './statistics';

/** A group's accuracies with the seed of each (same order). */
export interface SeededValues {
  values: readonly number[];
  seeds: readonly number[];
}

export interface SeedComparison {
  /** Today's unpaired figures: Welch, exact permutation test, P(B > A). */
  unpaired: Comparison;
  /** The paired figures when both groups have the same seeds, each once; null otherwise. */
  paired: PairedResult | null;
  /** "paired, n=3 seeds", or "unpaired: seeds differ" / "unpaired: a seed repeats". */
  method: string;
  /** mean(B) - mean(A). */
  diff: number;
  /** 95% CI of the difference: the paired t interval when paired (null when n = 1), else Welch's. */
  diffCi95: Interval | null;
  /** The headline two-sided p: paired t when paired, Welch otherwise; null when no test is possible. */
  p: number | null;
  /** Why p is null. */
  note?: string;
}

export const UNPAIRED_SEEDS_DIFFER = 'unpaired: seeds differ';
export const UNPAIRED_SEED_REPEATS = 'unpaired: a seed repeats';
export const NO_PAIRED_T_ZERO_VARIANCE = 'no paired t-test possible: every seed gives the same difference';

export function seededOf(g: Pick<RunGroup, 'runs' | 'values'>): SeededValues {
  return { values: g.values, seeds: g.runs.map((r) => r.spec.seed) };
}

/** Seed -> value, or null when a seed occurs twice (final evaluations all count, so they can). */
function bySeed(s: SeededValues): Map<string, number> | null {
  const out = new Map<string, number>();
  s.seeds.forEach((seed, i) => out.set(String(seed), s.values[i]));
  return out.size === s.values.length ? out : null;
}

function sameKeys(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  return a.size === b.size && [...a.keys()].every((k) => b.has(k));
}

export function seedsLabel(n: number): string {
  return `paired, n=${n} seed${n === 1 ? '' : 's'}`;
}

/** The headline test alone (no bootstrap, no permutation of the groups): what marks need. */
export interface HeadlineTest {
  paired: PairedResult | null;
  method: string;
  diff: number;
  /** Paired t p when paired, Welch's otherwise; null when no test is possible. */
  p: number | null;
  /** Why p is null. */
  note?: string;
}

/** Paired when both groups ran exactly the same seeds (each once), else Welch. */
export function headlineTest(a: SeededValues, b: SeededValues): HeadlineTest {
  if (a.seeds.length !== a.values.length || b.seeds.length !== b.values.length) throw new Error('compareSeeded: one seed per value');
  if (!a.values.length || !b.values.length) throw new Error('compareSeeded: no values (a group needs at least one completed run)');
  const ma = bySeed(a);
  const mb = bySeed(b);
  const paired = ma && mb && sameKeys(ma, mb) ? pairedCompare(ma, mb) : null;
  if (paired) {
    const out: HeadlineTest = { paired, method: seedsLabel(paired.n), diff: paired.meanDiff, p: paired.tP };
    if (paired.n < 2) out.note = NO_TEST_N1;
    else if (paired.tP === null) out.note = NO_PAIRED_T_ZERO_VARIANCE;
    return out;
  }
  const w = welch(a.values, b.values);
  const out: HeadlineTest = {
    paired: null,
    method: ma && mb ? UNPAIRED_SEEDS_DIFFER : UNPAIRED_SEED_REPEATS,
    diff: mean(b.values) - mean(a.values),
    p: w?.result.p ?? null,
  };
  if (a.values.length < 2 || b.values.length < 2) out.note = NO_TEST_N1;
  else if (!w) out.note = 'no t-test possible: both groups have zero variance';
  return out;
}

/** Everything said about B against A: the headline test and today's unpaired figures. */
export function compareSeeded(a: SeededValues, b: SeededValues): SeedComparison {
  const h = headlineTest(a, b);
  const unpaired = compareGroups(a.values, b.values);
  const diffCi95 = h.paired ? (h.paired.n > 1 ? h.paired.ci95 : null) : unpaired.diffCi95;
  const out: SeedComparison = { unpaired, paired: h.paired, method: h.method, diff: h.diff, diffCi95, p: h.p };
  if (h.note) out.note = h.note;
  return out;
}

/**
 * Holm-adjusted headline p-values of several candidates against one baseline, in the input's
 * order; candidates without a p-value stay null and do not count towards the family size.
 */
export function holmAdjust(ps: ReadonlyArray<number | null>): Array<number | null> {
  const tested = ps.map((p, i) => ({ p, i })).filter((x): x is { p: number; i: number } => x.p !== null);
  const adjusted = holm(tested.map((x) => x.p));
  const out: Array<number | null> = ps.map(() => null);
  tested.forEach((x, k) => (out[x.i] = adjusted[k]));
  return out;
}
