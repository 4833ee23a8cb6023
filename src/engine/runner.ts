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
  LineSplitter,
  parseEventLine,
  PROTOCOL_VERSION,
  type ErrorKind,
  type RunEndEvent,
  type RunEvent,
} from '../protocol/events';
import type { RunSpec } from '../protocol/benchmarks';
import type { RunRecord } from '../store/run-record';
import type { RunStore } from '../store/run-store';
import { resolveRunSpec, type RunRequest } from './run-request';
import { findPython, workerScriptPath } from './pytorch/launcher';
import type { TensorFiles } from '../protocol/benchmarks';
import type { PrepareAnswer } from './pytorch/prepare-data';

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
  private cancelRequested = false;
  private readonly stderrTail: string[] = [];
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
      out.flush().forEach((l) => this.handleLine(l));
      err.flush().forEach((l) => this.handleStderr(l));
      if (this.killTimer) clearTimeout(this.killTimer);
      if (this.ended) return;
      if (this.cancelRequested) {
        this.finish('cancelled', 'cancelled by the user');
        return;
      }
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const cause = crashCause(this.stderrTail);
      this.fail('internal', `the worker ${how} before the run ended${cause ? `: ${cause}` : ''}`, this.stderrTail.join('\n'));
    });
  }

  /** Ends the worker's process tree; the run is marked cancelled. Resolves when it has ended. */
  cancel(): Promise<RunRecord> {
    if (this.ended) return this.done;
    this.cancelRequested = true;
    this.preparing?.kill('SIGTERM');
    const child = this.child;
    if (child?.pid !== undefined) {
      killTree(child.pid, 'SIGTERM');
      this.killTimer = setTimeout(() => {
        if (child.pid !== undefined) killTree(child.pid, 'SIGKILL');
      }, (this.opts.killGraceSeconds ?? 2) * 1000);
    } else if (!child) {
      // Not spawned yet (start() is resolving the interpreter): start() will see the flag.
    }
    return this.done;
  }

  private handleStderr(line: string): void {
    if (!line.trim()) return;
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
    this.opts.onStderr?.(line);
  }

  private handleLine(line: string): void {
    if (this.ended) return;
    let event: RunEvent | undefined;
    try {
      event = parseEventLine(line);
    } catch (err) {
      if (err instanceof EventParseError) {
        // A stray print in the variant goes to stdout: keep it as a log line, not a failure.
        this.opts.onStderr?.(line);
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
    if (event.type === 'run-start' && !event.env.gitCommit) {
      const commit = gitCommitOf(path.dirname(this.spec.variantPath));
      if (commit) event = { ...event, env: { ...event.env, gitCommit: commit } };
    }
    this.emit(event);
    if (event.type === 'run-end') this.end();
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
    const r = this.opts.store.get(this.spec.runId);
    this.emit({
      type: 'run-end',
      runId: this.spec.runId,
      time: new Date().toISOString(),
      status,
      bestTestAcc: r?.bestTestAcc ?? null,
      finalTestAcc: r?.finalTestAcc ?? null,
      epochsCompleted: r?.epochsCompleted ?? 0,
      seconds: (Date.now() - this.startedAt) / 1000,
      reason,
    });
    this.end();
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    const record = this.opts.store.get(this.spec.runId);
    // The worker has said its last word; make sure nothing of it lingers.
    if (this.child && this.child.exitCode === null && this.child.pid !== undefined) {
      const pid = this.child.pid;
      setTimeout(() => killTree(pid, 'SIGKILL'), 5000).unref();
    }
    if (record) this.resolveDone(record);
  }
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

function gitCommitOf(dir: string): string | undefined {
  const head = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: dir, encoding: 'utf8', timeout: 3000 });
  if (head.status !== 0) return undefined;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: dir, encoding: 'utf8', timeout: 3000 });
  return head.stdout.trim() + (dirty.stdout.trim() ? '+dirty' : '');
}
