/**
 * The Experiments view: variants -> benchmarks -> runs, from the run index (so it follows this
 * window's runs live and the CLI's through the file watcher). Menus hang on contextValue:
 * `regbench.variant`, `regbench.bench`, `regbench.run.<status>`, `regbench.damagedRun`. Runs whose
 * record.json is damaged sit under "Damaged runs" at the top, with a warning icon and the reason
 * (Repair Run rebuilds them). Also the view's own commands: refresh, open variant, delete runs.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkpointMetaPath } from '../runs/checkpoint-info';
import { BENCHMARKS, getBenchmark, type BenchId } from '../protocol/benchmarks';
import type { RunStatus } from '../protocol/events';
import type { RunRecord } from '../runs/run-record';
import { runIdsOf, filePathOf } from './command-args';
import { COMMANDS } from '../protocol/command-ids';
import { benchCellText, latestVariantRuns } from '../present/lens-text';
import type { RunIndex } from '../runs/run-index';
import type { RunService } from '../runs/run-service';
import { RunLabels } from '../present/run-labels';
import { damageText } from '../runs/json-file';
import type { DamagedRun } from '../runs/run-store';

export const VIEW_ID = 'regbench.experiments';

export type ExperimentNode =
  | { kind: 'variant'; variantPath: string }
  | { kind: 'bench'; variantPath: string; bench: BenchId }
  | { kind: 'run'; runId: string }
  | { kind: 'damagedGroup' }
  | { kind: 'damagedRun'; runId: string };

const STATUS_ICONS: Record<RunStatus, [string, string | undefined]> = {
  running: ['sync~spin', undefined],
  completed: ['pass', 'testing.iconPassed'],
  failed: ['error', 'testing.iconFailed'],
  diverged: ['warning', 'list.warningForeground'],
  cancelled: ['circle-slash', undefined],
  interrupted: ['debug-pause', 'list.warningForeground'],
  queued: ['clock', undefined],
};

export function statusIcon(status: RunStatus): vscode.ThemeIcon {
  const [id, color] = STATUS_ICONS[status];
  return new vscode.ThemeIcon(id, color ? new vscode.ThemeColor(color) : undefined);
}

export class ExperimentsTree implements vscode.TreeDataProvider<ExperimentNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<ExperimentNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  readonly view: vscode.TreeView<ExperimentNode>;
  private readonly disposables: vscode.Disposable[] = [];
  /** Nodes are kept by key so the view sees the same element for the same thing (reveal, selection). */
  private readonly nodes = new Map<string, ExperimentNode>();
  private refreshTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly index: RunIndex,
    private readonly service: RunService,
  ) {
    this.view = vscode.window.createTreeView(VIEW_ID, { treeDataProvider: this, canSelectMany: true, showCollapseAll: true });
    const sub = index.onChange((c) => {
      // Progress lines do not change what the tree shows.
      if (c.event?.type === 'progress' || c.event?.type === 'log') return;
      this.scheduleRefresh();
    });
    this.disposables.push(
      this.view,
      this.changed,
      { dispose: () => sub.dispose() },
      { dispose: () => this.refreshTimer && clearTimeout(this.refreshTimer) },
      vscode.commands.registerCommand(COMMANDS.refreshExperiments, () => this.index.reload()),
      vscode.commands.registerCommand(COMMANDS.openVariant, (arg) => this.openVariant(arg)),
      vscode.commands.registerCommand(COMMANDS.deleteRun, (arg, selection) => this.deleteRuns(runIdsOf(arg, selection))),
      vscode.commands.registerCommand(COMMANDS.renameRun, (arg) => this.renameRun(runIdsOf(arg)[0] ?? this.selectedRunIds()[0])),
    );
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  /** Selected run ids (for "compare with selected"). */
  selectedRunIds(): string[] {
    return this.view.selection.filter((n): n is Extract<ExperimentNode, { kind: 'run' }> => n.kind === 'run').map((n) => n.runId);
  }

  /** Selected damaged runs (for Repair Run from the palette). */
  selectedDamagedRunIds(): string[] {
    return this.view.selection.filter((n): n is Extract<ExperimentNode, { kind: 'damagedRun' }> => n.kind === 'damagedRun').map((n) => n.runId);
  }

  async revealRun(runId: string): Promise<void> {
    const r = this.index.get(runId);
    if (!r) return;
    await this.view.reveal(this.runNode(runId), { select: true, focus: false, expand: true });
  }

  getChildren(node?: ExperimentNode): ExperimentNode[] {
    const all = this.index.all();
    if (node?.kind === 'damagedGroup') return this.index.damaged().map((d) => this.node(`damaged:${d.id}`, () => ({ kind: 'damagedRun', runId: d.id })));
    if (node?.kind === 'damagedRun') return [];
    if (!node) {
      const damaged = this.index.damaged().length ? [this.node('damaged', () => ({ kind: 'damagedGroup' }))] : [];
      const paths = [...new Set(all.map((r) => r.spec.variantPath))];
      // The variant run last comes first: it is the one being worked on.
      const lastRun = new Map<string, string>();
      for (const r of all) lastRun.set(r.spec.variantPath, r.id);
      paths.sort((a, b) => ((lastRun.get(b) ?? '') < (lastRun.get(a) ?? '') ? -1 : 1));
      return [...damaged, ...paths.map((p) => this.variantNode(p))];
    }
    if (node.kind === 'variant') {
      const benches = new Set(all.filter((r) => r.spec.variantPath === node.variantPath).map((r) => r.spec.bench));
      return BENCHMARKS.filter((b) => benches.has(b.id)).map((b) => this.benchNode(node.variantPath, b.id));
    }
    if (node.kind === 'bench') {
      return all
        .filter((r) => r.spec.variantPath === node.variantPath && r.spec.bench === node.bench)
        .reverse()
        .map((r) => this.runNode(r.id));
    }
    return [];
  }

  getParent(node: ExperimentNode): ExperimentNode | undefined {
    if (node.kind === 'variant' || node.kind === 'damagedGroup') return undefined;
    if (node.kind === 'damagedRun') return this.node('damaged', () => ({ kind: 'damagedGroup' }));
    if (node.kind === 'bench') return this.variantNode(node.variantPath);
    const r = this.index.get(node.runId);
    return r ? this.benchNode(r.spec.variantPath, r.spec.bench) : undefined;
  }

  getTreeItem(node: ExperimentNode): vscode.TreeItem {
    if (node.kind === 'variant') return this.variantItem(node.variantPath);
    if (node.kind === 'bench') return this.benchItem(node.variantPath, node.bench);
    if (node.kind === 'damagedGroup') return damagedGroupItem(this.index.damaged().length);
    if (node.kind === 'damagedRun') {
      const d = this.index.damaged().find((x) => x.id === node.runId);
      return d ? damagedRunItem(d) : new vscode.TreeItem('(repaired run)');
    }
    const r = this.index.get(node.runId);
    return r ? runItem(r, RunLabels.of(this.index), isResumable(r, this.index.store.runDir(r.id))) : new vscode.TreeItem('(deleted run)');
  }

  /** A run's hover is built when it is shown: it reads two variant snapshots for the diff. */
  resolveTreeItem(item: vscode.TreeItem, node: ExperimentNode): vscode.TreeItem {
    const r = node.kind === 'run' ? this.index.get(node.runId) : undefined;
    if (r) item.tooltip = runTooltip(r, RunLabels.of(this.index));
    return item;
  }

  private variantItem(variantPath: string): vscode.TreeItem {
    const item = new vscode.TreeItem(path.basename(variantPath), vscode.TreeItemCollapsibleState.Expanded);
    item.id = `variant:${variantPath}`;
    item.resourceUri = vscode.Uri.file(variantPath);
    item.description = vscode.workspace.asRelativePath(path.dirname(variantPath));
    const runs = this.index.all().filter((r) => r.spec.variantPath === variantPath);
    const sources = new Set(runs.map((r) => r.spec.variantHash)).size;
    item.tooltip = `${variantPath}\n${runs.length} run${runs.length === 1 ? '' : 's'} of ${sources} version${sources === 1 ? '' : 's'} of its source`;
    item.contextValue = 'regbench.variant';
    item.command = { command: COMMANDS.openVariant, title: 'Open Variant', arguments: [{ variantPath }] };
    return item;
  }

  private benchItem(variantPath: string, bench: BenchId): vscode.TreeItem {
    const b = getBenchmark(bench);
    const item = new vscode.TreeItem(b.title, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = `bench:${variantPath}:${bench}`;
    const latest = latestVariantRuns(this.index.all(), variantPath).filter((r) => r.spec.bench === bench);
    item.description = latest.length ? benchCellText(latest) : 'earlier source only';
    item.tooltip = `${b.title}: the description summarizes the runs of the variant's latest source.`;
    item.contextValue = 'regbench.bench';
    return item;
  }

  private variantNode(variantPath: string): ExperimentNode {
    return this.node(`variant:${variantPath}`, () => ({ kind: 'variant', variantPath }));
  }

  private benchNode(variantPath: string, bench: BenchId): ExperimentNode {
    return this.node(`bench:${variantPath}:${bench}`, () => ({ kind: 'bench', variantPath, bench }));
  }

  private runNode(runId: string): ExperimentNode {
    return this.node(`run:${runId}`, () => ({ kind: 'run', runId }));
  }

  private node(key: string, make: () => ExperimentNode): ExperimentNode {
    let n = this.nodes.get(key);
    if (!n) {
      n = make();
      this.nodes.set(key, n);
    }
    return n;
  }

  private scheduleRefresh(): void {
    this.refreshTimer ??= setTimeout(() => {
      this.refreshTimer = undefined;
      this.changed.fire(undefined);
    }, 200);
  }

  private async openVariant(arg: unknown): Promise<void> {
    const file = filePathOf(arg);
    if (!file) return;
    try {
      await vscode.window.showTextDocument(vscode.Uri.file(file), { preview: true });
    } catch {
      void vscode.window.showErrorMessage(`Regbench: ${file} no longer exists; each run keeps its source as a snapshot (Reveal Variant Snapshot).`);
    }
  }

  /** Asks for the run's name (its label everywhere); an empty name goes back to the edit number. */
  private async renameRun(runId: string | undefined): Promise<void> {
    const r = runId ? this.index.get(runId) : undefined;
    if (!r) {
      void vscode.window.showInformationMessage('Regbench: select a run in the Experiments view to rename it.');
      return;
    }
    const labels = RunLabels.of(this.index);
    const name = await vscode.window.showInputBox({
      title: `Regbench: rename ${labels.label(r)}`,
      prompt: 'A name for this run, shown in the tree, pickers and notifications. Empty: the variant and its edit number.',
      value: r.displayName ?? '',
      validateInput: (v) => (v.length > 80 ? 'At most 80 characters.' : undefined),
      // A notification or a tree refresh (runs end while the user types) must not close it.
      ignoreFocusOut: true,
    });
    if (name === undefined) return;
    this.index.store.update(r.id, (current) => ({ ...current, displayName: name.trim() || undefined }));
  }

  private async deleteRuns(ids: string[]): Promise<void> {
    const records = ids.map((id) => this.index.get(id)).filter((r): r is RunRecord => r !== undefined);
    if (!records.length) return;
    const foreign = records.filter((r) => (r.status === 'running' || r.status === 'queued') && !this.service.owns(r.id));
    if (foreign.length) {
      void vscode.window.showWarningMessage(`Regbench: ${foreign[0].name} is running in another process; stop it there before deleting it.`);
      return;
    }
    const what = records.length === 1 ? records[0].name : `${records.length} runs`;
    const confirm = 'Delete';
    const choice = await vscode.window.showWarningMessage(
      `Delete ${what}?`,
      { modal: true, detail: 'Its record, events, log and variant snapshot are removed from .regbench/runs. This cannot be undone.' },
      confirm,
    );
    if (choice !== confirm) return;
    for (const r of records) {
      if (this.service.owns(r.id)) {
        this.service.cancel(r.id);
        await this.service.whenEnded(r.id);
      }
      this.index.store.delete(r.id);
    }
  }
}

/** Interrupted runs, and failed or cancelled ones that left a checkpoint, can continue. */
export function isResumable(r: RunRecord, runDir: string): boolean {
  if (r.status === 'interrupted') return true;
  return (r.status === 'failed' || r.status === 'cancelled') && fs.existsSync(checkpointMetaPath(runDir));
}

function damagedGroupItem(count: number): vscode.TreeItem {
  const item = new vscode.TreeItem(`Damaged runs (${count})`, vscode.TreeItemCollapsibleState.Expanded);
  item.id = 'damaged';
  item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
  item.tooltip = 'Runs whose record.json cannot be read. Their events, checkpoint and snapshot are kept; Repair Run rebuilds the record from events.jsonl.';
  item.contextValue = 'regbench.damagedRuns';
  return item;
}

/** A damaged run: warning icon, the reason as description; Repair Run is its inline action. */
function damagedRunItem(d: DamagedRun): vscode.TreeItem {
  const what = d.spec ? `${path.basename(d.spec.variantPath)} · ${getBenchmark(d.spec.bench).short} · seed ${d.spec.seed}` : d.id;
  const item = new vscode.TreeItem(what, vscode.TreeItemCollapsibleState.None);
  item.id = `damaged:${d.id}`;
  item.iconPath = new vscode.ThemeIcon('warning', new vscode.ThemeColor('list.warningForeground'));
  item.description = `damaged: ${d.damage.reason}`;
  item.tooltip = `${damageText(d.damage)}\nrun ${d.id}${d.lastStatus ? `; its events say ${d.lastStatus}, ${d.epochsCompleted} epoch(s)` : ''}\nRepair Run rebuilds record.json from events.jsonl (the damaged file is kept aside).`;
  item.contextValue = 'regbench.damagedRun';
  return item;
}

function runItem(r: RunRecord, labels: RunLabels, resumable: boolean): vscode.TreeItem {
  const item = new vscode.TreeItem(labels.treeLabel(r), vscode.TreeItemCollapsibleState.None);
  item.id = `run:${r.id}`;
  item.iconPath = statusIcon(r.status);
  item.description = runDescription(r);
  // Menus match `regbench.run.<status>` and, for Resume, the `.resumable` suffix.
  item.contextValue = `regbench.run.${r.status}${resumable ? '.resumable' : ''}`;
  item.command = { command: COMMANDS.openRunInDashboard, title: 'Open in Dashboard', arguments: [r.id] };
  return item;
}

function runDescription(r: RunRecord): string {
  const best = r.bestTestAcc === null ? '' : `${r.bestTestAcc.toFixed(1)}%`;
  switch (r.status) {
    case 'running':
      return `epoch ${r.epochsCompleted}/${r.totalEpochs}${best ? ` · best ${best}` : ''}`;
    case 'completed':
      return `${best} · ${r.spec.budget}`;
    case 'queued':
      return `queued · ${r.spec.budget}`;
    default:
      return [r.status, best, r.spec.budget].filter(Boolean).join(' · ');
  }
}

function runTooltip(r: RunRecord, labels: RunLabels): vscode.MarkdownString {
  const spec = r.spec;
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**${escape(labels.label(r))}**\n\n`);
  const rows: Array<[string, string]> = [
    ['status', r.status + (r.reason ? ` (${r.reason})` : '')],
    ['best / last test accuracy', `${fmt(r.bestTestAcc)} / ${fmt(r.finalTestAcc)}`],
    ['epochs', `${r.epochsCompleted}/${r.totalEpochs}${r.epochSeconds ? `, ${r.epochSeconds.toFixed(1)} s per epoch` : ''}`],
    ['budget', `${spec.budget} (train ${spec.trainSubset ?? 'all'}, test ${spec.testSubset ?? 'all'} images)`],
    ['seed', String(spec.seed)],
    ['engine', `${spec.engine}${r.env ? ` · ${r.env.backend}` : spec.backend ? ` · ${spec.backend} requested` : ''}`],
    ['variant source', spec.variantHash],
    ['created', new Date(r.createdAt).toLocaleString()],
    ['run id', r.id],
  ];
  if (r.error) rows.splice(1, 0, ['error', `${r.error.kind}: ${r.error.message}`]);
  if (r.env?.gitCommit) rows.push(['git', r.env.gitCommit]);
  if (r.segments && r.segments.length > 1) rows.push(['segments', segmentsText(r.segments)]);
  for (const [k, v] of rows) md.appendMarkdown(`${k}: ${escape(v)}  \n`);
  appendChanges(md, labels.changesSincePrevious(r));
  return md;
}

/** The lines that changed against the previous run of the same file, as a diff block. */
function appendChanges(md: vscode.MarkdownString, changes: ReturnType<RunLabels['changesSincePrevious']>): void {
  if (!changes) return;
  md.appendMarkdown(`\n**Changes since ${escape(changes.previous)}**\n\n`);
  if (!changes.lines.length) md.appendMarkdown('Same source.\n');
  else md.appendCodeblock(changes.lines.join('\n'), 'diff');
}

/** "3: interrupted, interrupted, running from epoch 5": how each stretch of work ended. */
function segmentsText(segments: NonNullable<RunRecord['segments']>): string {
  const ends = segments.map((s) => (s.end ? (s.status ?? 'ended') : `running${s.resumedFrom ? ` from epoch ${s.resumedFrom.epoch + 1}` : ''}`));
  return `${segments.length}: ${ends.join(', ')}`;
}

function fmt(acc: number | null): string {
  return acc === null ? '—' : `${acc.toFixed(2)}%`;
}

function escape(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|<>]/g, (c) => `\\${c}`);
}
