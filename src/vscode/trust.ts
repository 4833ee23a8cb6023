/**
 * Running a benchmark executes the variant's code (and a Python interpreter taken from the
 * settings), so it needs a trusted workspace. The manifest disables those commands in Restricted
 * Mode (`enablement: isWorkspaceTrusted`); this explains why when one is invoked anyway (from a
 * keybinding, a lens or another extension).
 */
import * as vscode from 'vscode';

const MANAGE = 'Manage Workspace Trust';

export function ensureTrusted(action: string): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window
    .showWarningMessage(
      `Regbench cannot ${action} in Restricted Mode: a run executes the variant's code and the configured Python interpreter. Trust this workspace to run benchmarks; results, the dashboard and comparisons stay available meanwhile.`,
      MANAGE,
    )
    .then((choice) => {
      if (choice === MANAGE) void vscode.commands.executeCommand('workbench.trust.manage');
    });
  return false;
}
