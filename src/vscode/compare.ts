/**
 * Comparing two runs: the diff of their variant snapshots ("<run A> ↔ <run B>") and the dashboard
 * in comparison mode (overlaid curves, the settings that differ, accuracy deltas per benchmark).
 * From the tree (two selected runs) or by picking the runs.
 */
import * as vscode from 'vscode';
import type { RunRecord } from '../runs/run-record';
import { filePathOf, runIdsOf } from './command-args';
import { COMMANDS } from '../protocol/command-ids';
import type { DashboardCommands } from './dashboard-panel';
import { sameFile } from '../variants/variant-file';
import { pickRun, type RunDocuments } from './run-documents';
import type { RunIndex } from '../runs/run-index';
import { RunLabels } from '../present/run-labels';

export class CompareCommands implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly index: RunIndex,
    private readonly documents: RunDocuments,
    private readonly dashboard: DashboardCommands,
    private readonly treeSelection: () => string[],
  ) {
    this.disposables.push(
      vscode.commands.registerCommand(COMMANDS.compareExperiments, (arg) => this.pickAndCompare(arg)),
      vscode.commands.registerCommand(COMMANDS.compareSelected, (arg, selection) => this.compareSelected(arg, selection)),
    );
  }

  private get labels(): RunLabels {
    return RunLabels.of(this.index);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  async compare(a: RunRecord, b: RunRecord): Promise<void> {
    await vscode.commands.executeCommand(
      'vscode.diff',
      this.documents.snapshotUri(a),
      this.documents.snapshotUri(b),
      `${this.labels.label(a)} ↔ ${this.labels.label(b)}`,
      { preview: false },
    );
    this.dashboard.compare(a, b);
  }

  private async compareSelected(arg: unknown, selection: unknown): Promise<void> {
    let ids = runIdsOf(arg, selection);
    if (ids.length < 2) ids = [...new Set([...ids, ...this.treeSelection()])];
    const records = ids.map((id) => this.index.get(id)).filter((r): r is RunRecord => r !== undefined);
    if (records.length !== 2) {
      void vscode.window.showInformationMessage(`Regbench: select exactly two runs in the Experiments view to compare them (${records.length} selected).`);
      return;
    }
    // The older run is the baseline: deltas read "what the newer run changed".
    const [a, b] = records.sort((x, y) => (x.id < y.id ? -1 : 1));
    await this.compare(a, b);
  }

  private async pickAndCompare(arg: unknown): Promise<void> {
    const variantPath = filePathOf(arg);
    const first = await pickRun(
      this.index,
      'Regbench: compare which run (the baseline)?',
      undefined,
      variantPath ? (r) => sameFile(r.spec.variantPath, variantPath) : undefined,
      true,
    );
    if (!first || first === 'extra') return;
    const a = this.index.get(first);
    if (!a) return;
    const second = await pickRun(this.index, `Regbench: compare ${this.labels.label(a)} with which run?`, undefined, (r) => r.id !== a.id, true);
    if (!second || second === 'extra') return;
    const b = this.index.get(second);
    if (b) await this.compare(a, b);
  }
}
