/**
 * What the commands receive: nothing (command palette), a Uri (editor and explorer menus), a
 * run id (code lenses, notifications, the dashboard), or tree nodes (context menus pass the
 * clicked node and the whole selection). One place turns them into run ids and file paths.
 */
import * as vscode from 'vscode';

function runIdOf(x: unknown): string | undefined {
  if (typeof x === 'string' && x) return x;
  if (typeof x === 'object' && x !== null && typeof (x as { runId?: unknown }).runId === 'string') return (x as { runId: string }).runId;
  return undefined;
}

/** Run ids from (clicked, selection): the selection wins when it includes the clicked node. */
export function runIdsOf(clicked: unknown, selection?: unknown): string[] {
  const fromSelection = Array.isArray(selection) ? selection.map(runIdOf).filter((id): id is string => id !== undefined) : [];
  const one = runIdOf(clicked);
  if (fromSelection.length && (one === undefined || fromSelection.includes(one))) return fromSelection;
  if (Array.isArray(clicked)) return clicked.map(runIdOf).filter((id): id is string => id !== undefined);
  return one !== undefined ? [one] : [];
}

/** A file path from a Uri argument (file scheme only) or an object with a `variantPath`. */
export function filePathOf(arg: unknown): string | undefined {
  if (arg instanceof vscode.Uri) return arg.scheme === 'file' ? arg.fsPath : undefined;
  if (typeof arg === 'object' && arg !== null && typeof (arg as { variantPath?: unknown }).variantPath === 'string') {
    return (arg as { variantPath: string }).variantPath;
  }
  return undefined;
}
