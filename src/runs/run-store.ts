/**
 * The run store: `<workspace>/.regbench/runs/<id>/` holds `record.json` (replaced atomically:
 * written to a temporary file, then renamed; it carries a checksum, see json-file.ts),
 * `events.jsonl` (append-only; a torn or damaged line is skipped on read and reported with its
 * line number) and the variant snapshot. A crash at any moment leaves every earlier epoch and run
 * readable. A run whose record.json is damaged or missing is never dropped: `scan` lists it as
 * damaged with the file and the reason, and run-repair.ts rebuilds it from its events.
 * No `vscode` import: the CLI, the runner and the extension share it.
 */
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RUN_STATUSES, STOPPED_STATUSES, formatEventLine, parseEventLine, type RunEvent, type RunStatus } from '../protocol/events';
import { getBenchmark, type RunSpec } from '../protocol/benchmarks';
import { applyEvent, foldSegments, newRunId, runName, syntheticRunEnd, type RunExecutor, type RunRecord } from './run-record';
import { fieldProblems, jsonText, readJsonFile, shownPath, writeAtomic, type FileDamage } from './json-file';

export { writeAtomic } from './json-file';

export const RECORD_FILE = 'record.json';
export const EVENTS_FILE = 'events.jsonl';
/** The worker's stderr, appended by the runner whoever started the run (CLI, editor, Slurm task). */
export const STDERR_FILE = 'stderr.log';

/** A run whose record.json cannot be read: what is known of it without that file. */
export interface DamagedRun {
  id: string;
  dir: string;
  damage: FileDamage;
  /** From the first run-start in events.jsonl, when there is one. */
  spec?: RunSpec;
  /** The status the readable events end in ('queued' when none started the run). */
  lastStatus?: RunStatus;
  epochsCompleted: number;
}

export type RunRead = { ok: true; record: RunRecord } | { ok: false; damaged: DamagedRun } | { ok: false; absent: true };

/** The events of a run as far as they can be read, and the lines that could not. */
export interface EventsRead {
  /** In file order, not folded (see foldSegments). */
  events: RunEvent[];
  problems: FileDamage[];
  missing: boolean;
}

/** How long a folder without record.json may be a run being created before it counts as damaged. */
const CREATING_MS = 60_000;

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
    const file = path.join(dir, EVENTS_FILE);
    // A torn last line (a crash mid-write) is ended first: the new event must not be glued onto it.
    const torn = !this.written.has(runId) && endsTorn(file);
    // One write call per line: an interrupted process leaves at most a torn last line.
    fs.appendFileSync(file, (torn ? '\n' : '') + formatEventLine(event) + '\n');
    let record = this.written.get(runId) ?? this.get(runId);
    if (!record) throw new Error(`run ${runId} has no record in ${dir}`);
    if (event.type === 'run-start' || event.type === 'epoch' || event.type === 'error' || event.type === 'run-end') {
      record = applyEvent(record, event);
      this.writeRecord(record);
    }
    this.emitter.emit('change', { runId, kind: 'updated', event } satisfies StoreChange);
    return record;
  }

  /** The record, or undefined when the run does not exist or its record.json is damaged (see read). */
  get(runId: string): RunRecord | undefined {
    const r = this.readRecordFile(runId);
    return r.ok ? r.value : undefined;
  }

  /** The record, or what is known of a run whose record.json is damaged, or that there is none yet. */
  read(runId: string): RunRead {
    const r = this.readRecordFile(runId);
    if (r.ok) return { ok: true, record: r.value };
    const dir = this.runDir(runId);
    if (r.missing && this.beingCreated(dir)) return { ok: false, absent: true };
    const damage = r.missing ? { file: r.file, reason: `${r.reason}: the run's record was deleted or never written` } : r.damage;
    const { events } = this.readEvents(runId);
    const start = events.find((e) => e.type === 'run-start');
    let lastStatus: RunStatus | undefined = start ? undefined : 'queued';
    let epochs = 0;
    for (const e of events) {
      if (e.type === 'run-start') lastStatus = 'running';
      if (e.type === 'run-end') lastStatus = e.status;
      if (e.type === 'epoch') epochs = e.epoch + 1;
    }
    return { ok: false, damaged: { id: runId, dir, damage, spec: start?.type === 'run-start' ? start.spec : undefined, lastStatus, epochsCompleted: epochs } };
  }

  /** Every run: readable records (stale 'running' ones reconciled first) and damaged runs, oldest first. */
  scan(): { records: RunRecord[]; damaged: DamagedRun[] } {
    const records: RunRecord[] = [];
    const damaged: DamagedRun[] = [];
    for (const name of this.runNames()) {
      const r = this.read(name);
      if (r.ok) records.push(this.reconcile(r.record));
      else if ('damaged' in r) damaged.push(r.damaged);
    }
    return { records, damaged };
  }

  /** Every readable run, oldest first. Stale 'running' runs are reconciled first. Damaged runs: scan. */
  list(): RunRecord[] {
    return this.scan().records;
  }

  /**
   * The events of a run in order; a torn or invalid line is skipped. Epochs that a resumed
   * segment repeated appear once (foldSegments).
   */
  events(runId: string): RunEvent[] {
    return foldSegments(this.readEvents(runId).events);
  }

  /** The events of a run in file order, and each line that could not be read (with its number). */
  readEvents(runId: string): EventsRead {
    const file = path.join(this.runDir(runId), EVENTS_FILE);
    const name = this.shown(file);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
      return { events: [], missing, problems: [{ file: name, reason: missing ? 'is missing' : `cannot be read (${(err as Error).message})` }] };
    }
    const out: RunEvent[] = [];
    const problems: FileDamage[] = [];
    const lines = text.split('\n');
    lines.forEach((line, i) => {
      const last = i === lines.length - 1;
      try {
        const e = parseEventLine(line);
        if (e) out.push(e);
        else if (line.trim()) problems.push({ file: name, line: i + 1, reason: 'an event of an unknown type was skipped' });
      } catch (err) {
        const why = last ? 'a torn last line (cut off mid-write) was skipped' : `a damaged line was skipped (${(err as Error).message.slice(0, 80)})`;
        problems.push({ file: name, line: i + 1, reason: why });
      }
    });
    return { events: out, problems, missing: false };
  }

  /** A path inside the store as messages show it: `.regbench/runs/<id>/record.json`. */
  shown(file: string): string {
    return shownPath(file, path.dirname(this.root));
  }

  private runNames(): string[] {
    try {
      return fs
        .readdirSync(this.runsDir, { withFileTypes: true })
        .filter((d) => d.isDirectory() && /^[\w.-]+$/.test(d.name))
        .map((d) => d.name)
        .sort();
    } catch {
      return [];
    }
  }

  private readRecordFile(runId: string) {
    const dir = this.runDir(runId);
    return readJsonFile<RunRecord>(path.join(dir, RECORD_FILE), (v) => recordProblem(v, runId), this.shown(path.join(dir, RECORD_FILE)));
  }

  /** A folder without record.json: allocated and being filled (young, no events yet), or nothing at all. */
  private beingCreated(dir: string): boolean {
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((n) => !n.endsWith('.tmp'));
    } catch {
      return true;
    }
    if (!names.length) return true;
    if (names.includes(EVENTS_FILE)) return false;
    // The oldest file's age: the folder's own time changes with every rename inside it.
    const oldest = Math.min(...names.map((n) => statTime(path.join(dir, n))));
    return Date.now() - oldest < CREATING_MS;
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
    return this.append(
      r.id,
      syntheticRunEnd(r, 'interrupted', 'the process that ran it exited before the run ended; resume continues from its last checkpoint'),
    );
  }

  /** Sets (or replaces) the run's executor; read-modify-write of the record. */
  setExecutor(runId: string, executor: RunExecutor): RunRecord {
    return this.update(runId, (r) => ({ ...r, executor }));
  }

  private writeRecord(r: RunRecord): void {
    writeAtomic(path.join(this.runDir(r.id), RECORD_FILE), jsonText(r));
    // Only a run this process runs gets its events from here: any other record may change on disk
    // (another window, a Slurm task on a node, a resume elsewhere), so it is read afresh.
    if (r.status === 'running' && r.ownerPid === process.pid) this.written.set(r.id, r);
    else this.written.delete(r.id);
  }

  /** Writes a record rebuilt by a repair (run-repair.ts) and tells the listeners. */
  writeRepaired(r: RunRecord): void {
    this.writeRecord(r);
    this.emitter.emit('change', { runId: r.id, kind: 'updated' } satisfies StoreChange);
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

/** Why a parsed record.json cannot be used as a record, or undefined. */
function recordProblem(v: unknown, runId: string): string | undefined {
  const shape = fieldProblems(v, {
    id: 'string',
    name: 'string',
    spec: 'object',
    status: 'string',
    createdAt: 'string',
    epochsCompleted: 'number',
    totalEpochs: 'number',
    variantSnapshot: 'string',
  });
  if (shape) return shape;
  const r = v as RunRecord;
  if (r.id !== runId) return `its id '${r.id}' is not the folder's name`;
  if (!RUN_STATUSES.includes(r.status)) return `its status '${r.status}' is not a run status`;
  return fieldProblems(r.spec, {
    bench: 'string',
    variantPath: 'string',
    variantHash: 'string',
    seed: 'number',
    epochs: 'number',
    budget: 'string',
    variantKind: 'object',
  });
}

function statTime(file: string): number {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return Date.now();
  }
}

/** Whether the file's last byte is not a newline (a line was cut off). */
function endsTorn(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file, 'r');
    const size = fs.fstatSync(fd).size;
    if (size === 0) return false;
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, size - 1);
    return b[0] !== 0x0a;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
