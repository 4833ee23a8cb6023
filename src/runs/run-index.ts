/**
 * The runs of the workspace in memory, kept in step with the store: this window's own runs
 * arrive through store.onChange (with the event that changed them); runs written by another
 * process (the CLI in a terminal) arrive through `refresh(runId)`, which the file watcher calls.
 * Views read from here instead of re-reading every record.json on each change. The first read
 * loads lazily, so activation costs nothing. No `vscode` import.
 */
import * as fs from 'node:fs';
import type { RunEvent } from '../protocol/events';
import type { RunRecord } from './run-record';
import type { RunStore, StoreChange } from './run-store';

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

  /** Re-reads one run from disk; emits a change only when the record differs from the one held. */
  refresh(runId: string): void {
    if (!this.records) return;
    const fresh = this.store.get(runId);
    const held = this.records.get(runId);
    if (!fresh) {
      // A directory without record.json is a run being created; only a missing directory is a deletion.
      if (held && !fs.existsSync(this.store.runDir(runId))) {
        this.records.delete(runId);
        this.emit({ runId, kind: 'deleted' });
      }
      return;
    }
    if (held && JSON.stringify(held) === JSON.stringify(fresh)) return;
    this.records.set(runId, fresh);
    this.emit({ runId, kind: held ? 'updated' : 'created', record: fresh });
  }

  /** Forgets what it holds and reloads everything on the next read (for "Refresh"). */
  reload(): void {
    this.records = undefined;
    this.emit({ runId: '', kind: 'updated' });
  }

  dispose(): void {
    this.storeSubscription.dispose();
    this.listeners.clear();
  }

  private map(): Map<string, RunRecord> {
    if (!this.records) {
      this.records = new Map(this.store.list().map((r) => [r.id, r]));
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
      this.emit({ runId: c.runId, kind: 'deleted' });
      return;
    }
    if (c.kind === 'updated' && c.event && !RECORD_EVENTS.has(c.event.type)) {
      this.emit({ runId: c.runId, kind: c.kind, event: c.event, record: this.records.get(c.runId) });
      return;
    }
    const record = this.store.get(c.runId);
    if (record) this.records.set(c.runId, record);
    this.emit({ runId: c.runId, kind: c.kind, event: c.event, record });
  }

  private emit(c: IndexChange): void {
    for (const l of [...this.listeners]) l(c);
  }
}
