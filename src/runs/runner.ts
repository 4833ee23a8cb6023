/**
 * Runs one benchmark run in a child process (the TensorFlow.js worker in Node, or the PyTorch
 * worker in Python), turns its stdout lines into events, appends them to the store and hands
 * them to listeners. Used by the CLI and the extension alike. The child gets its own process
 * group, so cancelling ends the whole tree even while a variant loops forever.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  EventParseError,
  EventSchemaError,
  LineSplitter,
  parseEventLine,
  PROTOCOL_VERSION,
  type ErrorKind,
  type RunEndEvent,
  type RunEvent,
} from '../protocol/events';
import type { RunSpec } from '../protocol/benchmarks';
import { syntheticRunEnd, type RunRecord } from './run-record';
import { STDERR_FILE, type RunStore } from './run-store';
import { readCheckpointInfo, resumePointText } from './checkpoint-info';
import { RunWatchdog } from './run-watchdog';
import { provenance } from './provenance';
import { resolveRunSpec, UsageError, variantHash, type RunRequest } from './run-request';
import { damageText } from './json-file';
import { findPython, workerScriptPath } from '../engine/pytorch/launcher';
import type { TensorFiles } from '../protocol/benchmarks';
import type { PrepareAnswer } from '../engine/pytorch/prepare-data';

export interface RunnerOptions {
  store: RunStore;
  /** Folder holding worker.js and pytorch/ (the bundles); default: found beside this bundle. */
  distDir?: string;
  /** Python interpreter setting (the PyTorch engine); see findPython for the lookup order. */
  python?: string;
  env?: NodeJS.ProcessEnv;
  /** Receives the worker's stderr, line by line. */
  onStderr?: (line: string) => void;
  /** Seconds between SIGTERM and SIGKILL when cancelling. */
  killGraceSeconds?: number;
  /** Continue from the run's checkpoint when it has one (resume, Slurm tasks). */
  resume?: boolean;
}

const STDERR_KEEP_LINES = 400;

/** Creates the run's record (queued) and snapshot; nothing runs yet. */
export function prepareRun(req: RunRequest, store: RunStore): RunRecord {
  const { id, dir } = store.allocate(req.bench);
  try {
    const { spec, source } = resolveRunSpec(req, id, dir);
    return store.create(spec, source);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

export function defaultDistDir(): string {
  // Bundles live in dist/; test bundles in dist/test/.
  for (const dir of [__dirname, path.join(__dirname, '..')]) {
    if (fs.existsSync(path.join(dir, 'worker.js'))) return dir;
  }
  return __dirname;
}

const STDERR_TAIL_LINES = 20;

/** Runs dist/prepare-data.js on the spec; its answer, or an internal failure when it died. */
function prepareData(spec: RunSpec, distDir: string, env: NodeJS.ProcessEnv, onSpawn: (child: ChildProcess) => void): Promise<PrepareAnswer> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(distDir, 'prepare-data.js')], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...env, ELECTRON_RUN_AS_NODE: '1' },
      windowsHide: true,
    });
    onSpawn(child);
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-4000)));
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(spec) + '\n');
    const died = (why: string): PrepareAnswer => ({ ok: false, kind: 'internal', message: `preparing the data for the PyTorch worker failed: ${why}` });
    child.on('error', (e) => resolve(died(e.message)));
    child.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as PrepareAnswer);
      } catch {
        resolve(died(`${signal ? `killed by ${signal}` : `exit code ${code}`}${err.trim() ? `: ${err.trim().split('\n').pop()}` : ''}`));
      }
    });
  });
}

export class RunHandle {
  private child: ChildProcess | undefined;
  /** The data preparation of a PyTorch run, while it runs (see prepare-data.ts). */
  private preparing: ChildProcess | undefined;
  private readonly listeners = new Set<(e: RunEvent, r: RunRecord) => void>();
  private ended = false;
  /** The worker's process has exited and its streams are drained. */
  private closed = false;
  private cancelRequested = false;
  /** interrupt() was called: a worker that dies of it before any checkpoint is interrupted too (resume starts it over). */
  private interruptRequested = false;
  private readonly stderrTail: string[] = [];
  /** The last STDERR_KEEP_LINES lines, and how many were seen in all (for the watchdog's dump). */
  private readonly stderrRecent: string[] = [];
  private stderrTotal = 0;
  private watchdog: RunWatchdog | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  readonly done: Promise<RunRecord>;
  private resolveDone!: (r: RunRecord) => void;
  private startedAt = Date.now();

  constructor(
    readonly spec: RunSpec,
    private readonly opts: RunnerOptions,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  get runId(): string {
    return this.spec.runId;
  }

  onEvent(listener: (e: RunEvent, r: RunRecord) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Starts the worker. Errors before the worker exists end the run as failed (never throws). */
  async start(): Promise<void> {
    this.startedAt = Date.now();
    let command: string;
    let args: string[];
    const distDir = this.opts.distDir ?? defaultDistDir();
    let tensors: TensorFiles | undefined;
    try {
      if (this.spec.engine === 'pytorch') {
        const env = this.opts.env ?? process.env;
        const { python } = await findPython({ setting: this.opts.python, env });
        command = python;
        args = ['-u', workerScriptPath(distDir)];
        // The worker reads no dataset format: the data layer prepares the run's images for it,
        // in a process of its own (see prepare-data.ts).
        const answer = await prepareData(this.spec, distDir, env, (c) => (this.preparing = c));
        this.preparing = undefined;
        if (this.cancelRequested) {
          this.finish('cancelled', 'cancelled before it started');
          return;
        }
        if (!answer.ok) {
          this.fail(answer.kind, answer.message, answer.file ? `file: ${answer.file}` : undefined);
          return;
        }
        tensors = answer.tensors;
      } else {
        command = process.execPath;
        args = [path.join(distDir, 'worker.js')];
      }
    } catch (err) {
      this.fail('usage', (err as Error).message);
      return;
    }
    if (this.cancelRequested) {
      this.finish('cancelled', 'cancelled before it started');
      return;
    }
    const child = spawn(command, args, {
      detached: process.platform !== 'win32',
      stdio: ['pipe', 'pipe', 'pipe'],
      // ELECTRON_RUN_AS_NODE makes the editor's own binary behave as Node for the worker.
      env: { ...(this.opts.env ?? process.env), ELECTRON_RUN_AS_NODE: '1' },
      windowsHide: true,
    });
    this.child = child;
    this.watchdog = this.makeWatchdog(child);
    child.stdin?.on('error', () => undefined);
    const spec: RunSpec = { ...this.spec, ...(this.opts.resume ? { resume: true } : {}), ...(tensors ? { tensors } : {}) };
    child.stdin?.end(JSON.stringify(spec) + '\n');
    const out = new LineSplitter();
    const err = new LineSplitter();
    child.stdout?.setEncoding('utf8');
    child.stderr?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => out.push(chunk).forEach((l) => this.handleLine(l)));
    child.stderr?.on('data', (chunk: string) => err.push(chunk).forEach((l) => this.handleStderr(l)));
    child.on('error', (e) => this.fail('internal', `could not start the worker (${command}): ${e.message}`));
    child.on('close', (code, signal) => {
      this.closed = true;
      out.flush().forEach((l) => this.handleLine(l));
      err.flush().forEach((l) => this.handleStderr(l));
      if (this.killTimer) clearTimeout(this.killTimer);
      if (this.ended) return;
      if (this.cancelRequested) {
        this.finish('cancelled', 'cancelled by the user');
        return;
      }
      this.workerDied(code, signal);
    });
  }

  private makeWatchdog(child: ChildProcess): RunWatchdog | undefined {
    if (this.spec.stepTimeoutSeconds === 0) return undefined;
    return new RunWatchdog(this.spec.engine, this.spec.variantPath, this.spec.stepTimeoutSeconds, {
      requestDump: () => {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGUSR2');
      },
      stderrCount: () => this.stderrTotal,
      stderrSince: (i) => this.stderrRecent.slice(Math.max(0, this.stderrRecent.length - (this.stderrTotal - i))),
      stalled: (report) => {
        if (this.ended) return;
        this.emit({
          type: 'error',
          runId: this.spec.runId,
          time: new Date().toISOString(),
          kind: 'variant',
          message: report.message,
          file: report.file,
          line: report.line,
          detail: report.detail,
        });
        this.finish('failed', report.message);
        if (child.pid !== undefined) killTree(child.pid, 'SIGKILL');
      },
    });
  }

  /**
   * The worker ended without a run-end. Killed by a signal with a checkpoint on disk (SIGKILL,
   * the machine's OOM killer, a preempted node): interrupted, resumable. Otherwise: failed.
   */
  private workerDied(code: number | null, signal: NodeJS.Signals | null): void {
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    const checkpoint = signal ? readCheckpointInfo(this.spec.runDir) : undefined;
    if (checkpoint) {
      this.finish('interrupted', `the worker ${how}; \`regbench resume ${this.spec.runId}\` continues from ${resumePointText(checkpoint)}`);
      return;
    }
    if (this.interruptRequested && signal) {
      this.finish('interrupted', `stopped before its first checkpoint; \`regbench resume ${this.spec.runId}\` starts it over`);
      return;
    }
    const cause = crashCause(this.stderrTail);
    this.fail('internal', `the worker ${how} before the run ended${cause ? `: ${cause}` : ''}`, this.stderrTail.join('\n'));
  }

  /** Ends the worker's process tree; the run is marked cancelled. Resolves when it has ended. */
  cancel(): Promise<RunRecord> {
    if (this.ended) return this.done;
    this.cancelRequested = true;
    this.preparing?.kill('SIGTERM');
    const child = this.child;
    if (child?.pid !== undefined) {
      killTree(child.pid, 'SIGTERM');
      this.killTimer = setTimeout(
        () => {
          if (child.pid !== undefined) killTree(child.pid, 'SIGKILL');
        },
        (this.opts.killGraceSeconds ?? 2) * 1000,
      );
    } else if (!child) {
      // Not spawned yet (start() is resolving the interpreter): start() will see the flag.
    }
    return this.done;
  }

  /**
   * Asks the worker to checkpoint at its next step and stop (SIGTERM, not a cancel): the run ends
   * `interrupted` and `regbench resume` continues it. A run not spawned yet is cancelled before it
   * starts (it never trained). Resolves when it has ended.
   */
  interrupt(graceSeconds = 60): Promise<RunRecord> {
    if (this.ended) return this.done;
    const child = this.child;
    if (child?.pid === undefined) return this.cancel();
    this.interruptRequested = true;
    killTree(child.pid, 'SIGTERM');
    this.killTimer = setTimeout(() => {
      if (child.pid !== undefined) killTree(child.pid, 'SIGKILL');
    }, graceSeconds * 1000);
    return this.done;
  }

  private handleStderr(line: string): void {
    if (!line.trim()) return;
    this.stderrRecent.push(line);
    this.stderrTotal++;
    if (this.stderrRecent.length > STDERR_KEEP_LINES) this.stderrRecent.shift();
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.keepStderr(line);
    this.opts.onStderr?.(line);
  }

  /** Appends to the run's stderr.log, so a run shows the same log whoever started it. */
  private keepStderr(line: string): void {
    try {
      fs.appendFileSync(path.join(this.spec.runDir, STDERR_FILE), line + '\n');
    } catch {
      // The run was deleted while its worker still wrote: the listeners still get the line.
    }
  }

  private handleLine(line: string): void {
    if (this.ended) return;
    let event: RunEvent | undefined;
    try {
      event = parseEventLine(line);
    } catch (err) {
      if (err instanceof EventSchemaError) {
        // An event that breaks the schema would silently lose data (an epoch, an end): stop.
        this.protocolError(err.message, line);
        return;
      }
      if (err instanceof EventParseError) {
        // A stray print in the variant goes to stdout: keep it as a log line, not a failure.
        this.handleStderr(line);
        return;
      }
      throw err;
    }
    if (!event) return;
    if (event.runId !== this.spec.runId) return;
    if (event.type === 'hello') {
      if (event.protocol !== PROTOCOL_VERSION) {
        this.fail('internal', `worker speaks event protocol ${event.protocol}, this Regbench expects ${PROTOCOL_VERSION}: rebuild or reinstall Regbench`);
        if (this.child?.pid !== undefined) killTree(this.child.pid, 'SIGKILL');
        return;
      }
    }
    if (event.type === 'run-start') {
      // The resume flag is this segment's instruction, not part of what the run is.
      const { resume: _resume, tensors: _tensors, ...spec } = event.spec;
      event = { ...event, spec, env: { ...provenance(this.spec), ...event.env } };
    }
    if (event.type === 'run-end' && event.status === 'interrupted' && this.cancelRequested) {
      // The worker checkpoints on SIGTERM whoever sent it; a cancel by the user is a cancel.
      event = { ...event, status: 'cancelled', reason: 'cancelled by the user (its last checkpoint is kept: `regbench resume` continues it)' };
    }
    this.watchdog?.observe(event);
    this.emit(event);
    if (event.type === 'run-end') this.end();
  }

  private protocolError(problem: string, line: string): void {
    this.fail(
      'internal',
      `the worker wrote an event that breaks the event protocol (${problem}); the run is stopped so that no result is lost silently. This is a Regbench bug: please report it with the run's log`,
      line.slice(0, 2000),
    );
    if (this.child?.pid !== undefined) killTree(this.child.pid, 'SIGKILL');
  }

  private emit(event: RunEvent): void {
    let record: RunRecord;
    try {
      record = this.opts.store.append(this.spec.runId, event);
    } catch (err) {
      this.opts.onStderr?.(`regbench: could not write run ${this.spec.runId} to the store: ${(err as Error).message}`);
      return;
    }
    for (const l of this.listeners) l(event, record);
  }

  private fail(kind: ErrorKind, message: string, detail?: string): void {
    if (this.ended) return;
    this.emit({ type: 'error', runId: this.spec.runId, time: new Date().toISOString(), kind, message, detail });
    this.finish('failed', message);
  }

  private finish(status: RunEndEvent['status'], reason: string): void {
    if (this.ended) return;
    const r = this.opts.store.get(this.spec.runId) ?? { id: this.spec.runId, bestTestAcc: null, finalTestAcc: null, epochsCompleted: 0 };
    this.emit(syntheticRunEnd(r, status, reason, (Date.now() - this.startedAt) / 1000));
    this.end();
  }

  /**
   * The run has ended. `done` resolves once the worker's streams are closed (so stderr.log is
   * whole), or after 5 s, when whatever lingers of the worker is killed.
   */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.watchdog?.stop();
    const resolve = () => {
      const record = this.opts.store.get(this.spec.runId);
      if (record) this.resolveDone(record);
    };
    const child = this.child;
    if (!child || child.pid === undefined || this.closed) {
      resolve();
      return;
    }
    const pid = child.pid;
    const timer = setTimeout(() => {
      killTree(pid, 'SIGKILL');
      resolve();
    }, 5000);
    timer.unref();
    child.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  }
}

/** Statuses a run can be resumed from (a diverged run would diverge again; a completed one is done). */
export const RESUMABLE: readonly RunRecord['status'][] = ['interrupted', 'failed', 'cancelled'];

/**
 * Continues a stopped run in this process: from its last checkpoint when it has one, else from
 * epoch 0; events, log and record are appended to the same run. Throws UsageError when the run
 * does not exist or cannot be resumed.
 */
export async function resumeRun(runId: string, opts: RunnerOptions): Promise<RunHandle> {
  const store = opts.store;
  const read = store.read(runId);
  if (!read.ok && 'damaged' in read) {
    throw new Error(
      `run ${runId} cannot be resumed: ${damageText(read.damaged.damage)}; \`regbench repair ${runId}\` (Repair Run in the editor) rebuilds it from events.jsonl first`,
    );
  }
  const record = read.ok ? store.reconcile(read.record) : undefined;
  if (!record) throw new UsageError(`no run '${runId}' in ${store.runsDir} (see \`regbench list\`)`);
  if (!RESUMABLE.includes(record.status)) {
    const why =
      record.status === 'running' || record.status === 'queued'
        ? `it is ${record.status} (process ${record.ownerPid ?? '?'})`
        : `it ${record.status === 'completed' ? 'has completed' : 'diverged: it would diverge again'}`;
    throw new UsageError(`run ${runId} cannot be resumed: ${why}`);
  }
  store.update(runId, (r) => ({ ...r, ownerPid: process.pid }));
  const handle = new RunHandle(withUnchangedVariant(record, store, opts.onStderr), { ...opts, resume: true });
  await handle.start();
  return handle;
}

/**
 * The spec to continue a run with: its variant file when that still holds the source the run
 * started with (same hash), else the snapshot in the run folder, with a line saying so.
 */
export function withUnchangedVariant(record: RunRecord, store: RunStore, say?: (line: string) => void): RunSpec {
  const spec = record.spec;
  let current: string | undefined;
  try {
    current = fs.readFileSync(spec.variantPath, 'utf8');
  } catch {
    current = undefined;
  }
  if (current !== undefined && variantHash(current) === spec.variantHash) return spec;
  const snapshot = store.variantSnapshotPath(record.id) ?? spec.variantPath;
  say?.(
    `regbench: ${spec.variantPath} ${current === undefined ? 'is gone' : 'has changed'} since run ${record.id} started; it continues with the source it started with (${snapshot})`,
  );
  return { ...spec, variantPath: snapshot };
}

/** Prepares and starts a run; the handle's `done` resolves with the final record. */
export async function startRun(req: RunRequest, opts: RunnerOptions): Promise<RunHandle> {
  const record = prepareRun(req, opts.store);
  const handle = new RunHandle(record.spec, opts);
  await handle.start();
  return handle;
}

/**
 * The line of a dead worker's stderr that says what went wrong: the first error message (Node's
 * "Error: Cannot find module ..." or Python's "ValueError: ..."), not the stack frames under it.
 */
export function crashCause(stderrTail: readonly string[]): string {
  const lines = stderrTail.map((l) => l.trim()).filter((l) => l && !/^at\s/.test(l) && !/^File "/.test(l) && !/^Traceback/.test(l));
  const error = lines.find((l) => /^(\w+\.)*\w*(Error|Exception)\b|^regbench worker:|^error\b/i.test(l));
  return (error ?? lines[lines.length - 1] ?? '').slice(0, 300);
}

function killTree(pid: number, signal: NodeJS.Signals): void {
  try {
    if (process.platform === 'win32') {
      spawnSync('taskkill', ['/pid', String(pid), '/T', '/F']);
    } else {
      process.kill(-pid, signal);
    }
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}
