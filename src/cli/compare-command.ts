/**
 * `regbench compare <A> [<B>] [--bench id] [--budget b] [--engine e] [--json]`: B against A, where
 * each is a run id (standing for its group of seeds), a variant file (its current source) or a
 * variant hash, or the word `baseline` (the task's blank regularizer / BatchNorm). With one
 * argument, it is compared against the baseline. Groups of different benchmarks, budgets, engines
 * or recipes are refused with the reason (exit 2). Groups that ran the same seeds are compared
 * paired (paired t, sign-flip test) and say "paired, n=3 seeds"; otherwise Welch and the
 * permutation test, saying "unpaired: seeds differ". The unpaired figures are printed either way.
 */
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BUDGET_IDS, getBenchmark, isBenchId, type BenchId, type BudgetId } from '../protocol/benchmarks';
import { RunStore } from '../runs/run-store';
import { UsageError } from '../runs/run-request';
import { baselineHashes, findTemplatesDir, mismatch, type RunGroup } from '../analysis/run-groups';
import { selectBaseline, selectGroup, selection, SelectError, type GroupFilter } from '../analysis/group-select';
import { formatDiff, formatP, type Comparison, type Interval } from '../analysis/statistics';
import { compareSeeded, seededOf, type SeedComparison } from '../analysis/seed-comparison';
import { parseEngine } from './table-command';

export const COMPARE_USAGE = 'regbench compare <run|variant|hash|baseline> [<run|variant|hash>] [--bench id] [--budget b] [--engine tfjs|pytorch] [--json]';

const f2 = (x: number) => x.toFixed(2);
const interval = (i: Interval | null) => (i ? `[${f2(i[0])}, ${f2(i[1])}]` : 'n/a (n=1)');

function groupLine(label: string, g: RunGroup, c: Comparison['a']): string {
  const spread = c.n > 1 ? ` ± ${f2(c.std)}` : '';
  return `${label}: ${g.name} (${g.variantHash}) on ${getBenchmark(g.bench).title}, ${g.budget}, ${g.engine}: ${f2(c.mean)}${spread} (n=${c.n}), 95% CI ${interval(c.ci95)}; seeds ${g.runs.map((r) => r.spec.seed).join(', ')}`;
}

export function formatComparison(a: RunGroup, b: RunGroup, s: SeedComparison): string {
  const c = s.unpaired;
  const lines = [groupLine('A', a, c.a), groupLine('B', b, c.b), `comparison: ${s.method}`];
  const how = s.paired ? `paired t, ${s.paired.n} differences` : 'Welch';
  lines.push(`difference B - A: ${formatDiff(s.diff)} points, 95% CI ${s.diffCi95 ? interval(s.diffCi95) : 'n/a'} (${how})`);
  const p = s.paired;
  if (p && p.t !== null && p.tP !== null) lines.push(`paired t-test: t = ${f2(p.t)}, df = ${p.df}, ${formatP(p.tP)} (two-sided)`);
  if (p && p.signFlipP !== null)
    lines.push(
      `${p.signFlipExact ? 'exact' : 'Monte Carlo'} sign-flip test: ${formatP(p.signFlipP)} (two-sided, ${p.signFlipExact ? `all ${2 ** p.n} sign flips` : 'seeded random sign flips'})`,
    );
  const unpairedTag = p ? ' [unpaired, for reference]' : '';
  if (c.welch) lines.push(`Welch t-test: t = ${f2(c.welch.t)}, df = ${c.welch.df.toFixed(1)}, ${formatP(c.welch.p ?? 1)} (two-sided)${unpairedTag}`);
  if (c.permutationP !== null)
    lines.push(`exact permutation test: ${formatP(c.permutationP)} (two-sided, every split of the ${c.a.n + c.b.n} runs)${unpairedTag}`);
  lines.push(`P(B > A) = ${f2(c.pImprovement)}${c.pImprovementCi95 ? `, bootstrap 95% CI ${interval(c.pImprovementCi95)}` : ''}`);
  const note = s.note ?? c.note;
  if (note) lines.push(note);
  return lines.join('\n') + '\n';
}

function resolvePair(args: readonly string[], filter: GroupFilter, store: RunStore): [RunGroup, RunGroup] {
  const sel = selection(store.list());
  const templates = findTemplatesDir();
  const baselines = templates ? baselineHashes(templates) : new Map();
  const [first, second] = args.length === 1 ? ['baseline', args[0]] : args;
  if (first === 'baseline' && second === 'baseline') throw new UsageError('compare needs at least one group that is not the baseline');
  const pick = (arg: string, other?: RunGroup) => (arg === 'baseline' && other ? selectBaseline(sel, other, baselines) : selectGroup(sel, arg, filter));
  if (first === 'baseline') {
    const b = pick(second);
    return [pick(first, b), b];
  }
  const a = pick(first);
  return [a, pick(second, a)];
}

export function runCompareCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      bench: { type: 'string' },
      budget: { type: 'string' },
      engine: { type: 'string' },
      json: { type: 'boolean', default: false },
      workspace: { type: 'string' },
    },
  });
  if (positionals.length < 1 || positionals.length > 2) throw new UsageError(`compare takes one or two groups: ${COMPARE_USAGE}`);
  if (values.bench !== undefined && !isBenchId(values.bench)) throw new UsageError(`unknown benchmark '${values.bench}'`);
  if (values.budget !== undefined && !BUDGET_IDS.includes(values.budget as BudgetId)) throw new UsageError(`--budget must be one of ${BUDGET_IDS.join(', ')}`);
  const filter: GroupFilter = { bench: values.bench as BenchId | undefined, budget: values.budget as BudgetId | undefined, engine: parseEngine(values.engine) };
  const store = RunStore.forWorkspace(path.resolve(values.workspace ?? process.env.REGBENCH_WORKSPACE ?? process.cwd()));
  let pair: [RunGroup, RunGroup];
  try {
    pair = resolvePair(positionals, filter, store);
  } catch (err) {
    if (!(err instanceof SelectError)) throw err;
    process.stderr.write(`regbench: ${err.message}\n`);
    return 2;
  }
  const [a, b] = pair;
  const why = mismatch(a, b);
  if (why) {
    process.stderr.write(`regbench: cannot compare ${a.name} with ${b.name}: ${why}\n`);
    return 2;
  }
  const s = compareSeeded(seededOf(a), seededOf(b));
  const summary = (g: RunGroup) => ({
    name: g.name,
    variantHash: g.variantHash,
    bench: g.bench,
    budget: g.budget,
    engine: g.engine,
    runs: g.runs.map((r) => r.id),
    seeds: g.runs.map((r) => r.spec.seed),
    values: g.values,
  });
  const json = { a: summary(a), b: summary(b), method: s.method, p: s.p, paired: s.paired, comparison: s.unpaired };
  process.stdout.write(values.json ? JSON.stringify(json, null, 2) + '\n' : formatComparison(a, b, s));
  return 0;
}
