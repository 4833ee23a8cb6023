/**
 * The race record contract: `.regbench/races/<id>/race.json`, written atomically by the race
 * machinery (src/races/) after every change, read by the CLI, the editor's Race view and the
 * dashboard. A race runs several candidate variants and a baseline up a ladder of rungs (more
 * seeds, then the next budget, then the remaining benchmarks) and drops a candidate only when a
 * paired test says it is worse (docs/races.md). Its runs are ordinary runs of the run store; the
 * record lists their ids per cell.
 * Readers must tolerate unknown fields and reject a `format` they do not know.
 */
import type { BenchId, BudgetId, EngineId, RunSpec, TaskKind } from './benchmarks';
import type { RunStatus } from './events';

export const RACE_FORMAT = 1;

/** The id of the baseline entrant in cells, rankings and tests. */
export const RACE_BASELINE_ID = 'baseline';

/** running: a process works on it; interrupted: that process is gone (`regbench race --resume <id>`). */
export type RaceStatus = 'running' | 'completed' | 'failed' | 'interrupted' | 'cancelled';

/**
 * advanced: still in the race (after the last rung: a survivor); dropped: a test (or successive
 * halving) put it out; failed: one of its runs failed (syntax, NaN, a stuck step), with the error.
 */
export type CandidateStatus = 'advanced' | 'dropped' | 'failed';

/** Which rule dropped a candidate. */
export type DropRule = 'worse-than-baseline' | 'worse-than-leader' | 'halving' | 'failed';

/** One step of `--ladder`: a budget, optionally with epochs/subsets overridden (`quick:epochs=2:train=2048`). */
export interface LadderStep {
  budget: BudgetId;
  epochs?: number;
  trainSubset?: number;
  testSubset?: number;
  /** As written on the command line, e.g. "quick:epochs=2". */
  label: string;
}

/** What the user asked for (the command line, resolved). */
export interface RaceRequest {
  /** Variant files and sweep specs as given (`variants/a.ts`, `templates/x.ts --set BETA=0.1,0.3`). */
  candidates: string[];
  /** `--set NAME=v1,v2` given with the candidates: applied to every candidate file that has NAME. */
  sets?: Record<string, string[]>;
  /** Template name or file of the baseline (default: the kind's blank template). */
  baseline: string;
  benches: BenchId[];
  ladder: LadderStep[];
  seeds: number[];
  alpha: number;
  /** Successive halving (keep the best 1/eta per rung): a heuristic, no error rate. */
  eta?: number;
  /** Local runs at once (`regbench.concurrency`). */
  concurrency: number;
  /** Each rung is one Slurm job array. */
  slurm?: { partition?: string; time?: string; cpusPerTask?: number; gres?: string; extraArgs?: string[] };
  backend?: RunSpec['backend'];
  device?: string;
  dataDir?: string;
  stepTimeoutSeconds?: number;
  /** The exact command that started the race. */
  command: string;
}

/** The baseline or a candidate: one variant source. */
export interface RaceEntrant {
  /** 'baseline', or 'c1', 'c2', ... in the order given. */
  id: string;
  /** "confidence-penalty BETA=0.3", "label-smoothing", "blank (baseline)". */
  label: string;
  /** The file the runs run (a sweep's derived copy lives in `.regbench/sweeps/`). */
  variantPath: string;
  variantHash: string;
  engine: EngineId;
  kind: TaskKind;
  /** For a sweep-derived variant: the user's file and the values set in the copy. */
  sweep?: { file: string; values: Record<string, string | number | boolean> };
}

export interface RaceCandidate extends RaceEntrant {
  status: CandidateStatus;
  /** The rung (0-based) it was dropped or failed at; for `advanced`, the deepest rung it passed. */
  rung: number;
  rule?: DropRule;
  /** The adjusted p-value that dropped it (Holm over the rung's candidates, see docs/races.md). */
  p?: number;
  /** A failed candidate's error ("syntax error at line 3", "loss became NaN", ...), with its run. */
  error?: string;
  errorRunId?: string;
}

/** How a rung was reached from the previous one. */
export type RungStep = 'start' | 'seeds' | 'budget' | 'benchmarks';

/** One (entrant, benchmark, seed) run of a rung. `reused`: an identical finished run was found. */
export interface RaceCell {
  entrant: string;
  bench: BenchId;
  seed: number;
  runId?: string;
  status: RunStatus | 'pending';
  bestTestAcc: number | null;
  reused?: boolean;
}

/** A candidate's paired comparison on a rung's cells (percentage points, candidate − other). */
export interface RacePairedResult {
  /** Matched (benchmark, seed) cells. */
  n: number;
  meanDiff: number;
  ci95: [number, number] | null;
  /** One-sided p (candidate worse), before adjustment; null when n is too small. */
  p: number | null;
  /** Degrees of freedom of the t test (absent in races recorded before it was kept). */
  df?: number;
  /** Entrants whose residual variance the test pooled (block design); absent: a plain paired t. */
  pooledOver?: number;
}

export interface RaceTest {
  candidate: string;
  vsBaseline: RacePairedResult | null;
  /** Against the current leader (the best other candidate by mean on this rung). */
  leader?: string;
  vsLeader?: RacePairedResult | null;
  /** The candidate's p after Bonferroni over its comparisons and Holm over the rung's candidates. */
  adjustedP: number | null;
  /** The level this rung tests at (alpha spread over the rungs, see docs/races.md). */
  level: number;
  dropped: boolean;
}

export interface RaceRung {
  index: number;
  step: RungStep;
  ladder: LadderStep;
  /** Epochs and subsets the runs use (the budget's with the step's overrides). */
  epochs: number;
  trainSubset: number | null;
  testSubset: number | null;
  benches: BenchId[];
  seeds: number[];
  status: 'pending' | 'running' | 'done';
  /** Every cell of the live entrants at this rung (cells of earlier rungs of the same budget included). */
  cells: RaceCell[];
  /** Candidate ids best first by mean difference to the baseline on this rung. */
  ranking?: string[];
  tests?: RaceTest[];
  /** The rung's Slurm job array, with `--slurm`. */
  slurm?: { matrixId: string; jobId?: string };
  startedAt?: string;
  endedAt?: string;
}

export interface RaceRankingEntry {
  candidate: string;
  rank: number;
  /** The deepest rung the candidate ran. */
  rung: number;
  vsBaseline: RacePairedResult | null;
}

/** Kendall's tau-b between the rankings of consecutive rungs (candidates in both). */
export interface RaceTau {
  from: number;
  to: number;
  n: number;
  tau: number | null;
}

export interface RaceCompute {
  /** Runs trained for the race (reused runs not counted), and their hours from measured epoch times. */
  runs: number;
  reusedRuns: number;
  hours: number;
  /** Every candidate and the baseline at the last rung (all benchmarks, all seeds, last budget). */
  exhaustiveRuns: number;
  exhaustiveHours: number;
}

export interface RaceRecord {
  format: number;
  id: string;
  created: string;
  ended?: string;
  status: RaceStatus;
  /** Why the race stopped, when it did not complete. */
  reason?: string;
  /** The process driving the race; a dead owner means the race was interrupted. */
  ownerPid?: number;
  request: RaceRequest;
  /** The climbing order, printed at the start ("rung 1: smoke · resnet20-cifar10 · seeds 0,1", ...). */
  order: string[];
  baseline: RaceEntrant;
  candidates: RaceCandidate[];
  rungs: RaceRung[];
  /** The final ranking of the candidates still in the race (set when it completes). */
  ranking?: RaceRankingEntry[];
  taus: RaceTau[];
  compute?: RaceCompute;
}
