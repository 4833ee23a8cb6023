/**
 * Regbench's VS Code extension: wires the run store, the run service and the views together.
 * No logic here; each concept lives in its own module under src/vscode/. Activation only creates
 * objects and registers them: nothing reads the store until a view or command asks.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { RunStore } from './runs/run-store';
import { AccuracyLensProvider } from './vscode/accuracy-lens';
import { CompareCommands } from './vscode/compare';
import { DashboardCommands, DashboardPanel } from './vscode/dashboard-panel';
import { ExperimentsTree, type ExperimentNode } from './vscode/experiments-tree';
import { RunOutputLog } from './vscode/output-log';
import { RunCommands } from './vscode/run-commands';
import { RunDocuments } from './vscode/run-documents';
import { RunIndex } from './runs/run-index';
import { RunLabels } from './present/run-labels';
import { RunProgressNotifications } from './vscode/run-progress';
import { RunService } from './runs/run-service';
import { onSettingsChange, readSettings } from './vscode/settings';
import { RunStatusBar } from './vscode/status-bar';
import { StoreWatcher } from './vscode/store-watcher';
import { RaceIndex } from './races/race-index';
import { RaceCommand } from './vscode/race-command';
import { SweepLens } from './vscode/sweep-lens';
import { VariantCommands } from './vscode/variant-commands';
import { PythonHint } from './vscode/python-hint';
import { FinalEvaluationCommand } from './vscode/final-evaluation';
import { MatrixTree } from './vscode/matrix-tree';
import { CopyRerunCommand } from './vscode/rerun-command';
import { ResearchDeps } from './vscode/research-deps';
import { ResultsTableCommand } from './vscode/results-table-command';
import { SlurmMatrixCommand } from './vscode/slurm-matrix';
import { RepairCommand } from './vscode/repair-command';

/** What activate() returns: read-only views of the running extension (the in-host tests use them). */
export interface RegbenchApi {
  /** How many runs may train at once, as the run service applies the regbench.concurrency setting. */
  readonly concurrency: number;
  /** The Experiments view's nodes and items, as the view shows them. */
  readonly experiments: Pick<vscode.TreeDataProvider<ExperimentNode>, 'getChildren' | 'getTreeItem'>;
}

export function activate(context: vscode.ExtensionContext): RegbenchApi {
  const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
  // Without a folder, runs go to the extension's storage so single files can still be benchmarked.
  const storageDir = (context.storageUri ?? context.globalStorageUri).fsPath;
  const store = folder ? RunStore.forWorkspace(folder.uri.fsPath) : new RunStore(path.join(storageDir, '.regbench'));

  const output = new RunOutputLog();
  const service = new RunService({
    store,
    concurrency: readSettings().concurrency,
    python: () => readSettings().pythonPath,
    onStderr: (run, line) => output.stderr(run, line),
  });
  const serviceLog = service.onEvent((e) => output.onServiceEvent(e));
  const index = new RunIndex(store);
  const templatesDir = vscode.Uri.joinPath(context.extensionUri, 'templates').fsPath;
  // Before the views: its snapshot of the records must be dropped before they ask on a change.
  const research = new ResearchDeps(index, templatesDir);
  const tree = new ExperimentsTree(index, service);
  const matrices = new MatrixTree(store, index);
  const documents = new RunDocuments(index, output.channel);
  const races = new RaceIndex(store.root);
  const dashboard = new DashboardCommands({
    extensionUri: context.extensionUri,
    index,
    revealRun: (id) => void tree.revealRun(id),
    heldOutBenchmarks: () => research.heldOutBenchmarks(),
    significance: research.significance,
    races,
  });
  const watchOptions = { onEvents: (runId: string) => DashboardPanel.instance?.eventsFileChanged(runId), races };
  const treeToDashboard = tree.view.onDidChangeSelection(() => {
    const ids = tree.selectedRunIds();
    if (ids.length) DashboardPanel.instance?.select(ids);
  });

  context.subscriptions.push(
    output,
    service,
    { dispose: () => serviceLog.dispose() },
    index,
    research,
    folder ? new StoreWatcher(index, folder, '.regbench/', watchOptions) : new StoreWatcher(index, vscode.Uri.file(store.root), '', watchOptions),
    races,
    tree,
    treeToDashboard,
    documents,
    dashboard,
    new CompareCommands(index, documents, dashboard, () => tree.selectedRunIds()),
    new RunCommands(service, index),
    new VariantCommands(vscode.Uri.joinPath(context.extensionUri, 'templates').fsPath, vscode.Uri.joinPath(context.extensionUri, 'dist', 'types').fsPath),
    new AccuracyLensProvider(index, () => research.baselines()),
    matrices,
    new SlurmMatrixCommand(store, (m) => matrices.submitted(m)),
    new FinalEvaluationCommand(service, index),
    new ResultsTableCommand(index, () => research.baselines()),
    new CopyRerunCommand(index),
    new RepairCommand(index, output.channel, tree.view),
    new RaceCommand({ races, workspace: folder?.uri.fsPath, showRace: (id) => dashboard.showRace(id), output: output.channel }),
    new SweepLens(service),
    new RunStatusBar(service),
    new PythonHint(),
    new RunProgressNotifications(service, RunLabels.of(index)),
    RunLabels.of(index),
    onSettingsChange(() => (service.concurrency = readSettings().concurrency)),
  );
  return {
    get concurrency() {
      return service.concurrency;
    },
    experiments: tree,
  };
}

export function deactivate(): void {
  // Everything, the workers included, ends through context.subscriptions.
}
