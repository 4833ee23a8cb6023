/**
 * Runs written by another process (the CLI in a terminal, another window) reach the views
 * through the file system: a changed `runs/<id>/record.json` refreshes that run in the index, a
 * removed `runs/<id>` folder drops it. This window's own writes come back here too; the index
 * ignores records that did not change. A changed `runs/<id>/events.jsonl` (progress inside an
 * epoch, which leaves the record as it was) is reported to `onEvents`, at most once a second per run.
 * A changed `races/<id>/race.json` (a race's progress) refreshes that race in the race index.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import type { RunIndex } from '../runs/run-index';
import type { RaceIndex } from '../races/race-index';

export interface StoreWatcherOptions {
  /** Told when a run's events.jsonl changed (throttled per run). */
  onEvents?: (runId: string) => void;
  /** Refreshed when a race.json changed. */
  races?: RaceIndex;
}

export class StoreWatcher implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];
  private readonly pending = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private readonly eventTimers = new Map<string, NodeJS.Timeout>();
  private readonly raceTimers = new Map<string, NodeJS.Timeout>();

  /** `base` and `prefix` locate the runs folder: base/prefix/runs (prefix '' when base is the store). */
  constructor(
    private readonly index: RunIndex,
    base: vscode.WorkspaceFolder | vscode.Uri,
    prefix: string,
    options: StoreWatcherOptions = {},
  ) {
    const { onEvents, races } = options;
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
      { dispose: () => this.raceTimers.forEach((t) => clearTimeout(t)) },
    );
    if (onEvents) {
      const events = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, `${prefix}runs/*/events.jsonl`), false, false, true);
      const onEvent = (uri: vscode.Uri) => this.scheduleEvents(path.basename(path.dirname(uri.fsPath)), onEvents);
      this.disposables.push(events, events.onDidCreate(onEvent), events.onDidChange(onEvent));
    }
    if (races) {
      const raceFiles = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(base, `${prefix}races/*/race.json`), false, false, true);
      const onRace = (uri: vscode.Uri) => this.scheduleRace(path.basename(path.dirname(uri.fsPath)), races);
      this.disposables.push(raceFiles, raceFiles.onDidCreate(onRace), raceFiles.onDidChange(onRace));
    }
  }

  /** A race writes race.json after every run it starts or ends: read it at most every 300 ms. */
  private scheduleRace(raceId: string, races: RaceIndex): void {
    if (this.raceTimers.has(raceId)) return;
    this.raceTimers.set(
      raceId,
      setTimeout(() => {
        this.raceTimers.delete(raceId);
        races.refresh(raceId);
      }, 300),
    );
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
