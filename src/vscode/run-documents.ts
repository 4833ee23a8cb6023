/**
 * Read-only documents of a run: its log (`regbench-log:`; events, errors and the worker's stderr,
 * updated while the run goes on) and its variant snapshot (`regbench-snapshot:`; the source the
 * run trained, which must not be edited by accident). Plus the commands that open them.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { getBenchmark } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import { variantNameOf } from '../present/dashboard-model';
import { runIdsOf } from './command-args';
import { COMMANDS } from '../protocol/command-ids';
import type { RunIndex } from '../runs/run-index';
import { runLogText } from '../present/run-log-text';
import { STDERR_FILE } from '../runs/run-store';
import { RunLabels } from '../present/run-labels';

export const LOG_SCHEME = 'regbench-log';
export const SNAPSHOT_SCHEME = 'regbench-snapshot';

export class RunDocuments implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  /** Log documents handed out, by run id, so a change of the run refreshes the open one. */
  private readonly logUris = new Map<string, vscode.Uri>();
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly index: RunIndex,
    private readonly output: vscode.LogOutputChannel,
  ) {
    const logs: vscode.TextDocumentContentProvider = {
      onDidChange: this.changed.event,
      provideTextDocumentContent: (uri) => this.logText(runIdOfUri(uri)),
    };
    const snapshots: vscode.TextDocumentContentProvider = {
      provideTextDocumentContent: (uri) => this.index.store.variantSource(runIdOfUri(uri)) ?? '(the run or its snapshot was deleted)',
    };
    this.disposables.push(
      this.changed,
      vscode.workspace.registerTextDocumentContentProvider(LOG_SCHEME, logs),
      vscode.workspace.registerTextDocumentContentProvider(SNAPSHOT_SCHEME, snapshots),
      vscode.commands.registerCommand(COMMANDS.showRunLog, (arg, selection) => this.showLog(runIdsOf(arg, selection))),
      vscode.commands.registerCommand(COMMANDS.showOutput, () => this.output.show(true)),
      vscode.commands.registerCommand(COMMANDS.revealSnapshot, (arg, selection) => this.revealSnapshots(runIdsOf(arg, selection))),
      { dispose: () => this.timer && clearTimeout(this.timer) },
    );
    const sub = index.onChange((c) => this.scheduleRefresh(c.runId));
    this.disposables.push({ dispose: () => sub.dispose() });
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  snapshotUri(r: RunRecord): vscode.Uri {
    const file = variantNameOf(r.spec.variantPath) + path.extname(r.variantSnapshot);
    return vscode.Uri.from({ scheme: SNAPSHOT_SCHEME, path: `/${r.id}/${file}` });
  }

  logUri(r: RunRecord): vscode.Uri {
    const file = `${variantNameOf(r.spec.variantPath)} ${getBenchmark(r.spec.bench).short.replace(/\//g, '-')} seed ${r.spec.seed}.log`;
    const uri = vscode.Uri.from({ scheme: LOG_SCHEME, path: `/${r.id}/${file}` });
    this.logUris.set(r.id, uri);
    return uri;
  }

  private async showLog(ids: string[]): Promise<void> {
    let runId = ids[0];
    if (!runId) {
      const picked = await pickRun(this.index, 'Regbench: show the log of which run?', {
        label: 'Regbench output',
        description: 'worker stderr of this window, all runs',
      });
      if (!picked) return;
      if (picked === 'extra') {
        this.output.show(true);
        return;
      }
      runId = picked;
    }
    const r = this.index.get(runId);
    if (!r) {
      void vscode.window.showErrorMessage(`Regbench: run ${runId} no longer exists.`);
      return;
    }
    const doc = await vscode.workspace.openTextDocument(this.logUri(r));
    await vscode.window.showTextDocument(doc, { preview: true });
  }

  private async revealSnapshots(ids: string[]): Promise<void> {
    for (const id of ids) {
      const r = this.index.get(id);
      if (r) await vscode.window.showTextDocument(this.snapshotUri(r), { preview: ids.length === 1 });
    }
  }

  private logText(runId: string): string {
    const r = this.index.get(runId);
    if (!r) return `Run ${runId} no longer exists.\n`;
    let stderr: string | undefined;
    try {
      stderr = fs.readFileSync(path.join(this.index.store.runDir(runId), STDERR_FILE), 'utf8');
    } catch {
      stderr = undefined;
    }
    return runLogText(r, this.index.store.events(runId), stderr);
  }

  private scheduleRefresh(runId: string): void {
    if (!this.logUris.has(runId)) return;
    this.pending.add(runId);
    // A run writes several events a second; an open log needs to follow at a human pace.
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      for (const id of this.pending) {
        const uri = this.logUris.get(id);
        if (uri) this.changed.fire(uri);
      }
      this.pending.clear();
    }, 1000);
  }
}

function runIdOfUri(uri: vscode.Uri): string {
  return uri.path.split('/')[1] ?? '';
}

/**
 * Quick pick of runs, newest first (running and queued ones on top). Returns the run id,
 * 'extra' when the extra first item was chosen, or undefined.
 */
export async function pickRun(
  index: RunIndex,
  title: string,
  extra?: { label: string; description?: string },
  filter: (r: RunRecord) => boolean = () => true,
  /** A step of a multi-step pick: stays open when a webview (the dashboard updating) takes focus. */
  ignoreFocusOut = false,
): Promise<string | 'extra' | undefined> {
  type Item = vscode.QuickPickItem & { runId?: string };
  const runs = index.all().filter(filter).reverse();
  const active = (r: RunRecord) => r.status === 'running' || r.status === 'queued';
  const ordered = [...runs.filter(active), ...runs.filter((r) => !active(r))];
  const items: Item[] = [
    ...(extra ? [{ label: extra.label, description: extra.description }] : []),
    ...ordered.map((r) => ({ label: RunLabels.of(index).label(r), description: describeRun(r), runId: r.id })),
  ];
  if (!ordered.length && !extra) {
    void vscode.window.showInformationMessage('Regbench: there are no runs yet.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(items, { title, matchOnDescription: true, ignoreFocusOut });
  if (!picked) return undefined;
  return picked.runId ?? 'extra';
}

export function describeRun(r: RunRecord): string {
  const acc = r.bestTestAcc === null ? '' : ` · best ${r.bestTestAcc.toFixed(1)}%`;
  return `${r.status}${acc} · ${r.spec.budget}`;
}
