/**
 * The entrants of a race from what the user named: variant files, sweep specs (a file with
 * `:NAME=v1,v2` appended, or `--set NAME=...` applying to every file) and the baseline (a template
 * name or a file; default the kind's baseline template: the blank regularizer or BatchNorm).
 * Everything is checked before anything starts: one UsageError line naming what to fix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { TASK_KINDS, type BenchId, type EngineId, type TaskKind } from '../protocol/benchmarks';
import { trackBenchmarks } from '../protocol/benchmark-tracks';
import { RACE_BASELINE_ID, type RaceEntrant } from '../protocol/race';
import { detectVariantKind, engineForFile, UsageError, variantHash } from '../runs/run-request';
import { deriveSweep } from '../variants/sweep-store';
import { parseSetOption, type SweepSpec } from '../variants/sweep';

const VARIANT_FILE = /^(.*\.(?:ts|js|mjs|cjs|py)):(.+)$/;
const BASELINE_TEMPLATE: Record<TaskKind, { dir: string; base: string; title: string }> = {
  regularizer: { dir: 'regularizers', base: 'blank', title: 'blank (baseline)' },
  norm: { dir: 'norms', base: 'batchnorm', title: 'batchnorm (baseline)' },
};

function readVariant(file: string): { source: string; engine: EngineId; kind: TaskKind } {
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: variant file not found`);
  }
  const engine = engineForFile(file);
  const k = detectVariantKind(source, engine);
  if (k.regularizer && k.norm) throw new UsageError(`${file}: defines both a regularizer and a CustomNorm; a race compares variants of one kind`);
  if (!k.regularizer && !k.norm) throw new UsageError(`${file}: defines neither computeRegularization/compute_regularization nor CustomNorm`);
  return { source, engine, kind: k.regularizer ? 'regularizer' : 'norm' };
}

function baseName(file: string): string {
  return path.basename(file).replace(/\.(ts|js|mjs|cjs|py)$/, '');
}

/** The candidates, c1, c2, ... in the order given (a sweep gives one per grid point). */
export function resolveCandidates(args: readonly string[], globalSets: SweepSpec, storeRoot: string): Array<RaceEntrant & { source?: string }> {
  if (!args.length) throw new UsageError('race needs at least one candidate variant (a file, or a file:NAME=v1,v2 sweep)');
  const out: Array<RaceEntrant & { source?: string }> = [];
  for (const arg of args) {
    const m = fs.existsSync(arg) ? null : VARIANT_FILE.exec(arg);
    const file = m ? m[1] : arg;
    const inline: SweepSpec = m ? m[2].split(':').map((s) => parseSetOption(s)) : [];
    const { source, engine, kind } = readVariant(file);
    const spec = [...globalSets, ...inline];
    if (!spec.length) {
      out.push({ id: '', label: baseName(file), variantPath: path.resolve(file), variantHash: variantHash(source), engine, kind, source });
      continue;
    }
    for (const v of deriveSweep(file, spec, storeRoot)) {
      out.push({ id: '', label: v.label, variantPath: v.path, variantHash: v.hash, engine, kind, sweep: { file: v.origin, values: v.values } });
    }
  }
  const kinds = new Set(out.map((c) => c.kind));
  if (kinds.size > 1) throw new UsageError('the candidates mix regularizers and normalization layers; a race compares variants of one kind');
  const engines = new Set(out.map((c) => c.engine));
  if (engines.size > 1) throw new UsageError('the candidates mix TypeScript and Python variants; a race compares runs of one engine');
  const seen = new Map<string, string>();
  for (const c of out) {
    const twin = seen.get(c.variantHash);
    if (twin) throw new UsageError(`${c.label} and ${twin} are the same source; list each candidate once`);
    seen.set(c.variantHash, c.label);
  }
  return out.map((c, i) => ({ ...c, id: `c${i + 1}` }));
}

/** The baseline entrant: `--baseline` (a file or a template name of the kind), else the kind's baseline template. */
export function resolveBaseline(given: string | undefined, kind: TaskKind, engine: EngineId, templatesDir: string | undefined): RaceEntrant {
  const ext = engine === 'pytorch' ? '.py' : '.ts';
  const t = BASELINE_TEMPLATE[kind];
  let file: string | undefined;
  if (given !== undefined && (fs.existsSync(given) || /[\\/]|\.(ts|js|py)$/.test(given))) file = given;
  else if (templatesDir) {
    const name = (given ?? t.base).replace(/-/g, engine === 'pytorch' ? '_' : '-');
    const candidate = path.join(templatesDir, t.dir, name + ext);
    if (fs.existsSync(candidate)) file = candidate;
    else if (given !== undefined)
      throw new UsageError(`--baseline: no template '${given}' among the ${TASK_KINDS[kind].title} (templates/${t.dir}/) and no such file`);
  }
  if (!file) throw new UsageError(`no baseline for ${TASK_KINDS[kind].title} on ${engine}: the templates folder was not found; give --baseline <file>`);
  const v = readVariant(file);
  if (v.kind !== kind) throw new UsageError(`--baseline ${file} is a ${v.kind}, the candidates are ${TASK_KINDS[kind].title}`);
  if (v.engine !== engine) throw new UsageError(`--baseline ${file} runs on ${v.engine}, the candidates on ${engine}`);
  const label = given === undefined ? t.title : `${baseName(file)} (baseline)`;
  return { id: RACE_BASELINE_ID, label, variantPath: path.resolve(file), variantHash: variantHash(v.source), engine, kind };
}

/**
 * `--bench`: ids or `all` (the development benchmarks of the kind: its track without the held-out
 * one). A held-out benchmark named explicitly is refused: the final evaluation is its own step.
 */
export function resolveBenches(text: string | undefined, kind: TaskKind, isBench: (s: string) => s is BenchId): BenchId[] {
  const heldOut = TASK_KINDS[kind].heldOut;
  if (!text) throw new UsageError(`--bench is required (benchmark ids, or all)`);
  if (text === 'all') return trackBenchmarks({ regularizer: kind === 'regularizer', norm: kind === 'norm' }).filter((b) => b !== heldOut);
  const ids = text.split(',').map((s) => s.trim());
  for (const id of ids) {
    if (!isBench(id)) throw new UsageError(`unknown benchmark '${id}'`);
    if (id === heldOut)
      throw new UsageError(
        `${id} is the held-out benchmark of ${TASK_KINDS[kind].title}: a race never runs on it; evaluate the winner with regbench final <variant>`,
      );
  }
  if (new Set(ids).size !== ids.length) throw new UsageError(`--bench lists a benchmark twice: '${text}'`);
  return ids as BenchId[];
}
