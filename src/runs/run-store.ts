/**
 * The run store: `<workspace>/.regbench/runs/<id>/` holds `record.json` (replaced atomically:
 * written to a temporary file, then renamed), `events.jsonl` (append-only; a torn last line after
 * a crash is ignored on read) and the variant snapshot. A crash at any moment leaves every earlier
 * epoch and run readable. No `vscode` import: the CLI, the runner and the extension share it.
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { STOPPED_STATUSES, formatEventLine, parseEventLine, type RunEvent } from '../protocol/events';
import { getBenchmark, type RunSpec } from '../protocol/benchmarks';
import { applyEvent, foldSegments, newRunId, runName, syntheticRunEnd, type RunExecutor, type RunRecord } from './run-record';

export const RECORD_FILE = 'record.json';
export const EVENTS_FILE = 'events.jsonl';
/** The worker's stderr, appended by the runner whoever started the run (CLI, editor, Slurm task). */
export const STDERR_FILE = 'stderr.log';

export interface StoreChange {
  runId: string;
  kind: 'created' | 'updated' | 'deleted';
  event?: RunEvent;
}

export class RunStore {
  readonly runsDir: string;
  private readonly emitter = new EventEmitter();
  /**
   * Records this store wrote, by run id: appending an event updates the cached record instead of
   * re-reading record.json (only the process that owns a run appends to it).
   */
  private readonly written = new Map<string, RunRecord>();

  /** `root` is the `.regbench` folder (usually `<workspace>/.regbench`). */
  constructor(readonly root: string) {
    this.runsDir = path.join(root, 'runs');
  }

  static forWorkspace(workspace: string): RunStore {
    return new RunStore(path.join(workspace, '.regbench'));
  }

  onChange(listener: (c: StoreChange) => void): { dispose(): void } {
    this.emitter.on('change', listener);
    return { dispose: () => this.emitter.off('change', listener) };
  }

  runDir(id: string): string {
    if (!/^[\w.-]+$/.test(id)) throw new Error(`invalid run id '${id}'`);
    return path.join(this.runsDir, id);
  }

  /** Allocates a run id and directory (before the spec is final, so the spec can name it). */
  allocate(bench: string, now = new Date()): { id: string; dir: string } {
    fs.mkdirSync(this.runsDir, { recursive: true });
    for (;;) {
      const id = newRunId(bench, now, randomBytes(2).toString('hex'));
      const dir = this.runDir(id);
      try {
        fs.mkdirSync(dir);
        return { id, dir };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }

  /** Writes the variant snapshot and the initial record (status queued). */
  create(spec: RunSpec, variantSource: string, ownerPid = process.pid, now = new Date()): RunRecord {
    const dir = this.runDir(spec.runId);
    fs.mkdirSync(dir, { recursive: true });
    const snapshot = `variant${path.extname(spec.variantPath) || '.txt'}`;
    writeAtomic(path.join(dir, snapshot), variantSource);
    const record: RunRecord = {
      id: spec.runId,
      name: runName(spec.variantPath, getBenchmark(spec.bench).short, spec.seed, now),
      spec,
      status: 'queued',
      createdAt: now.toISOString(),
      epochsCompleted: 0,
      totalEpochs: spec.epochs,
      bestTestAcc: null,
      finalTestAcc: null,
      epochSeconds: null,
      variantSnapshot: snapshot,
      ownerPid,
    };
    this.writeRecord(record);
    fs.closeSync(fs.openSync(path.join(dir, EVENTS_FILE), 'a'));
    this.emitter.emit('change', { runId: record.id, kind: 'created' } satisfies StoreChange);
    return record;
  }

  /** Appends one event and updates the record; returns the new record. */
  append(runId: string, event: RunEvent): RunRecord {
    const dir = this.runDir(runId);
    // One write call per line: an interrupted process leaves at most a torn last line.
    fs.appendFileSync(path.join(dir, EVENTS_FILE), formatEventLine(event) + '\n');
    let record = this.written.get(runId) ?? this.get(runId);
    if (!record) throw new Error(`run ${runId} has no record in ${dir}`);
    if (event.type === 'run-start' || event.type === 'epoch' || event.type === 'error' || event.type === 'run-end') {
      record = applyEvent(record, event);
      this.writeRecord(record);
    }
    this.emitter.emit('change', { runId, kind: 'updated', event } satisfies StoreChange);
    return record;
  }

  get(runId: string): RunRecord | undefined {
    try {
      return JSON.parse(fs.readFileSync(path.join(this.runDir(runId), RECORD_FILE), 'utf8')) as RunRecord;
    } catch {
      return undefined;
    }
  }

  /** Every readable run, oldest first. Stale 'running' runs are reconciled first. */
  list(): RunRecord[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.runsDir);
    } catch {
      return [];
    }
    const out: RunRecord[] = [];
    for (const name of names.sort()) {
      const r = this.get(name);
      if (r) out.push(this.reconcile(r));
    }
    return out;
  }

  /**
   * The events of a run in order; a torn or invalid line is skipped. Epochs that a resumed
   * segment repeated appear once (foldSegments).
   */
  events(runId: string): RunEvent[] {
    let text: string;
    try {
      text = fs.readFileSync(path.join(this.runDir(runId), EVENTS_FILE), 'utf8');
    } catch {
      return [];
    }
    const out: RunEvent[] = [];
    for (const line of text.split('\n')) {
      try {
        const e = parseEventLine(line);
        if (e) out.push(e);
      } catch {
        // A torn last line after a crash; earlier lines stay readable.
      }
    }
    return foldSegments(out);
  }

  variantSource(runId: string): string | undefined {
    const r = this.get(runId);
    if (!r) return undefined;
    try {
      return fs.readFileSync(path.join(this.runDir(runId), r.variantSnapshot), 'utf8');
    } catch {
      return undefined;
    }
  }

  variantSnapshotPath(runId: string): string | undefined {
    const r = this.get(runId);
    return r ? path.join(this.runDir(runId), r.variantSnapshot) : undefined;
  }

  delete(runId: string): void {
    this.written.delete(runId);
    fs.rmSync(this.runDir(runId), { recursive: true, force: true });
    this.emitter.emit('change', { runId, kind: 'deleted' } satisfies StoreChange);
  }

  /**
   * A run still marked queued/running whose owner process is gone was interrupted (editor,
   * CLI or machine stopped): it is marked `interrupted`, keeping its epochs, and can be resumed
   * from its last checkpoint. A run that never started is marked cancelled.
   */
  reconcile(r: RunRecord): RunRecord {
    if (STOPPED_STATUSES.includes(r.status)) return r;
    // A Slurm task's run is owned by a process on a node (or not yet started): no local pid says
    // anything about it. `regbench jobs` reconciles it with the scheduler's state instead.
    if (r.executor) return r;
    if (r.ownerPid !== undefined && isAlive(r.ownerPid)) return r;
    if (r.status === 'queued') return this.append(r.id, syntheticRunEnd(r, 'cancelled', 'the process that queued it exited before it started'));
    return this.append(r.id, syntheticRunEnd(r, 'interrupted', 'the process that ran it exited before the run ended; resume continues from its last checkpoint'));
  }

  /** Sets (or replaces) the run's executor; read-modify-write of the record. */
  setExecutor(runId: string, executor: RunExecutor): RunRecord {
    return this.update(runId, (r) => ({ ...r, executor }));
  }

  private writeRecord(r: RunRecord): void {
    writeAtomic(path.join(this.runDir(r.id), RECORD_FILE), JSON.stringify(r, null, 2) + '\n');
    // Only a run this process runs gets its events from here: any other record may change on disk
    // (another window, a Slurm task on a node, a resume elsewhere), so it is read afresh.
    if (r.status === 'running' && r.ownerPid === process.pid) this.written.set(r.id, r);
    else this.written.delete(r.id);
  }

  /** Replaces a record (a field that is not derived from events, e.g. an owner or a name). */
  update(runId: string, change: (r: RunRecord) => RunRecord): RunRecord {
    const current = this.get(runId);
    if (!current) throw new Error(`run ${runId} has no record in ${this.runDir(runId)}`);
    const next = change(current);
    this.writeRecord(next);
    this.emitter.emit('change', { runId, kind: 'updated' } satisfies StoreChange);
    return next;
  }
}

/** Writes via a temporary file and rename, so readers see the old or the new content, never half. */
export function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
