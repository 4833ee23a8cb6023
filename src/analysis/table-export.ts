/**
 * The editor's "Export Results Table…" as data: the choices it offers (the budgets that have
 * completed runs of the kind), the table's text in the chosen format or the reason it cannot be
 * made (mixed budgets, engines or recipes: the message of src/analysis/results-table.ts), and the
 * editor language and file extension of each format. No `vscode` import.
 */
import { BUDGET_IDS, type BudgetId, type TaskKind } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import type { BaselineHashes } from './run-groups';
import { buildResultsTable, TableError } from './results-table';
import { renderTable, type TableFormat } from './results-format';

export const FORMAT_FILES: Record<TableFormat, { label: string; language: string; extension: string }> = {
  md: { label: 'Markdown', language: 'markdown', extension: 'md' },
  latex: { label: 'LaTeX (booktabs)', language: 'latex', extension: 'tex' },
  csv: { label: 'CSV', language: 'plaintext', extension: 'csv' },
  json: { label: 'JSON', language: 'json', extension: 'json' },
};

function ofKind(r: RunRecord, kind: TaskKind): boolean {
  return kind === 'regularizer' ? r.spec.variantKind.regularizer : r.spec.variantKind.norm;
}

/** Budgets with completed runs of `kind`, in the protocol's order. */
export function tableBudgets(records: readonly RunRecord[], kind: TaskKind): BudgetId[] {
  const have = new Set(records.filter((r) => r.status === 'completed' && ofKind(r, kind)).map((r) => r.spec.budget));
  return BUDGET_IDS.filter((b) => have.has(b));
}

export type ExportResult = { ok: true; text: string } | { ok: false; reason: string };

export function exportTable(
  records: readonly RunRecord[],
  kind: TaskKind,
  budget: BudgetId | undefined,
  format: TableFormat,
  baselines: BaselineHashes,
): ExportResult {
  try {
    return { ok: true, text: renderTable(buildResultsTable(records, { kind, budget, baselines }), format) };
  } catch (err) {
    if (err instanceof TableError) return { ok: false, reason: err.message };
    throw err;
  }
}
