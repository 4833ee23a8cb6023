/**
 * One status-bar item while this window has runs: the running benchmark, its epoch and last test
 * accuracy, and how many runs wait. Hidden when nothing runs. Clicking opens the dashboard.
 */
import * as vscode from 'vscode';
import { COMMANDS } from '../protocol/command-ids';
import type { RunService, RunServiceEvent } from '../runs/run-service';
import { advance, progressText, stepText, type RunProgress } from '../runs/run-status';

export class RunStatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private readonly runs = new Map<string, RunProgress>();
  /** Runs with a worker (the record says 'queued' until the worker's run-start arrives). */
  private readonly started = new Set<string>();
  private readonly subscription: { dispose(): void };

  constructor(service: RunService) {
    this.item = vscode.window.createStatusBarItem('regbench.run', vscode.StatusBarAlignment.Left, 10);
    this.item.name = 'Regbench Run';
    this.item.command = COMMANDS.openDashboard;
    this.subscription = service.onEvent((e) => this.onEvent(e));
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }

  private onEvent(e: RunServiceEvent): void {
    const id = e.record.id;
    if (e.type === 'started') this.started.add(id);
    if (e.type === 'ended') {
      this.runs.delete(id);
      this.started.delete(id);
    } else if (e.type === 'event') this.runs.set(id, advance(this.runs.get(id) ?? { record: e.record }, e.event, e.record));
    else this.runs.set(id, { ...(this.runs.get(id) ?? {}), record: e.record });
    this.render();
  }

  private render(): void {
    const all = [...this.runs.values()];
    const running = all.filter((p) => this.started.has(p.record.id));
    const waiting = all.length - running.length;
    // The most recently started run is the one the user asked for last.
    const shown = running[running.length - 1];
    if (!shown) {
      this.item.hide();
      return;
    }
    const more = [running.length > 1 ? `+${running.length - 1} running` : '', waiting > 0 ? `+${waiting} queued` : ''].filter(Boolean).join(', ');
    this.item.text = `$(sync~spin) ${progressText(shown)}${more ? ` (${more})` : ''}`;
    const tooltip = new vscode.MarkdownString(undefined, true);
    tooltip.appendText(shown.record.name);
    const step = stepText(shown);
    if (step) tooltip.appendText(`\n\n${step}`);
    if (more) tooltip.appendText(`\n\n${more}`);
    tooltip.appendMarkdown('\n\nClick to open the Regbench dashboard.');
    this.item.tooltip = tooltip;
    this.item.show();
  }
}
