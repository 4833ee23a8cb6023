/**
 * The editor's "Run Benchmark Matrix on Slurm…" form, checked as the CLI checks `regbench submit`:
 * the seed list, and the Slurm options from the settings and the answers (empty: sbatch's or the
 * cluster's default). Each check returns the options or one sentence saying what is wrong.
 * No `vscode` import.
 */
import { checkTime, type SlurmOptions } from './batch-script';

export const MAX_FORM_SEEDS = 100;

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** "0,1,2" or "0-4" or a mix: distinct non-negative integers. */
export function parseSeedList(text: string): Checked<number[]> {
  const out: number[] = [];
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return { ok: false, reason: `'${part}' is not a seed (use 0,1,2 or 0-4)` };
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) return { ok: false, reason: `the range '${part}' runs backwards` };
    for (let s = from; s <= to && out.length <= MAX_FORM_SEEDS; s++) out.push(s);
  }
  if (!out.length) return { ok: false, reason: 'give at least one seed' };
  if (out.length > MAX_FORM_SEEDS) return { ok: false, reason: `at most ${MAX_FORM_SEEDS} seeds at once` };
  if (new Set(out).size !== out.length) return { ok: false, reason: 'a seed is listed twice' };
  return { ok: true, value: out };
}

/** "0,1,2" for seeds 0..n-1 (the regbench.defaultSeeds setting). */
export function defaultSeedText(n: number): string {
  return Array.from({ length: Math.max(1, n) }, (_, i) => i).join(',');
}

export interface SlurmForm {
  partition?: string;
  time?: string;
  /** 0 or undefined: sbatch's default. */
  cpusPerTask?: number;
  gres?: string;
  extraArgs?: readonly string[];
}

/** An empty answer means "not given"; a time limit must be minutes or [D-]HH:MM[:SS]. */
export function checkTimeText(text: string): string | undefined {
  const t = text.trim();
  if (!t) return undefined;
  try {
    checkTime(t);
    return undefined;
  } catch {
    return `a time limit is minutes (30) or [D-]HH:MM[:SS] (2:00:00), not '${t}'`;
  }
}

export function slurmOptionsOf(form: SlurmForm): Checked<SlurmOptions> {
  const text = (s: string | undefined) => (s && s.trim() ? s.trim() : undefined);
  const time = text(form.time);
  const timeError = time && checkTimeText(time);
  if (timeError) return { ok: false, reason: timeError };
  const gres = text(form.gres);
  if (gres !== undefined && !/^[\w-]+(:[\w-]+)?:\d+$/.test(gres)) return { ok: false, reason: `regbench.slurm.gres must look like gpu:1, got '${gres}'` };
  const cpus = form.cpusPerTask;
  if (cpus !== undefined && (!Number.isInteger(cpus) || cpus < 0))
    return { ok: false, reason: `regbench.slurm.cpusPerTask must be a whole number, got ${cpus}` };
  const extra = (form.extraArgs ?? []).map((a) => a.trim()).filter(Boolean);
  return {
    ok: true,
    value: {
      partition: text(form.partition),
      time,
      cpusPerTask: cpus ? cpus : undefined,
      gres,
      sbatchArgs: extra.length ? extra : undefined,
    },
  };
}
