/**
 * Runs written by another process (the CLI in a terminal, another window) reach the views
 * through the file system: a changed `runs/<id>/record.json` refreshes that run in the index, a
 * removed `runs/<id>` folder drops it. This window's own writes come back here too; the index
 * ignores records that did not change. A changed `runs/<id>/events.jsonl` (progress inside an
 * epoch, which leaves the record as it was) is reported to `onEvents`, at most once a second per run.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { RunIndex } from '../runs/run-index';

export class StoreWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly eventTimers = new Map<string, NodeJS.Timeout>();

  /** `base` and `prefix` locate the runs folder: base/prefix/runs (prefix '' when base is the store). */
  constructor(
    private readonly index: RunIndex,
    base: vscode.WorkspaceFolder | vscode.Uri,
    prefix: string,
    onEvents?: (runId: string) => void,
  ) {
    const records = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, `${prefix}runs/*/record.json`));
    const folders = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, `${prefix}runs/*`), true, true, false);
    const onRecord = (uri: vscode.Uri) => this.schedule(path.basename(path.dirname(uri.fsPath)));
    this.disposables.push(
      records,
      folders,
      records.onDidCreate(onRecord),
      records.onDidChange(onRecord),
      records.onDidDelete(onRecord),
      folders.onDidDelete((uri) => this.schedule(path.basename(uri.fsPath))),
      { dispose: () => this.timer && clearTimeout(this.timer) },
      { dispose: () => this.eventTimers.forEach((t) => clearTimeout(t)) },
    );
    if (onEvents) {
      const events = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, `${prefix}runs/*/events.jsonl`), false, false, true);
      const onEvent = (uri: vscode.Uri) => this.scheduleEvents(path.basename(path.dirname(uri.fsPath)), onEvents);
      this.disposables.push(events, events.onDidCreate(onEvent), events.onDidChange(onEvent));
    }
  }

  private scheduleEvents(runId: string, onEvents: (runId: string) => void): void {
    if (this.eventTimers.has(runId)) return;
    this.eventTimers.set(
      runId,
      setTimeout(() => {
        this.eventTimers.delete(runId);
        onEvents(runId);
      }, 1000),
    );
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private schedule(runId: string): void {
    this.pending.add(runId);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      const ids = [...this.pending];
      this.pending.clear();
      for (const id of ids) {
        try {
          this.index.refresh(id);
        } catch {
          // Not a run folder (a stray file under runs/): nothing to show.
        }
      }
    }, 300);
  }
}
