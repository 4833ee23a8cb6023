/**
 * A cancellable progress notification per running run (cancel ends its worker's process tree),
 * with a link to the worker log; and when the window's runs have all ended, one message: about
 * the run when it was alone, else one summary of the batch ("6 runs ended: 5 completed, 1 failed").
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { getBenchmark } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import { COMMANDS } from '../protocol/command-ids';
import type { RunService, RunServiceEvent } from '../runs/run-service';
import { advance, epochText, fractionDone, stepText, type RunProgress } from '../runs/run-status';
import { batchSummary } from '../present/run-label-editor';
import type { RunLabels } from '../present/run-labels';

const SHOW_LOG = 'Show Log';
const OPEN_DASHBOARD = 'Open Dashboard';
const OPEN_VARIANT = 'Open Variant';

export class RunProgressNotifications implements vscode.Disposable {
  private readonly subscription: { dispose(): void };
  /** Ends each open notification (its withProgress task) by run id. */
  private readonly open = new Map<string, { update(e: RunServiceEvent): void; close(): void }>();
  /** Runs that ended while others of this window were still queued or running. */
  private batch: RunRecord[] = [];

  constructor(
    private readonly service: RunService,
    private readonly labels: RunLabels,
  ) {
    this.subscription = service.onEvent((e) => this.onEvent(e));
  }

  dispose(): void {
    this.subscription.dispose();
    for (const n of this.open.values()) n.close();
    this.open.clear();
  }

  private onEvent(e: RunServiceEvent): void {
    const id = e.record.id;
    if (e.type === 'started') this.show(e.record);
    this.open.get(id)?.update(e);
    if (e.type === 'ended') {
      this.open.get(id)?.close();
      this.open.delete(id);
      this.batch.push(e.record);
      // The run that ends is still the service's until its 'ended' listeners have run.
      if (this.service.activeRuns().some((r) => r.id !== id)) return;
      const ended = this.batch;
      this.batch = [];
      if (ended.length === 1) announceEnd(ended[0], this.labels.label(ended[0]));
      else announceBatch(ended, this.labels);
    }
  }

  private show(record: RunRecord): void {
    const bench = getBenchmark(record.spec.bench);
    const variant = path.basename(record.spec.variantPath);
    void vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Regbench: ${record.displayName ? `${record.displayName} (${variant})` : variant} on ${bench.title}, seed ${record.spec.seed}`,
        cancellable: true,
      },
      (progress, token) =>
        new Promise<void>((resolve) => {
          let state: RunProgress = { record };
          let reported = 0;
          // Notifications render command links (not their arguments): the link opens the live worker log.
          const link = `[${SHOW_LOG}](command:${COMMANDS.showOutput})`;
          const report = () => {
            const done = Math.round(fractionDone(state) * 100);
            const message = [epochText(state), stepText(state), link].filter(Boolean).join(' · ');
            progress.report({ message, increment: done > reported ? done - reported : undefined });
            reported = Math.max(reported, done);
          };
          const cancel = token.onCancellationRequested(() => this.service.cancel(record.id));
          report();
          let last = 0;
          this.open.set(record.id, {
            update: (e) => {
              if (e.type !== 'event') return;
              state = advance(state, e.event, e.record);
              // Progress events come several times a second; the notification needs far fewer.
              const now = Date.now();
              if (e.event.type === 'progress' && now - last < 500) return;
              last = now;
              report();
            },
            close: () => {
              cancel.dispose();
              resolve();
            },
          });
        }),
    );
  }
}

function announceBatch(records: readonly RunRecord[], labels: RunLabels): void {
  const failed = records.find((r) => r.status === 'failed' || r.status === 'diverged');
  const message = `Regbench: ${batchSummary(records, (r) => labels.label(r))}`;
  const choose = (choice: string | undefined) => {
    if (choice === OPEN_DASHBOARD) void vscode.commands.executeCommand(COMMANDS.openDashboard);
    if (choice === SHOW_LOG && failed) void vscode.commands.executeCommand(COMMANDS.showRunLog, failed.id);
  };
  if (failed) void vscode.window.showWarningMessage(message, OPEN_DASHBOARD, SHOW_LOG).then(choose);
  else void vscode.window.showInformationMessage(message, OPEN_DASHBOARD).then(choose);
}

function announceEnd(r: RunRecord, label: string): void {
  const showLog = (choice: string | undefined) => {
    if (choice === SHOW_LOG) void vscode.commands.executeCommand(COMMANDS.showRunLog, r.id);
    if (choice === OPEN_DASHBOARD) void vscode.commands.executeCommand(COMMANDS.openRunInDashboard, r.id);
    if (choice === OPEN_VARIANT && r.error?.file) {
      const line = Math.max(0, (r.error.line ?? 1) - 1);
      void vscode.window.showTextDocument(vscode.Uri.file(r.error.file), { selection: new vscode.Range(line, 0, line, 0) });
    }
  };
  switch (r.status) {
    case 'completed':
      void vscode.window.showInformationMessage(`Regbench: ${label} completed.`, OPEN_DASHBOARD, SHOW_LOG).then(showLog);
      break;
    case 'cancelled':
      break;
    case 'diverged':
      void vscode.window.showWarningMessage(`Regbench: ${label} diverged${r.reason ? `: ${r.reason}` : ''}.`, SHOW_LOG, OPEN_DASHBOARD).then(showLog);
      break;
    default: {
      const message = r.error?.message ?? r.reason ?? 'the run failed';
      const actions = r.error?.kind === 'variant' && r.error.file ? [OPEN_VARIANT, SHOW_LOG] : [SHOW_LOG];
      void vscode.window.showErrorMessage(`Regbench: ${label} failed: ${message}`, ...actions).then(showLog);
    }
  }
}
