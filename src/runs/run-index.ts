/**
 * The runs of the workspace in memory, kept in step with the store: this window's own runs
 * arrive through store.onChange (with the event that changed them); runs written by another
 * process (the CLI in a terminal) arrive through `refresh(runId)`, which the file watcher calls.
 * Views read from here instead of re-reading every record.json on each change. The first read
 * loads lazily, so activation costs nothing. Runs whose record.json is damaged are held apart
 * (`damaged()`), so views can show them with the reason instead of losing them. No `vscode` import.
 */
import * as fs from 'node:fs';
import type { RunEvent } from '../protocol/events';
import type { RunRecord } from './run-record';
import type { DamagedRun, RunStore, StoreChange } from './run-store';

export interface IndexChange {
  runId: string;
  kind: 'created' | 'updated' | 'deleted';
  /** Set when the change came from this window's store with an event. */
  event?: RunEvent;
  /** The record after the change (undefined when deleted). */
  record?: RunRecord;
}

/** Events after which a record differs; progress and log lines leave it as it was. */
const RECORD_EVENTS: ReadonlySet<RunEvent['type']> = new Set(['run-start', 'epoch', 'error', 'run-end']);

export class RunIndex {
  private records: Map<string, RunRecord> | undefined;
  private readonly damagedRuns = new Map<string, DamagedRun>();
  private readonly listeners = new Set<(c: IndexChange) => void>();
  private readonly storeSubscription: { dispose(): void };

  constructor(readonly store: RunStore) {
    this.storeSubscription = store.onChange((c) => this.onStoreChange(c));
  }

  onChange(listener: (c: IndexChange) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Every run, oldest first. */
  all(): RunRecord[] {
    return [...this.map().values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  get(runId: string): RunRecord | undefined {
    return this.map().get(runId);
  }

  /** Runs whose record.json is damaged or missing, oldest first. */
  damaged(): DamagedRun[] {
    this.map();
    return [...this.damagedRuns.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Re-reads one run from disk; emits a change only when what it holds of the run differs. */
  refresh(runId: string): void {
    if (!this.records) return;
    const read = this.store.read(runId);
    const held = this.records.get(runId);
    if (!read.ok) {
      if ('damaged' in read) {
        const before = this.damagedRuns.get(runId);
        if (before && JSON.stringify(before) === JSON.stringify(read.damaged)) return;
        this.records.delete(runId);
        this.damagedRuns.set(runId, read.damaged);
        this.emit({ runId, kind: 'updated' });
        return;
      }
      // A directory without record.json is a run being created; only a missing directory is a deletion.
      if ((held || this.damagedRuns.has(runId)) && !fs.existsSync(this.store.runDir(runId))) {
        this.records.delete(runId);
        this.damagedRuns.delete(runId);
        this.emit({ runId, kind: 'deleted' });
      }
      return;
    }
    const fresh = read.record;
    const wasDamaged = this.damagedRuns.delete(runId);
    if (held && !wasDamaged && JSON.stringify(held) === JSON.stringify(fresh)) return;
    this.records.set(runId, fresh);
    this.emit({ runId, kind: held || wasDamaged ? 'updated' : 'created', record: fresh });
  }

  /** Forgets what it holds and reloads everything on the next read (for "Refresh"). */
  reload(): void {
    this.records = undefined;
    this.damagedRuns.clear();
    this.emit({ runId: '', kind: 'updated' });
  }

  dispose(): void {
    this.storeSubscription.dispose();
    this.listeners.clear();
  }

  private map(): Map<string, RunRecord> {
    if (!this.records) {
      const { records, damaged } = this.store.scan();
      this.records = new Map(records.map((r) => [r.id, r]));
      this.damagedRuns.clear();
      for (const d of damaged) this.damagedRuns.set(d.id, d);
    }
    return this.records;
  }

  private onStoreChange(c: StoreChange): void {
    if (!this.records) {
      // Nobody has read yet: the next read loads everything, this change included.
      this.emit({ runId: c.runId, kind: c.kind, event: c.event });
      return;
    }
    if (c.kind === 'deleted') {
      this.records.delete(c.runId);
      this.damagedRuns.delete(c.runId);
      this.emit({ runId: c.runId, kind: 'deleted' });
      return;
    }
    if (c.kind === 'updated' && c.event && !RECORD_EVENTS.has(c.event.type)) {
      this.emit({ runId: c.runId, kind: c.kind, event: c.event, record: this.records.get(c.runId) });
      return;
    }
    const record = this.store.get(c.runId);
    if (record) {
      this.records.set(c.runId, record);
      this.damagedRuns.delete(c.runId);
    }
    this.emit({ runId: c.runId, kind: c.kind, event: c.event, record });
  }

  private emit(c: IndexChange): void {
    for (const l of [...this.listeners]) l(c);
  }
}
