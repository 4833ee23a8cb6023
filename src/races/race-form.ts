/**
 * What "Race Variants…" and the "Sweep…" lens ask for, checked and turned into the `regbench race`
 * / `regbench sweep` command line the editor starts (the CLI drives races; the editor follows
 * race.json). Pure, no `vscode`: the quick picks live in race-command.ts and sweep-lens.ts.
 */
import { BENCHMARKS, TASK_KINDS, type BenchId, type TaskKind } from '../protocol/benchmarks';
import { parseSweepValue, SweepError, type TopLevelConst } from '../variants/sweep';

export interface RaceForm {
  /** Variant files, or a sweep of one: `file:NAME=v1,v2` (the CLI's syntax). */
  candidates: string[];
  benches: BenchId[];
  /** `--ladder`, e.g. "smoke,quick". */
  ladder: string;
  seeds: number[];
  slurm: boolean;
  /** With `slurm`: the regbench.slurm.* settings that are set (empty: sbatch's defaults). */
  slurmOptions?: { partition?: string; time?: string; cpusPerTask?: number; gres?: string; extraArgs?: string[] };
  concurrency: number;
  backend?: string;
  device?: string;
  dataDir?: string;
}

/** Ladders offered first (the CLI's default first); "Custom…" takes any `--ladder` text. */
export const LADDER_PRESETS: ReadonlyArray<{ ladder: string; detail: string }> = [
  { ladder: 'smoke,quick', detail: 'a smoke rung drops what is broken or clearly worse, then the quick budget (the default)' },
  { ladder: 'smoke,quick:epochs=2', detail: 'as above with a 2-epoch quick rung: a first ranking in less time' },
  { ladder: 'quick', detail: 'one budget: seeds, then the other benchmarks' },
  { ladder: 'smoke,quick,full', detail: 'up to the full protocol (200 epochs): for the few that survive' },
];

/** Benchmarks a race of these kinds may use: every one except a kind's held-out benchmark. */
export function devBenchmarks(kinds: readonly TaskKind[]): BenchId[] {
  const held = new Set(kinds.map((k) => TASK_KINDS[k].heldOut));
  return BENCHMARKS.map((b) => b.id).filter((id) => !held.has(id));
}

/** The task kinds of a variant kind (a file can define both a regularizer and a norm). */
export function taskKinds(kind: { regularizer: boolean; norm: boolean }): TaskKind[] {
  return [...(kind.regularizer ? (['regularizer'] as const) : []), ...(kind.norm ? (['norm'] as const) : [])];
}

/** `regbench race ...` arguments (after the CLI script) for a form, in `workspace`. */
export function raceArgs(form: RaceForm, workspace: string): string[] {
  const args = [
    'race',
    ...form.candidates,
    '--bench',
    form.benches.join(','),
    '--ladder',
    form.ladder,
    '--seeds',
    form.seeds.join(','),
    '--concurrency',
    String(form.concurrency),
  ];
  if (form.slurm) {
    args.push('--slurm');
    const o = form.slurmOptions ?? {};
    if (o.partition) args.push('--partition', o.partition);
    if (o.time) args.push('--time', o.time);
    if (o.cpusPerTask) args.push('--cpus-per-task', String(o.cpusPerTask));
    if (o.gres) args.push('--gres', o.gres);
    for (const a of o.extraArgs ?? []) args.push(`--sbatch-arg=${a}`);
  }
  if (form.backend) args.push('--backend', form.backend);
  if (form.device) args.push('--device', form.device);
  if (form.dataDir) args.push('--data-dir', form.dataDir);
  args.push('--workspace', workspace);
  return args;
}

/** The race id from the CLI's first line (`race <id>`), else undefined. */
export function raceIdOf(line: string): string | undefined {
  return /^race ([\w.-]+)\s*$/.exec(line.trim())?.[1];
}

/** The candidate that sweeps `name` of `file` over `values` (`file:NAME=v1,v2`). */
export function sweepCandidate(file: string, name: string, values: readonly string[]): string {
  return `${file}:${name}=${values.join(',')}`;
}

/**
 * The values typed into "Sweep…" ("0.03, 0.1, 0.3"), each checked against the constant's type by
 * the sweep module; throws SweepError (one line naming the file, line and constant).
 */
export function parseSweepValues(c: TopLevelConst, text: string, file: string): string[] {
  const parts = text.split(',').map((s) => s.trim());
  if (!text.trim() || parts.some((p) => p === ''))
    throw new SweepError(`${file}:${c.line + 1}: ${c.name}: give the values separated by commas, e.g. ${exampleValues(c)}`);
  for (const p of parts) parseSweepValue(c, p, file);
  if (new Set(parts).size !== parts.length) throw new SweepError(`${file}:${c.line + 1}: ${c.name}: a value is given twice`);
  return parts;
}

/** An example of values for the constant's type, for prompts and errors. */
export function exampleValues(c: TopLevelConst): string {
  if (c.type === 'boolean') return 'true,false';
  if (c.type === 'string') return `${String(c.value)},other`;
  const v = Number(c.value);
  return v === 0 ? '0,0.1,1' : [v / 3, v, v * 3].map((x) => Number(x.toPrecision(2))).join(',');
}
