/**
 * "Regbench: Export Results Table…": kind, budget and format, then the table of the run store
 * (src/analysis/results-table.ts, as `regbench table` makes it) in an untitled editor with the
 * format's language, with an offer to save it. Tables that would mix budgets, engines or recipes
 * are refused with the reason.
 */
import * as vscode from 'vscode';
import { TASK_KINDS, type BudgetId, type TaskKind } from '../protocol/benchmarks';
import type { RunIndex } from '../runs/run-index';
import type { BaselineHashes } from '../analysis/run-groups';
import { TABLE_FORMATS, type TableFormat } from '../analysis/results-format';
import { exportTable, FORMAT_FILES, tableBudgets } from '../analysis/table-export';

export const EXPORT_RESULTS_TABLE = 'regbench.exportResultsTable';
const SAVE_AS = 'Save As…';

export class ResultsTableCommand implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly index: RunIndex,
    private readonly baselines: () => BaselineHashes,
  ) {
    this.disposables.push(vscode.commands.registerCommand(EXPORT_RESULTS_TABLE, () => this.run()));
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private async run(): Promise<void> {
    const records = this.index.all();
    const kind = await pick(
      'which task?',
      (['regularizer', 'norm'] as const).map((k) => ({ label: TASK_KINDS[k].title, value: k as TaskKind })),
    );
    if (!kind) return;
    const budgets = tableBudgets(records, kind);
    if (!budgets.length)
      return void vscode.window.showInformationMessage(`Regbench: no completed runs of ${TASK_KINDS[kind].title} yet, so there is no table to make.`);
    const budget = await pick(
      'which budget?',
      budgets.map((b) => ({ label: b, value: b as BudgetId })),
    );
    const format =
      budget &&
      (await pick(
        'which format?',
        TABLE_FORMATS.map((f) => ({ label: FORMAT_FILES[f].label, value: f as TableFormat })),
      ));
    if (!budget || !format) return;
    const result = exportTable(records, kind, budget, format, this.baselines());
    if (!result.ok) return void vscode.window.showErrorMessage(`Regbench: cannot make the table: ${result.reason}`);
    const doc = await vscode.workspace.openTextDocument({ language: FORMAT_FILES[format].language, content: result.text });
    await vscode.window.showTextDocument(doc, { preview: false });
    const damaged = this.index.damaged();
    const uncounted = damaged.length
      ? ` ${damaged.length} damaged run(s) could not be counted: ${damaged.map((d) => d.id).join(', ')} (Repair Run rebuilds them).`
      : '';
    const ready = `Regbench: results table ready.${uncounted}`;
    if ((await (uncounted ? vscode.window.showWarningMessage(ready, SAVE_AS) : vscode.window.showInformationMessage(ready, SAVE_AS))) === SAVE_AS)
      await saveAs(result.text, `results-${kind === 'norm' ? 'norm' : 'reg'}-${budget}.${FORMAT_FILES[format].extension}`);
  }
}

async function pick<T>(question: string, items: Array<{ label: string; value: T }>): Promise<T | undefined> {
  const picked = await vscode.window.showQuickPick(items, { title: `Regbench: Export Results Table: ${question}` });
  return picked?.value;
}

async function saveAs(text: string, fileName: string): Promise<void> {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
  const target = await vscode.window.showSaveDialog({ defaultUri: folder ? vscode.Uri.joinPath(folder, fileName) : undefined, saveLabel: 'Save Table' });
  if (!target) return;
  await vscode.workspace.fs.writeFile(target, new TextEncoder().encode(text));
  void vscode.window.showTextDocument(target);
}
