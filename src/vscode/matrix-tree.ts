/**
 * The "Slurm Matrices" view (beside Experiments; shown once the workspace has a matrix): each
 * submitted matrix, then its tasks with state, run id, last epoch and best accuracy. Cancel
 * (scancel, then the runs are marked cancelled) and Resume (scontrol requeue of the stopped tasks
 * that can continue from a checkpoint) act on a task or a whole matrix. Task nodes carry `runId`,
 * so the run commands (dashboard, log) work on them too. Curves reach the dashboard through the
 * store watcher, as the nodes write the runs' records.
 */
import * as vscode from 'vscode';
import { COMMANDS } from '../protocol/command-ids';
import type { RunIndex } from '../runs/run-index';
import type { RunStore } from '../runs/run-store';
import { requeue } from '../runs/slurm/client';
import { cancelTasks, type TaskRow } from '../runs/slurm/jobs';
import { scanMatrices, type DamagedMatrix, type MatrixInfo } from '../runs/slurm/matrix';
import { damageText } from '../runs/json-file';
import { canCancel, canResume, matrixLabel, matrixSummary, taskDescription } from '../runs/slurm/matrix-view';
import { MatrixPoller, type MatrixRows } from '../runs/slurm/matrix-poller';

export const MATRICES_VIEW_ID = 'regbench.slurmMatrices';
export const MATRIX_COMMANDS = { cancel: 'regbench.cancelSlurmTasks', resume: 'regbench.resumeSlurmTasks', refresh: 'regbench.refreshSlurmMatrices' } as const;
const HAS_MATRICES = 'regbench.hasSlurmMatrices';

type MatrixNode = { kind: 'matrix'; matrixId: string };
type TaskNode = { kind: 'task'; matrixId: string; arrayTaskId: number; runId: string };
/** A matrix folder whose matrix.json, tasks.json or job.sh is damaged. */
type DamagedNode = { kind: 'damaged'; matrixId: string };
type Node = MatrixNode | TaskNode | DamagedNode;

export class MatrixTree implements vscode.TreeDataProvider<Node>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<Node | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly poller: MatrixPoller;
  private readonly view: vscode.TreeView<Node>;

  constructor(
    private readonly store: RunStore,
    index: RunIndex,
  ) {
    this.poller = new MatrixPoller({ store, changed: () => this.changed.fire(undefined), visible: () => this.view.visible });
    this.view = vscode.window.createTreeView(MATRICES_VIEW_ID, { treeDataProvider: this, canSelectMany: true });
    const sub = index.onChange((c) => c.record && this.poller.onRecord(c.record) && this.changed.fire(undefined));
    this.disposables.push(
      this.changed,
      this.view,
      { dispose: () => sub.dispose() },
      { dispose: () => this.poller.dispose() },
      this.view.onDidChangeVisibility((e) => e.visible && this.poller.kick()),
      vscode.commands.registerCommand(MATRIX_COMMANDS.cancel, (n?: Node, sel?: Node[]) => this.cancel(nodesOf(n, sel))),
      vscode.commands.registerCommand(MATRIX_COMMANDS.resume, (n?: Node, sel?: Node[]) => this.resume(nodesOf(n, sel))),
      vscode.commands.registerCommand(MATRIX_COMMANDS.refresh, () => this.poller.kick()),
    );
    // After activation, not during it: one readdir says whether the view has anything to show.
    setTimeout(() => void vscode.commands.executeCommand('setContext', HAS_MATRICES, hasMatrixFolders(store)), 0);
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  /** A matrix was just submitted: show the view and follow it. */
  submitted(_m: MatrixInfo): void {
    void vscode.commands.executeCommand('setContext', HAS_MATRICES, true);
    this.poller.kick();
  }

  getChildren(node?: Node): Node[] {
    if (!this.poller.hasLoaded) {
      this.poller.kick();
      return [];
    }
    if (!node) {
      const damaged: Node[] = this.poller.damaged.map((d) => ({ kind: 'damaged', matrixId: d.id }));
      return [...damaged, ...[...this.poller.matrices].reverse().map((m): Node => ({ kind: 'matrix', matrixId: m.matrix.id }))];
    }
    if (node.kind !== 'matrix') return [];
    const rows = this.rowsOf(node.matrixId)?.rows ?? [];
    return rows.map((r) => ({ kind: 'task', matrixId: r.matrixId, arrayTaskId: r.arrayTaskId, runId: r.runId }));
  }

  getTreeItem(node: Node): vscode.TreeItem {
    if (node.kind === 'damaged') {
      const d = this.poller.damaged.find((x) => x.id === node.matrixId);
      return d ? damagedItem(d) : new vscode.TreeItem('(repaired matrix)');
    }
    const m = this.rowsOf(node.matrixId);
    if (!m) return new vscode.TreeItem('(removed matrix)');
    if (node.kind === 'matrix') return matrixItem(m);
    const row = m.rows.find((r) => r.arrayTaskId === node.arrayTaskId);
    return row ? taskItem(row) : new vscode.TreeItem('(unknown task)');
  }

  private rowsOf(matrixId: string): MatrixRows | undefined {
    return this.poller.matrices.find((m) => m.matrix.id === matrixId);
  }

  private rowsFor(nodes: readonly Node[], allowed: (r: TaskRow) => boolean): TaskRow[] {
    const rows = nodes.flatMap((n) =>
      (this.rowsOf(n.matrixId)?.rows ?? []).filter((r) => n.kind === 'matrix' || (n.kind === 'task' && r.arrayTaskId === n.arrayTaskId)),
    );
    return [...new Map(rows.filter(allowed).map((r) => [r.runId, r])).values()];
  }

  private async cancel(nodes: readonly Node[]): Promise<void> {
    const rows = this.rowsFor(nodes, canCancel);
    if (!rows.length) return void vscode.window.showInformationMessage('Regbench: no pending or running task there to cancel.');
    const byJob = wholeJobs(rows, (matrixId) => this.rowsOf(matrixId)?.matrix.runIds.length ?? 0);
    await this.act(`Regbench: cancelling ${rows.length} Slurm task(s)`, byJob, (t) => cancelTasks(this.store, t, { waitMs: 10_000 }).then(() => undefined));
  }

  private async resume(nodes: readonly Node[]): Promise<void> {
    const rows = this.rowsFor(nodes, canResume);
    if (!rows.length)
      return void vscode.window.showInformationMessage(
        'Regbench: no stopped task there can continue from a checkpoint (completed, cancelled and failed runs are not resumed).',
      );
    await this.act(
      `Regbench: requeueing ${rows.length} Slurm task(s)`,
      rows.map((r) => `${r.jobId}_${r.arrayTaskId}`),
      (t) => requeue(t),
    );
    for (const id of new Set(rows.map((r) => r.matrixId))) this.poller.kick(id);
  }

  private async act(title: string, targets: readonly string[], one: (target: string) => Promise<void>): Promise<void> {
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, async () => {
        for (const t of targets) await one(t);
      });
    } catch (err) {
      void vscode.window.showErrorMessage(`Regbench: ${(err as Error).message.split('\n')[0]}`);
    }
    this.poller.kick();
  }
}

/** The cancel targets: a whole job id when every task of it is picked, else each run id. */
function wholeJobs(rows: readonly TaskRow[], taskCount: (matrixId: string) => number): string[] {
  const out: string[] = [];
  for (const matrixId of new Set(rows.map((r) => r.matrixId))) {
    const mine = rows.filter((r) => r.matrixId === matrixId);
    if (mine.length === taskCount(matrixId)) out.push(mine[0].jobId);
    else out.push(...mine.map((r) => r.runId));
  }
  return out;
}

function nodesOf(clicked: Node | undefined, selection: Node[] | undefined): Node[] {
  if (selection?.length && (!clicked || selection.includes(clicked))) return selection;
  return clicked ? [clicked] : [];
}

function hasMatrixFolders(store: RunStore): boolean {
  const { matrices, damaged } = scanMatrices(store);
  return matrices.length + damaged.length > 0;
}

/** A damaged matrix folder: the file and the reason; clicking it repairs (every damaged file of the store). */
function damagedItem(d: DamagedMatrix): vscode.TreeItem {
  const item = new vscode.TreeItem(`matrix ${d.id}: damaged`, vscode.TreeItemCollapsibleState.None);
  item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
  item.description = damageText(d.damage);
  item.tooltip = `${damageText(d.damage)}\nRepair Run rebuilds matrix.json from its runs' records and tasks.json from matrix.json; damaged files are kept aside.`;
  item.contextValue = 'regbench.damagedMatrix';
  item.command = { command: COMMANDS.repairRun, title: 'Repair', arguments: [] };
  return item;
}

function matrixItem(m: MatrixRows): vscode.TreeItem {
  const item = new vscode.TreeItem(matrixLabel(m.matrix), vscode.TreeItemCollapsibleState.Expanded);
  item.description = m.error ? `⚠ ${m.error}` : matrixSummary(m.rows);
  item.tooltip = `Matrix ${m.matrix.id}, submitted ${m.matrix.createdAt}\n${m.matrix.variantPath}${m.error ? `\nLast squeue error: ${m.error}` : ''}`;
  const flags = [m.rows.some(canCancel) ? 'live' : '', m.rows.some(canResume) ? 'resumable' : ''].filter(Boolean).join('.');
  item.contextValue = `regbench.slurmMatrix${flags ? `.${flags}` : ''}`;
  item.iconPath = new vscode.ThemeIcon('server-environment');
  return item;
}

const STATE_ICONS: Record<TaskRow['state'], string> = {
  pending: 'clock',
  running: 'sync~spin',
  completed: 'pass',
  failed: 'error',
  cancelled: 'circle-slash',
  timeout: 'watch',
  node_fail: 'warning',
};

function taskItem(r: TaskRow): vscode.TreeItem {
  const item = new vscode.TreeItem(`${r.jobId}_${r.arrayTaskId}  ${r.runId}`, vscode.TreeItemCollapsibleState.None);
  item.description = taskDescription(r);
  item.tooltip = `${r.runId}\nSlurm: ${r.slurmState || '(no longer listed)'}, run: ${r.runStatus}${r.reason ? `\n${r.reason}` : ''}`;
  item.contextValue = `regbench.slurmTask.${r.state}${canResume(r) ? '.resumable' : ''}`;
  item.iconPath = new vscode.ThemeIcon(STATE_ICONS[r.state]);
  item.command = { command: COMMANDS.openRunInDashboard, title: 'Open in Dashboard', arguments: [r.runId] };
  return item;
}
