/**
 * "Repair Run": the editor's `regbench repair` (src/runs/run-repair.ts). On a damaged run it
 * rebuilds that run's record.json from its events; from the palette or a damaged matrix, every
 * damaged run and matrix folder. The report goes to the output channel; a notification says
 * what happened. When the index first finds a damaged run, a warning offers the repair.
 */
import * as vscode from 'vscode';
import { COMMANDS } from '../protocol/command-ids';
import { damageText } from '../runs/json-file';
import type { RunIndex } from '../runs/run-index';
import { repairRun, repairStore } from '../runs/run-repair';
import { runIdsOf } from './command-args';

export class RepairCommand implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  /** Damaged runs already offered for repair (once per window). */
  private readonly offered = new Set<string>();

  constructor(
    private readonly index: RunIndex,
    private readonly output: vscode.OutputChannel,
    view: vscode.TreeView<unknown>,
  ) {
    // Offered when the Experiments view shows (it reads the store then) and on later changes.
    const sub = index.onChange((c) => c.event?.type !== 'progress' && c.event?.type !== 'log' && this.offer());
    this.disposables.push(
      { dispose: () => sub.dispose() },
      view.onDidChangeVisibility((e) => e.visible && this.offer()),
      vscode.commands.registerCommand(COMMANDS.repairRun, (arg, selection) => this.repair(runIdsOf(arg, selection))),
    );
    if (view.visible) setTimeout(() => this.offer(), 1000);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private repair(ids: string[]): void {
    const store = this.index.store;
    let lines: string[];
    let failed = 0;
    try {
      if (ids.length) {
        lines = [];
        for (const id of ids) {
          const report = repairRun(store, id);
          if (!report.rebuilt && !report.record) failed++;
          lines.push(`run ${id}:`, ...report.lines.map((l) => (l.startsWith('  ') ? l : `  ${l}`)));
        }
      } else {
        ({ lines, failed } = repairStore(store));
      }
    } catch (err) {
      void vscode.window.showErrorMessage(`Regbench: repair failed: ${(err as Error).message}`);
      return;
    }
    this.output.appendLine(`[repair] ${lines.join('\n[repair] ')}`);
    this.index.reload();
    const summary = lines.find((l) => l.startsWith('  ')) ?? lines[0] ?? '';
    const show = 'Show Report';
    const text = `Regbench: ${failed ? 'could not rebuild everything' : 'repaired'}: ${summary.trim()}`;
    void (failed ? vscode.window.showWarningMessage(text, show) : vscode.window.showInformationMessage(text, show)).then(
      (c) => c === show && this.output.show(true),
    );
  }

  /** Offers to repair runs found damaged since the last offer. */
  private offer(): void {
    const fresh = this.index.damaged().filter((d) => !this.offered.has(d.id));
    if (!fresh.length) return;
    for (const d of fresh) this.offered.add(d.id);
    const first = fresh[0];
    const repair = 'Repair';
    const text =
      fresh.length === 1
        ? `Regbench: run ${first.id} is damaged: ${damageText(first.damage)}.`
        : `Regbench: ${fresh.length} runs are damaged, e.g. ${damageText(first.damage)}.`;
    void vscode.window
      .showWarningMessage(
        `${text} Its events, checkpoint and snapshot are intact or partly readable; Repair rebuilds the record (damaged files are kept aside).`,
        repair,
      )
      .then((c) => {
        if (c === repair) this.repair(fresh.map((d) => d.id));
      });
  }
}
