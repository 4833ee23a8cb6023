/**
 * A race this window started: the `regbench race` CLI as a child process (the CLI drives the
 * race; the editor follows race.json). Reads the race id from its first line (`race <id>`), hands
 * every line on, and cancels the way Ctrl-C does: SIGINT (its runs checkpoint and stop; `regbench
 * race --resume <id>` continues), then SIGKILL when it has not ended `killAfterMs` later. No
 * `vscode` import (tested with a stand-in CLI).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { raceIdOf } from './race-form';

export interface RaceProcessOptions {
  /** The Node binary (the editor's own, with ELECTRON_RUN_AS_NODE) and the CLI script with its arguments. */
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  killAfterMs: number;
  onLine(line: string, stream: 'stdout' | 'stderr'): void;
  onRaceId(id: string): void;
}

export class RaceProcess {
  id: string | undefined;
  cancelled = false;
  readonly child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal) once the process ended. */
  readonly exited: Promise<number | null>;
  /** The last lines of stderr, for the error shown when the race never started. */
  readonly stderr: string[] = [];
  private killTimer: NodeJS.Timeout | undefined;
  private readonly killAfterMs: number;

  constructor(opts: RaceProcessOptions) {
    this.child = spawn(opts.command, opts.args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = (stream: 'stdout' | 'stderr') => {
      let tail = '';
      return (chunk: string) => {
        const parts = (tail + chunk).split('\n');
        tail = parts.pop() ?? '';
        for (const line of parts) {
          if (stream === 'stderr' && line.trim()) {
            this.stderr.push(line);
            if (this.stderr.length > 20) this.stderr.shift();
          }
          opts.onLine(line, stream);
          const id = stream === 'stdout' && !this.id ? raceIdOf(line) : undefined;
          if (id) {
            this.id = id;
            opts.onRaceId(id);
          }
        }
      };
    };
    this.child.stdout?.setEncoding('utf8').on('data', lines('stdout'));
    this.child.stderr?.setEncoding('utf8').on('data', lines('stderr'));
    this.exited = new Promise((resolve) => {
      this.child.once('error', (err) => {
        this.stderr.push(`could not start the race: ${err.message}`);
        resolve(null);
      });
      this.child.once('exit', (code) => {
        if (this.killTimer) clearTimeout(this.killTimer);
        resolve(code);
      });
    });
    this.killAfterMs = opts.killAfterMs;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGINT now, SIGKILL after killAfterMs when it is still there. */
  cancel(): void {
    if (this.cancelled || !this.running) return;
    this.cancelled = true;
    this.child.kill('SIGINT');
    this.killTimer = setTimeout(() => this.running && this.child.kill('SIGKILL'), this.killAfterMs);
  }

  /** The line to show when the process ended without starting a race. */
  failure(code: number | null): string {
    const last = this.stderr.filter((l) => !/^\s+at /.test(l)).pop();
    return (last ?? `regbench race exited with code ${code}`).replace(/^regbench /, '');
  }
}
