/**
 * What the dashboard's Race view is sent of one race (contract only): a small, display-ready
 * projection of a race record (src/protocol/race.ts) built by src/present/race-view-model.ts.
 * Rungs are columns, entrants (baseline first, then candidates in the order given) are rows; every
 * text the page shows is made on the host, numbers ride along for sorting and tests.
 * Accuracies and differences are percentage points.
 */
import type { CandidateStatus, DropRule, RaceStatus } from './race';

/** An entrant's state on one rung. `out`: dropped or failed at an earlier rung; `baseline`: the reference row. */
export type RaceCellState = 'pending' | 'running' | 'advanced' | 'dropped' | 'failed' | 'out' | 'baseline';

export interface RaceViewCell {
  state: RaceCellState;
  /** Mean best test accuracy of the entrant's finished cells on this rung; null before one finished. */
  mean: number | null;
  /** Runs finished with an accuracy / runs of the entrant on this rung. */
  done: number;
  total: number;
  /** Paired mean difference to the baseline (candidate − baseline) and its adjusted p, when tested. */
  diff: number | null;
  p: number | null;
  /** The rule that dropped it here ("worse than the baseline, p = 0.004 < 0.0125"), or the error of a failed run. */
  note: string;
  /** The entrant leads this rung (best mean difference to the baseline among the candidates). */
  leader: boolean;
}

export interface RaceViewEntrant {
  id: string;
  label: string;
  /** Final or current status; undefined for the baseline. */
  status?: CandidateStatus;
  rule?: DropRule;
  p?: number;
  /** One cell per rung, in rung order. */
  cells: RaceViewCell[];
}

export interface RaceViewRung {
  index: number;
  /** "Rung 2 · quick · seeds 0,1,2 · ResNet-20/C10" */
  title: string;
  status: 'pending' | 'running' | 'done';
  /** The test level of the rung (its share of alpha). */
  level: number | null;
  leader: string | null;
}

export interface RaceViewRanking {
  rank: number;
  candidate: string;
  label: string;
  /** "rung 3" */
  reached: string;
  n: number | null;
  diff: number | null;
  ci95: [number, number] | null;
  p: number | null;
}

export interface RaceViewTau {
  /** "rung 1 → 2" */
  label: string;
  tau: number | null;
  n: number;
}

export interface RaceView {
  id: string;
  status: RaceStatus;
  /** "3 candidates vs blank (baseline) · ResNet-20/C10 · smoke → quick · alpha 0.05" */
  title: string;
  /** Why the race stopped, when it did not complete. */
  reason?: string;
  created: string;
  ended?: string;
  baseline: string;
  /** Baseline first, then the candidates. */
  entrants: RaceViewEntrant[];
  rungs: RaceViewRung[];
  /** The leader now: the top candidate of the deepest rung with a ranking; null before one. */
  leader: string | null;
  /** The final ranking, once the race completed (else empty). */
  ranking: RaceViewRanking[];
  taus: RaceViewTau[];
  /** "14 runs (2 reused), 0.8 h of 36 runs, 2.1 h exhaustive: 38% of the compute" */
  compute: string | null;
  /** The command that repeats the race. */
  command: string;
}
