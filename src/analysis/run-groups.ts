/**
 * Run groups: the runs of one variant source (hash) on one benchmark, at one budget, on one
 * engine, with one recipe (epochs, subsets, training recipe) are the seeds of one measurement.
 * A group counts the latest completed run of each seed (a rerun replaces it, as in the code
 * lens), except final evaluations, which all count (no quiet best-of-N). Groups that differ in
 * budget, engine or recipe are never compared or mixed; `mismatch` says why.
 * The task's baseline is the blank regularizer (templates/regularizers/blank.*) or BatchNorm
 * (templates/norms/batchnorm.*), recognised by the hash of the template's source.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { BenchId, BudgetId, EngineId, RunSpec, TaskKind } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import { engineForFile, variantHash } from '../runs/run-request';

export interface RunGroup {
  key: string;
  variantHash: string;
  bench: BenchId;
  budget: BudgetId;
  engine: EngineId;
  /** Epochs, subsets and recipe, canonical JSON (equal strings: the same protocol). */
  protocol: string;
  /** The variant file's base name (of the latest run), e.g. "confidence-penalty". */
  name: string;
  variantPath: string;
  kinds: TaskKind[];
  /** The runs that count (completed, with a best accuracy), by seed. */
  runs: RunRecord[];
  /** Their best test accuracies, in the same order. */
  values: number[];
  /** Runs still queued or running. */
  pending: RunRecord[];
}

export function protocolOf(spec: RunSpec): string {
  return JSON.stringify({ epochs: spec.epochs, trainSubset: spec.trainSubset, testSubset: spec.testSubset, recipe: spec.recipe });
}

export function groupKeyOf(spec: RunSpec): string {
  return [spec.variantHash, spec.bench, spec.budget, spec.engine, protocolOf(spec)].join('\u0000');
}

export function taskKindsOf(kind: { regularizer: boolean; norm: boolean }): TaskKind[] {
  return [...(kind.regularizer ? (['regularizer'] as const) : []), ...(kind.norm ? (['norm'] as const) : [])];
}

export function variantName(variantPath: string): string {
  return (
    variantPath
      .replace(/\\/g, '/')
      .split('/')
      .pop()
      ?.replace(/\.(ts|js|py|mjs|cjs)$/, '') ?? variantPath
  );
}

/** Every group of `records`, in the order of their first run. */
export function groupRuns(records: readonly RunRecord[]): RunGroup[] {
  const byKey = new Map<string, RunRecord[]>();
  for (const r of [...records].sort(byCreation)) {
    const k = groupKeyOf(r.spec);
    byKey.set(k, [...(byKey.get(k) ?? []), r]);
  }
  return [...byKey.entries()].map(([key, runs]) => makeGroup(key, runs));
}

function makeGroup(key: string, runs: RunRecord[]): RunGroup {
  const latest = runs[runs.length - 1].spec;
  const counted = new Map<string, RunRecord>();
  for (const r of runs) {
    if (r.status !== 'completed' || r.bestTestAcc === null) continue;
    counted.set(r.final ? `final:${r.id}` : `seed:${r.spec.seed}`, r);
  }
  const kept = [...counted.values()].sort((x, y) => x.spec.seed - y.spec.seed || byCreation(x, y));
  return {
    key,
    variantHash: latest.variantHash,
    bench: latest.bench,
    budget: latest.budget,
    engine: latest.engine,
    protocol: protocolOf(latest),
    name: variantName(latest.variantPath),
    variantPath: latest.variantPath,
    kinds: taskKindsOf(latest.variantKind),
    runs: kept,
    values: kept.map((r) => r.bestTestAcc as number),
    pending: runs.filter((r) => r.status === 'queued' || r.status === 'running'),
  };
}

/** Why two groups (or a group and the table's setting) cannot be compared; null when they can. */
export function mismatch(a: RunGroup, b: RunGroup): string | null {
  if (a.bench !== b.bench) return `they ran on different benchmarks (${a.bench} vs ${b.bench})`;
  if (a.budget !== b.budget)
    return `they ran at different budgets (${a.budget} vs ${b.budget}): a ${a.budget} and a ${b.budget} accuracy measure different training`;
  if (a.engine !== b.engine)
    return `they ran on different engines (${a.engine} vs ${b.engine}): TensorFlow.js and PyTorch runs are not seeds of one measurement`;
  if (a.protocol !== b.protocol) return `they ran with different recipes (${recipeDiff(a.protocol, b.protocol)}), e.g. an --epochs or --train-subset override`;
  return null;
}

/** "epochs 5 vs 3, trainSubset 10000 vs 5000". */
export function recipeDiff(pa: string, pb: string): string {
  const a = JSON.parse(pa) as Record<string, unknown>;
  const b = JSON.parse(pb) as Record<string, unknown>;
  const keys = Object.keys(a).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
  return keys.map((k) => `${k} ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`).join(', ');
}

/** The baseline templates: their source hash -> task kind. */
export type BaselineHashes = Map<string, { kind: TaskKind; engine: EngineId; file: string }>;

const BASELINE_FILES: Record<TaskKind, { dir: string; base: string }> = {
  regularizer: { dir: 'regularizers', base: 'blank' },
  norm: { dir: 'norms', base: 'batchnorm' },
};

/** Hashes of templates/regularizers/blank.* and templates/norms/batchnorm.* (the exact sources). */
export function baselineHashes(templatesDir: string): BaselineHashes {
  const out: BaselineHashes = new Map();
  for (const kind of Object.keys(BASELINE_FILES) as TaskKind[]) {
    const { dir, base } = BASELINE_FILES[kind];
    let names: string[];
    try {
      names = fs.readdirSync(path.join(templatesDir, dir)).filter((n) => n.replace(/\.[^.]+$/, '') === base);
    } catch {
      continue;
    }
    for (const n of names) {
      const file = path.join(templatesDir, dir, n);
      out.set(variantHash(fs.readFileSync(file, 'utf8')), { kind, engine: engineForFile(file), file });
    }
  }
  return out;
}

/** templates/ beside the bundles (dist/..), in the package, or in the working folder. */
export function findTemplatesDir(explicit?: string): string | undefined {
  const candidates = explicit
    ? [explicit]
    : [path.join(__dirname, '..', 'templates'), path.join(__dirname, '..', '..', 'templates'), path.join(process.cwd(), 'templates')];
  return candidates.find((d) => fs.existsSync(path.join(d, 'regularizers')));
}

/** The baseline group for `target`: the task's baseline template, same benchmark and protocol. */
export function baselineGroupFor(target: RunGroup, groups: readonly RunGroup[], baselines: BaselineHashes): RunGroup | undefined {
  return groups.find((g) => {
    const b = baselines.get(g.variantHash);
    return b !== undefined && target.kinds.includes(b.kind) && g.variantHash !== target.variantHash && mismatch(g, target) === null;
  });
}

export function isBaseline(g: RunGroup, baselines: BaselineHashes): boolean {
  return baselines.has(g.variantHash);
}

function byCreation(a: RunRecord, b: RunRecord): number {
  return a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
