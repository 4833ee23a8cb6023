/**
 * "Copy Rerun Command" on a run (the Experiments view's context menu, or any command argument
 * naming a run): copies the command recorded with the run (env.command) to the clipboard.
 */
import * as vscode from 'vscode';
import type { RunIndex } from '../runs/run-index';
import { rerunCommandOf } from '../present/rerun-text';
import { runIdsOf } from './command-args';

export const COPY_RERUN_COMMAND = 'regbench.copyRerunCommand';

export class CopyRerunCommand implements vscode.Disposable {
  private readonly disposable: vscode.Disposable;

  constructor(private readonly index: RunIndex) {
    this.disposable = vscode.commands.registerCommand(COPY_RERUN_COMMAND, (clicked?: unknown) => this.copy(runIdsOf(clicked)[0]));
  }

  dispose(): void {
    this.disposable.dispose();
  }

  private async copy(runId: string | undefined): Promise<void> {
    const record = runId ? this.index.get(runId) : undefined;
    if (!record) return void vscode.window.showInformationMessage('Regbench: choose a run in the Experiments view to copy its rerun command.');
    const c = rerunCommandOf(record);
    if (!c.ok) return void vscode.window.showWarningMessage(`Regbench: ${c.reason}.`);
    await vscode.env.clipboard.writeText(c.command);
    vscode.window.setStatusBarMessage(`Regbench: copied ${c.command}`, 4000);
  }
}
