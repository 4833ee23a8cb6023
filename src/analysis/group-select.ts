/**
 * From what a user names (a run id, a variant file, a variant hash, or "baseline") to one run
 * group, for `regbench compare` and the editor's pickers. A run stands for its group (the seeds of
 * its source on its benchmark, budget, engine and recipe); a file for its current source. Several
 * matching groups, or a group whose numbers are held out, give a message that says what to add.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getBenchmark, type BenchId, type BudgetId, type EngineId } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import { variantHash } from '../runs/run-request';
import { visibleGroups } from './held-out';
import { baselineGroupFor, groupKeyOf, groupRuns, type BaselineHashes, type RunGroup } from './run-groups';

export class SelectError extends Error {}

export interface GroupFilter {
  bench?: BenchId;
  budget?: BudgetId;
  engine?: EngineId;
}

export interface Selection {
  records: readonly RunRecord[];
  all: RunGroup[];
  visible: RunGroup[];
}

export function selection(records: readonly RunRecord[]): Selection {
  const all = groupRuns(records);
  return { records, all, visible: visibleGroups(all, records) };
}

function matchRun(records: readonly RunRecord[], arg: string): RunRecord | undefined {
  const hits = records.filter((r) => r.id === arg || r.id.startsWith(arg) || r.id.endsWith(arg));
  if (hits.length > 1 && !hits.some((r) => r.id === arg)) throw new SelectError(`'${arg}' matches ${hits.length} runs; give more of the id`);
  return hits.find((r) => r.id === arg) ?? hits[0];
}

/** The groups `arg` names, before the filter. */
function namedGroups(sel: Selection, arg: string, cwd: string): RunGroup[] {
  const r = matchRun(sel.records, arg);
  if (r) return sel.all.filter((g) => g.key === groupKeyOf(r.spec));
  const file = path.resolve(cwd, arg);
  if (fs.existsSync(file) && fs.statSync(file).isFile()) {
    const hash = variantHash(fs.readFileSync(file, 'utf8'));
    const mine = sel.all.filter((g) => g.variantHash === hash);
    if (mine.length) return mine;
    const earlier = [...new Set(sel.all.filter((g) => path.resolve(g.variantPath) === file).map((g) => g.variantHash))];
    throw new SelectError(
      `${arg}: its current source (${hash}) has no runs${earlier.length ? `; earlier sources of this file have: ${earlier.join(', ')} (name one by hash)` : ''}`,
    );
  }
  if (/^[0-9a-f]{4,16}$/.test(arg)) {
    const mine = sel.all.filter((g) => g.variantHash.startsWith(arg));
    const hashes = new Set(mine.map((g) => g.variantHash));
    if (hashes.size > 1) throw new SelectError(`'${arg}' is the start of ${hashes.size} variant hashes (${[...hashes].join(', ')}); give more of it`);
    if (mine.length) return mine;
  }
  throw new SelectError(`'${arg}' is neither a run id, a variant file nor a variant hash with runs`);
}

function describeChoices(groups: readonly RunGroup[]): string {
  return groups.map((g) => `${g.bench} ${g.budget} ${g.engine} (n=${g.values.length})`).join('; ');
}

/** Exactly one group for `arg` under `filter`, visible (not held out), or a SelectError. */
export function selectGroup(sel: Selection, arg: string, filter: GroupFilter, cwd = process.cwd()): RunGroup {
  const named = namedGroups(sel, arg, cwd);
  const fits = named.filter(
    (g) => (!filter.bench || g.bench === filter.bench) && (!filter.budget || g.budget === filter.budget) && (!filter.engine || g.engine === filter.engine),
  );
  if (!fits.length) throw new SelectError(`'${arg}' has no runs that fit ${JSON.stringify(filter)}; it has: ${describeChoices(named)}`);
  if (fits.length > 1) {
    const benches = new Set(fits.map((g) => g.bench));
    const hint =
      benches.size > 1
        ? '--bench'
        : new Set(fits.map((g) => g.budget)).size > 1
          ? '--budget'
          : new Set(fits.map((g) => g.engine)).size > 1
            ? '--engine'
            : 'a run id (the recipes differ)';
    throw new SelectError(`'${arg}' names ${fits.length} groups (${describeChoices(fits)}); choose with ${hint}`);
  }
  const [group] = fits;
  const visible = sel.visible.find((g) => g.key === group.key);
  if (!visible)
    throw new SelectError(
      `${group.name} on ${getBenchmark(group.bench).title} is held out: its numbers show after a final evaluation of this source (regbench final <variant>)`,
    );
  if (!visible.values.length)
    throw new SelectError(
      `${group.name} on ${getBenchmark(group.bench).title} (${group.budget}) has no completed run yet${group.pending.length ? ` (${group.pending.length} queued or running)` : ''}`,
    );
  return visible;
}

/** The task's baseline group for `target` (same benchmark, budget, engine and recipe). */
export function selectBaseline(sel: Selection, target: RunGroup, baselines: BaselineHashes): RunGroup {
  const b = baselineGroupFor(
    target,
    sel.visible.filter((g) => g.values.length > 0),
    baselines,
  );
  if (b) return b;
  const template = target.kinds.includes('norm') && !target.kinds.includes('regularizer') ? 'templates/norms/batchnorm' : 'templates/regularizers/blank';
  const ext = target.engine === 'pytorch' ? 'py' : 'ts';
  throw new SelectError(
    `no baseline runs for ${getBenchmark(target.bench).title} at budget ${target.budget} on ${target.engine} with the same recipe; run: regbench run ${template}.${ext} --bench ${target.bench} --budget ${target.budget} --seeds 0,1,2`,
  );
}
