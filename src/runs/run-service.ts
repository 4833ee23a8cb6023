/**
 * This window's runs: a request becomes a queued run in the store at once (prepareRun), waits in
 * the RunQueue for a slot, then runs in a worker process through the runner. The status bar,
 * progress notifications and the dashboard follow the events it re-emits. Disposing it ends every
 * worker it started: they run in their own process groups and would otherwise outlive the editor.
 * No `vscode` import.
 */
import type { RunEvent } from '../protocol/events';
import { syntheticRunEnd, type RunRecord } from './run-record';
import type { RunStore } from './run-store';
import { UsageError, type RunRequest } from './run-request';
import { prepareRun, RESUMABLE, resumeRun, RunHandle } from './runner';
import { RunQueue, type CancelOutcome } from './run-queue';

/** The worker's stderr of one run, beside its events, so a run's log can be shown later. */

export interface RunServiceOptions {
  store: RunStore;
  concurrency: number;
  /** Folder of the worker bundles; default: the runner's lookup beside the extension bundle. */
  distDir?: string;
  /** The Python interpreter setting, read when each run starts. */
  python: () => string | undefined;
  onStderr?: (run: RunRecord, line: string) => void;
}

export type RunServiceEvent =
  | { type: 'queued'; record: RunRecord }
  | { type: 'started'; record: RunRecord }
  | { type: 'event'; event: RunEvent; record: RunRecord }
  | { type: 'ended'; record: RunRecord };

export class RunService {
  private readonly queue: RunQueue;
  private readonly handles = new Map<string, RunHandle>();
  private readonly listeners = new Set<(e: RunServiceEvent) => void>();

  constructor(private readonly opts: RunServiceOptions) {
    this.queue = new RunQueue(opts.concurrency);
  }

  get store(): RunStore {
    return this.opts.store;
  }

  onEvent(listener: (e: RunServiceEvent) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  get concurrency(): number {
    return this.queue.concurrency;
  }

  set concurrency(n: number) {
    this.queue.concurrency = n;
  }

  /** Creates the run (queued) and schedules it. Throws UsageError when the request is invalid. */
  submit(req: RunRequest): RunRecord {
    const record = prepareRun(req, this.opts.store);
    this.emit({ type: 'queued', record });
    let handle: RunHandle | undefined;
    this.queue.enqueue({
      id: record.id,
      run: () => {
        // Built at start, not at submit: a changed interpreter setting applies to waiting runs.
        const created = this.createHandle(record);
        handle = created;
        this.emit({ type: 'started', record: this.opts.store.get(record.id) ?? record });
        return this.follow(record, created, () => created.start());
      },
      cancel: () => void handle?.cancel(),
      discard: () => this.discard(record),
    });
    return record;
  }

  /**
   * Queues a stopped run (interrupted, failed or cancelled) to continue from its last checkpoint
   * (from the start when it has none), like a new run: it waits for a slot. Until it starts its
   * record stays as it was, so a resume cancelled while waiting leaves it resumable. Throws
   * UsageError when the run cannot be resumed.
   */
  resume(runId: string): RunRecord {
    const record = this.opts.store.get(runId);
    if (!record) throw new UsageError(`no run '${runId}' in ${this.opts.store.root}`);
    if (this.queue.has(runId)) throw new UsageError(`${record.name} is already queued or running in this window`);
    if (!RESUMABLE.includes(record.status)) throw new UsageError(`${record.name} cannot be resumed: it is ${record.status}`);
    this.emit({ type: 'queued', record });
    let handle: RunHandle | undefined;
    this.queue.enqueue({
      id: runId,
      run: async () => {
        this.emit({ type: 'started', record: this.opts.store.get(runId) ?? record });
        try {
          handle = await resumeRun(runId, {
            store: this.opts.store,
            distDir: this.opts.distDir,
            python: this.opts.python(),
            onStderr: (line) => this.stderr(record, line),
          });
        } catch (err) {
          // Refused when it was about to start (the run changed meanwhile): it stays as it is.
          this.stderr(record, `regbench: ${(err as Error).message}`);
          this.emit({ type: 'ended', record: this.opts.store.get(runId) ?? record });
          return;
        }
        this.handles.set(runId, handle);
        // Its events come from the worker's pipes, never before this line runs.
        await this.follow(record, handle, async () => undefined);
      },
      cancel: () => void handle?.cancel(),
      discard: () => this.emit({ type: 'ended', record: this.opts.store.get(runId) ?? record }),
    });
    return record;
  }

  /** Cancels a run of this window, queued or running. */
  cancel(runId: string): CancelOutcome {
    return this.queue.cancel(runId);
  }

  cancelAll(): void {
    this.queue.cancelAll();
  }

  /** True while the run is queued or running in this window. */
  owns(runId: string): boolean {
    return this.queue.has(runId);
  }

  /** This window's unfinished runs: running ones first (in start order), then the queue. */
  activeRuns(): RunRecord[] {
    const ids = [...this.queue.runningIds(), ...this.queue.queuedIds()];
    return ids.map((id) => this.opts.store.get(id)).filter((r): r is RunRecord => r !== undefined);
  }

  /** Resolves when the run has ended (at once when it is not running in this window). */
  async whenEnded(runId: string): Promise<void> {
    await this.handles.get(runId)?.done;
  }

  dispose(): void {
    this.cancelAll();
    this.listeners.clear();
  }

  private createHandle(record: RunRecord): RunHandle {
    const handle = new RunHandle(record.spec, {
      store: this.opts.store,
      distDir: this.opts.distDir,
      python: this.opts.python(),
      onStderr: (line) => this.stderr(record, line),
    });
    this.handles.set(record.id, handle);
    return handle;
  }

  /** Re-emits the handle's events from before `start` until the run has ended. */
  private async follow(record: RunRecord, handle: RunHandle, start: () => Promise<void>): Promise<void> {
    const subscription = handle.onEvent((event, r) => this.emit({ type: 'event', event, record: r }));
    try {
      await start();
      const ended = await handle.done;
      this.emit({ type: 'ended', record: ended });
    } finally {
      subscription.dispose();
      this.handles.delete(record.id);
    }
  }

  private discard(record: RunRecord): void {
    const ended = this.opts.store.append(record.id, syntheticRunEnd(record, 'cancelled', 'cancelled while queued'));
    this.emit({ type: 'ended', record: ended });
  }

  private stderr(record: RunRecord, line: string): void {
    this.opts.onStderr?.(record, line);
  }

  private emit(e: RunServiceEvent): void {
    for (const l of [...this.listeners]) l(e);
  }
}
