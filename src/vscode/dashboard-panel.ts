/**
 * The dashboard's host side: one WebviewPanel (created or revived after a reload through the
 * panel serializer) that speaks src/protocol/webview.ts. The page posts `ready` when mounted;
 * only then does the host send one snapshot, and after it deltas: an `append` per store event
 * that changes a run, `remove`, `select`, `compare`. The page keeps its own view state
 * (getState/setState), so the panel does not retain its context when hidden. Payloads come from
 * src/present/dashboard-model.ts (which also keeps held-out numbers out of every message).
 */
import * as vscode from 'vscode';
import { COPY_RERUN_COMMAND } from './rerun-command';
import { randomBytes } from 'node:crypto';
import type { BenchId } from '../protocol/benchmarks';
import type { EpochEvent, ProgressEvent, RunEvent } from '../protocol/events';
import { mergeStepLoss, NO_STEP_LOSS, stepLossOf, stepX } from '../present/step-loss';
import { isWebviewToHostMessage, type Comparison, type HostToWebviewMessage, type StepLoss, type WebviewToHostMessage } from '../protocol/webview';
import {
  appendMessage,
  buildComparison,
  dashboardContext,
  NO_HELD_OUT,
  removeMessage,
  snapshotMessage,
  variantKey,
  type DashboardContext,
  type SignificanceOf,
} from '../present/dashboard-model';
import type { RunRecord } from '../runs/run-record';
import { runIdsOf } from './command-args';
import { COMMANDS } from '../protocol/command-ids';
import type { IndexChange, RunIndex } from '../runs/run-index';
import { raceView } from '../present/race-view-model';
import type { RaceIndex } from '../races/race-index';
import { EventsTail } from '../runs/events-tail';
import * as path from 'node:path';
import { EVENTS_FILE } from '../runs/run-store';

/** The command that stops a race (src/vscode/race-command.ts registers it). */
export const CANCEL_RACE_COMMAND = 'regbench.cancelRace';
/** Races a snapshot carries (newest first); older ones stay in the store and the CLI. */
const SNAPSHOT_RACES = 20;

export const DASHBOARD_VIEW_TYPE = 'regbench.dashboard';

export interface DashboardDeps {
  extensionUri: vscode.Uri;
  index: RunIndex;
  /** Reveals a run in the Experiments view (the page's "open run"). */
  revealRun(runId: string): void;
  /** Benchmarks whose numbers the dashboard must never receive (held-out test sets); none when absent. */
  heldOutBenchmarks?(): ReadonlySet<BenchId>;
  /** The statistics module's significance of a leaderboard cell against the baseline; no marks when absent. */
  significance?: SignificanceOf;
  /** The workspace's races, for the Race view; no Races tab when absent. */
  races?: RaceIndex;
}

export class DashboardPanel implements vscode.Disposable {
  private static current: DashboardPanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private selected: string[] = [];
  private comparison: Comparison | undefined;
  /** Epoch events the page has of each run, so a record that moved on sends only the new ones. */
  private readonly sentEpochs = new Map<string, number>();
  /** Leaderboard row key of every run the page has, so a deleted run's row can be updated. */
  private readonly sentKeys = new Map<string, string>();
  private context: DashboardContext = { heldOut: NO_HELD_OUT, edits: new Map() };
  /** Within-epoch loss: the last x the page has per run, points not yet posted, and when this window last saw a progress event of a run. */
  private readonly sentStepX = new Map<string, number>();
  private readonly pendingSteps = new Map<string, StepLoss>();
  private readonly liveProgressAt = new Map<string, number>();
  /** Runs of other processes followed through their events.jsonl, each read from where it was left. */
  private readonly tails = new Map<string, EventsTail>();
  private stepTimer: NodeJS.Timeout | undefined;
  /** A race to show once the page is ready (asked for before it was). */
  private raceToReveal: string | undefined;

  /**
   * Shows the dashboard, creating it when needed: beside the editor when `beside` (comparisons,
   * next to the diff), keeping the focus where it is when `preserveFocus` (clicks in the tree).
   */
  static createOrShow(deps: DashboardDeps, options: { beside?: boolean; preserveFocus?: boolean } = {}): DashboardPanel {
    const preserveFocus = options.preserveFocus ?? options.beside ?? false;
    if (DashboardPanel.current) {
      const panel = DashboardPanel.current.panel;
      // A comparison opens its diff in the active group: a dashboard sitting there would cover it.
      const coversActive = panel.viewColumn !== undefined && panel.viewColumn === vscode.window.tabGroups.activeTabGroup.viewColumn;
      panel.reveal(options.beside && coversActive ? vscode.ViewColumn.Beside : undefined, preserveFocus);
      return DashboardPanel.current;
    }
    const column = options.beside ? vscode.ViewColumn.Beside : (vscode.window.activeTextEditor?.viewColumn ?? vscode.ViewColumn.One);
    const panel = vscode.window.createWebviewPanel(
      DASHBOARD_VIEW_TYPE,
      'Regbench Dashboard',
      { viewColumn: column, preserveFocus },
      webviewOptions(deps.extensionUri),
    );
    DashboardPanel.current = new DashboardPanel(panel, deps);
    return DashboardPanel.current;
  }

  /** Takes over a panel VS Code restored after a reload. */
  static revive(panel: vscode.WebviewPanel, deps: DashboardDeps): DashboardPanel {
    DashboardPanel.current?.dispose();
    DashboardPanel.current = new DashboardPanel(panel, deps);
    return DashboardPanel.current;
  }

  static get instance(): DashboardPanel | undefined {
    return DashboardPanel.current;
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly deps: DashboardDeps,
  ) {
    panel.webview.options = webviewOptions(deps.extensionUri);
    panel.iconPath = vscode.Uri.joinPath(deps.extensionUri, 'media', 'regbench.svg');
    panel.webview.html = dashboardHtml(panel.webview, deps.extensionUri, randomBytes(16).toString('base64'));
    const sub = deps.index.onChange((c) => this.onIndexChange(c));
    const raceSub = deps.races?.onChange((c) => this.ready && this.post({ type: 'race', payload: { race: raceView(c.race) } }));
    this.disposables.push(
      { dispose: () => sub.dispose() },
      { dispose: () => raceSub?.dispose() },
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      panel.onDidDispose(() => this.dispose()),
      { dispose: () => this.stepTimer && clearTimeout(this.stepTimer) },
    );
  }

  dispose(): void {
    if (DashboardPanel.current === this) DashboardPanel.current = undefined;
    this.disposables.forEach((d) => d.dispose());
    this.disposables.length = 0;
    this.panel.dispose();
  }

  select(runIds: string[]): void {
    this.selected = runIds;
    if (this.ready) this.post({ type: 'select', payload: { runIds } });
  }

  /** Shows a race in the Race view (now, or right after the page's snapshot). */
  showRace(raceId: string): void {
    const race = this.deps.races?.get(raceId);
    if (this.ready && race) this.post({ type: 'race', payload: { race: raceView(race), reveal: true } });
    else this.raceToReveal = raceId;
  }

  /** Compares run `a` (the baseline) with `b` and any number of `more`. */
  compare(a: RunRecord, b: RunRecord, more: readonly RunRecord[] = []): void {
    const all = this.deps.index.all();
    this.context = this.newContext(all);
    this.comparison = buildComparison(a, b, all, this.context, more);
    this.selected = [a.id, b.id, ...more.map((r) => r.id)];
    if (this.ready) {
      this.post({ type: 'select', payload: { runIds: this.selected } });
      this.post({ type: 'compare', payload: { comparison: this.comparison } });
    }
  }

  private onMessage(raw: unknown): void {
    // Anything from the page is untrusted input: malformed or unknown messages are dropped.
    if (!isWebviewToHostMessage(raw)) return;
    const m: WebviewToHostMessage = raw;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        this.sendSnapshot();
        break;
      case 'openRun':
        this.deps.revealRun(m.payload.runId);
        break;
      case 'selectRuns':
        this.selected = m.payload.runIds;
        break;
      case 'compare': {
        const a = this.deps.index.get(m.payload.a);
        const b = this.deps.index.get(m.payload.b);
        const more = (m.payload.more ?? []).map((id) => this.deps.index.get(id)).filter((r): r is RunRecord => r !== undefined);
        if (a && b) this.compare(a, b, more);
        break;
      }
      case 'cancelRun':
        void vscode.commands.executeCommand(COMMANDS.cancelRun, m.payload.runId);
        break;
      case 'showLog':
        void vscode.commands.executeCommand(COMMANDS.showRunLog, m.payload.runId);
        break;
      case 'resumeRun':
        void vscode.commands.executeCommand(COMMANDS.resumeRun, m.payload.runId);
        break;
      case 'copyRerunCommand':
        void vscode.commands.executeCommand(COPY_RERUN_COMMAND, m.payload.runId);
        break;
      case 'cancelRace':
        void vscode.commands.executeCommand(CANCEL_RACE_COMMAND, m.payload.raceId);
        break;
    }
  }

  private newContext(records: readonly RunRecord[]): DashboardContext {
    return dashboardContext(records, this.deps.heldOutBenchmarks?.() ?? NO_HELD_OUT, this.deps.significance);
  }

  private sendSnapshot(): void {
    const records = this.deps.index.all();
    this.context = this.newContext(records);
    // Each run's events are read once for its epochs and its within-epoch loss.
    const read = new Map<string, RunEvent[]>();
    const eventsOf = (id: string) => read.get(id) ?? (read.set(id, this.deps.index.store.events(id)), read.get(id) as RunEvent[]);
    const epochsOf = (id: string) => eventsOf(id).filter((e): e is EpochEvent => e.type === 'epoch');
    const message = snapshotMessage(records, epochsOf, this.selectedOf(records), this.comparison, this.context, (id) => stepLossOf(eventsOf(id)));
    this.sentEpochs.clear();
    this.sentKeys.clear();
    this.sentStepX.clear();
    this.pendingSteps.clear();
    for (const run of message.payload.runs) this.sentKeys.set(run.id, variantKey(run));
    for (const [id, cols] of Object.entries(message.payload.epochs)) this.sentEpochs.set(id, cols.epoch.length);
    for (const [id, points] of Object.entries(message.payload.stepLoss ?? {})) this.sentStepX.set(id, points.x[points.x.length - 1] ?? -1);
    if (this.deps.races) {
      message.payload.races = this.deps.races.all().slice(0, SNAPSHOT_RACES).map(raceView);
      const problems = [...this.deps.races.problems.values()];
      if (problems.length) message.payload.raceProblems = problems;
    }
    this.post(message);
    const reveal = this.raceToReveal;
    this.raceToReveal = undefined;
    if (reveal) this.showRace(reveal);
  }

  private selectedOf(records: readonly RunRecord[]): string[] {
    const known = new Set(records.map((r) => r.id));
    this.selected = this.selected.filter((id) => known.has(id));
    return this.selected;
  }

  private onIndexChange(c: IndexChange): void {
    if (!this.ready) return;
    // "Refresh" reloaded the whole index (runs another process wrote that no watcher reported).
    if (!c.runId) return this.sendSnapshot();
    if (c.kind === 'deleted') return this.onDeleted(c.runId);
    if (c.event?.type === 'progress') return this.onProgress(c.runId, c.event);
    if (c.event?.type === 'log' || c.event?.type === 'hello' || c.event?.type === 'checkpoint') return;
    const record = c.record ?? this.deps.index.get(c.runId);
    if (!record) return;
    const all = this.deps.index.all();
    // A new run may be a new version of its file: edit numbers are counted again.
    if (!this.sentKeys.has(record.id)) this.context = this.newContext(all);
    this.sentKeys.set(
      record.id,
      variantKey({ variantHash: record.spec.variantHash, budget: record.spec.budget, engine: record.env?.engine ?? record.spec.engine }),
    );
    const epochs = this.newEpochs(record, c.event);
    // Points of a run another process trains: read with its epochs (this window's come as events).
    if (!c.event) this.eventsFileChanged(record.id);
    else this.flushSteps();
    if (!epochs.length) this.post(appendMessage(record, all, this.context));
    for (const event of epochs) this.post(appendMessage(record, all, this.context, event));
  }

  /** A progress event of this window's run: its point is posted with others at most twice a second. */
  private onProgress(runId: string, e: ProgressEvent): void {
    const record = this.deps.index.get(runId);
    if (!record || this.context.heldOut.has(record.spec.bench)) return;
    this.liveProgressAt.set(runId, Date.now());
    this.queueSteps(runId, { x: [stepX(e)], loss: [e.loss] });
  }

  /**
   * A run's events.jsonl changed on disk (the store watcher): the new points of a run that another
   * process trains. Runs this window trains are skipped (their events come through the index).
   */
  eventsFileChanged(runId: string): void {
    if (!this.ready || Date.now() - (this.liveProgressAt.get(runId) ?? 0) < 5000) return;
    const record = this.deps.index.get(runId);
    if (!record || this.context.heldOut.has(record.spec.bench)) return;
    let tail = this.tails.get(runId);
    if (!tail) this.tails.set(runId, (tail = new EventsTail(path.join(this.deps.index.store.runDir(runId), EVENTS_FILE))));
    const all = stepLossOf(tail.read());
    const after = this.sentStepX.get(runId) ?? -1;
    const from = all.x.findIndex((x) => x > after);
    if (from >= 0) this.queueSteps(runId, { x: all.x.slice(from), loss: all.loss.slice(from) });
  }

  private queueSteps(runId: string, points: StepLoss): void {
    this.pendingSteps.set(runId, mergeStepLoss(this.pendingSteps.get(runId) ?? NO_STEP_LOSS, points));
    this.stepTimer ??= setTimeout(() => this.flushSteps(), 500);
  }

  private flushSteps(): void {
    if (this.stepTimer) clearTimeout(this.stepTimer);
    this.stepTimer = undefined;
    for (const [runId, points] of this.pendingSteps) {
      this.sentStepX.set(runId, Math.max(this.sentStepX.get(runId) ?? -1, points.x[points.x.length - 1] ?? -1));
      this.post({ type: 'stepLoss', payload: { runId, points } });
    }
    this.pendingSteps.clear();
  }

  /**
   * The epochs the page does not have yet: the event itself when it is the next one, else (a run
   * of another process, seen through the file watcher) every epoch since the last one sent.
   */
  private newEpochs(record: RunRecord, event: IndexChange['event']): EpochEvent[] {
    if (this.context.heldOut.has(record.spec.bench)) return [];
    const sent = this.sentEpochs.get(record.id) ?? 0;
    if (event?.type === 'epoch' && event.epoch === sent) {
      this.sentEpochs.set(record.id, sent + 1);
      return [event];
    }
    if (record.epochsCompleted <= sent) return [];
    const missing = this.epochEvents(record.id).slice(sent);
    this.sentEpochs.set(record.id, sent + missing.length);
    return missing;
  }

  private onDeleted(runId: string): void {
    const key = this.sentKeys.get(runId);
    this.sentEpochs.delete(runId);
    this.sentKeys.delete(runId);
    this.sentStepX.delete(runId);
    this.pendingSteps.delete(runId);
    this.liveProgressAt.delete(runId);
    this.tails.delete(runId);
    this.selected = this.selected.filter((id) => id !== runId);
    const rest = this.deps.index.all().filter((r) => r.id !== runId);
    if (key) this.post(removeMessage(runId, key, rest, this.context));
    else this.post({ type: 'remove', payload: { runId } });
  }

  private epochEvents(runId: string): EpochEvent[] {
    return this.deps.index.store.events(runId).filter((e): e is EpochEvent => e.type === 'epoch');
  }

  private post(message: HostToWebviewMessage): void {
    void this.panel.webview.postMessage(message);
  }
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewPanelOptions & vscode.WebviewOptions {
  return { enableScripts: true, localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media')] };
}

/** The page: the bundled script and stylesheet from media/, under a CSP that allows nothing else. */
export function dashboardHtml(webview: vscode.Webview, extensionUri: vscode.Uri, nonce: string): string {
  const media = (file: string) => webview.asWebviewUri(vscode.Uri.joinPath(extensionUri, 'media', file)).toString();
  const src = webview.cspSource;
  // The style nonce (announced by the csp-nonce meta) lets the toolkit's one start-up <style>
  // probe in without opening style-src to inline styles.
  const csp = `default-src 'none'; img-src ${src} data:; style-src ${src} 'nonce-${nonce}'; script-src 'nonce-${nonce}'; font-src ${src}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <meta property="csp-nonce" content="${nonce}">
  <link rel="stylesheet" href="${media('dashboard.css')}">
  <title>Regbench Dashboard</title>
</head>
<body>
  <script nonce="${nonce}" src="${media('dashboard.js')}"></script>
</body>
</html>`;
}

/** The panel serializer and the commands that open the dashboard. */
export class DashboardCommands implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly deps: DashboardDeps) {
    this.disposables.push(
      vscode.window.registerWebviewPanelSerializer(DASHBOARD_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => {
          DashboardPanel.revive(panel, deps);
        },
      }),
      vscode.commands.registerCommand(COMMANDS.openDashboard, (arg?: unknown) => {
        const runIds =
          typeof arg === 'object' && arg !== null && Array.isArray((arg as { runIds?: unknown }).runIds) ? runIdsOf((arg as { runIds: unknown[] }).runIds) : [];
        const panel = DashboardPanel.createOrShow(deps);
        if (runIds.length) panel.select(runIds);
      }),
      vscode.commands.registerCommand(COMMANDS.openRunInDashboard, (arg, selection) => {
        const runIds = runIdsOf(arg, selection);
        const panel = DashboardPanel.createOrShow(deps, { preserveFocus: true });
        if (runIds.length) panel.select(runIds);
      }),
    );
    // The open panel is left alone on deactivation: closing it there would keep a window reload
    // from restoring it through the serializer.
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  /** Shows the dashboard's Race view on a race, keeping the focus where it is. */
  showRace(raceId: string): void {
    DashboardPanel.createOrShow(this.deps, { preserveFocus: true }).showRace(raceId);
  }

  /** Shows the dashboard in comparison mode, beside the diff editor. */
  compare(a: RunRecord, b: RunRecord): void {
    DashboardPanel.createOrShow(this.deps, { beside: true }).compare(a, b);
  }
}
