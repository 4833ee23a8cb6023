/**
 * `regbench table [--kind reg|norm] [--budget b] [--engine tfjs|pytorch] [--baseline HASH]
 *                 [--format md|latex|csv|json] [--out FILE]`: the results table of the run store
 * (src/analysis/results-table.ts). Exit 2 when the runs cannot be tabled as asked (mixed budgets,
 * engines or recipes, nothing completed), with the reason.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BUDGET_IDS, type BudgetId, type EngineId, type TaskKind } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import { RunStore } from '../runs/run-store';
import { UsageError } from '../runs/run-request';
import { damageText } from '../runs/json-file';
import { baselineHashes, findTemplatesDir } from '../analysis/run-groups';
import { buildResultsTable, TableError } from '../analysis/results-table';
import { renderTable, TABLE_FORMATS, type TableFormat } from '../analysis/results-format';

export const TABLE_USAGE =
  'regbench table [--kind reg|norm] [--budget smoke|quick|full] [--engine tfjs|pytorch] [--baseline HASH] [--format md|latex|csv|json] [--out FILE]';

export function parseKind(value: string | undefined): TaskKind | undefined {
  if (value === undefined) return undefined;
  if (value === 'reg' || value === 'regularizer') return 'regularizer';
  if (value === 'norm') return 'norm';
  throw new UsageError(`--kind must be reg or norm, got '${value}'`);
}

export function parseEngine(value: string | undefined): EngineId | undefined {
  if (value === undefined || value === 'tfjs' || value === 'pytorch') return value;
  throw new UsageError(`--engine must be tfjs or pytorch, got '${value}'`);
}

/** The only task kind with completed runs, or a usage error asking for --kind. */
function defaultKind(records: readonly RunRecord[]): TaskKind {
  const done = records.filter((r) => r.status === 'completed');
  const kinds = new Set<TaskKind>();
  for (const r of done) {
    if (r.spec.variantKind.regularizer) kinds.add('regularizer');
    if (r.spec.variantKind.norm) kinds.add('norm');
  }
  if (kinds.size === 1) return [...kinds][0];
  throw new UsageError(kinds.size ? 'there are runs of regularizers and of norms: choose with --kind reg|norm' : 'no completed runs yet');
}

export function runTableCommand(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      kind: { type: 'string' },
      budget: { type: 'string' },
      engine: { type: 'string' },
      baseline: { type: 'string' },
      format: { type: 'string', default: 'md' },
      out: { type: 'string' },
      templates: { type: 'string' },
      workspace: { type: 'string' },
    },
  });
  if (!TABLE_FORMATS.includes(values.format as TableFormat)) throw new UsageError(`--format must be one of ${TABLE_FORMATS.join(', ')}`);
  if (values.budget !== undefined && !BUDGET_IDS.includes(values.budget as BudgetId)) throw new UsageError(`--budget must be one of ${BUDGET_IDS.join(', ')}`);
  const store = RunStore.forWorkspace(path.resolve(values.workspace ?? process.env.REGBENCH_WORKSPACE ?? process.cwd()));
  const { records, damaged } = store.scan();
  // A damaged run cannot be counted: say which, so a table is never short of runs silently.
  for (const d of damaged) {
    process.stderr.write(
      `regbench: warning: run ${d.id} is not counted: ${damageText(d.damage)}${d.lastStatus ? ` (its events say ${d.lastStatus})` : ''}; \`regbench repair ${d.id}\` rebuilds it\n`,
    );
  }
  const templates = findTemplatesDir(values.templates);
  let text: string;
  try {
    const table = buildResultsTable(records, {
      kind: parseKind(values.kind) ?? defaultKind(records),
      budget: values.budget as BudgetId | undefined,
      engine: parseEngine(values.engine),
      baselines: templates ? baselineHashes(templates) : new Map(),
      baselineHash: values.baseline,
    });
    text = renderTable(table, values.format as TableFormat);
  } catch (err) {
    if (!(err instanceof TableError)) throw err;
    process.stderr.write(`regbench: cannot make the table: ${err.message}\n`);
    return 2;
  }
  if (values.out) fs.writeFileSync(values.out, text);
  else process.stdout.write(text);
  return 0;
}
