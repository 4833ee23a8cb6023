/**
 * The Slurm client commands Regbench uses (sbatch, squeue, scontrol, scancel), each with a
 * timeout and the caller's environment (SLURM_CONF included) passed through. Never `sacct`: many
 * clusters have no accounting database. Every failure becomes a SlurmError with one line.
 */
import { spawn } from 'node:child_process';

export class SlurmError extends Error {}

export interface SlurmClientOptions {
  env?: NodeJS.ProcessEnv;
  /** Per command; default 15 s. */
  timeoutMs?: number;
}

export interface CommandResult {
  stdout: string;
  stderr: string;
  code: number;
}

const DEFAULT_TIMEOUT_MS = 15_000;

/** The first meaningful line of a client's error output, without the "sbatch: error:" prefix. */
export function oneLine(text: string): string {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const best = lines.find((l) => /error/i.test(l)) ?? lines[0] ?? '';
  return best.replace(/^\w+: (error: )?/, '').slice(0, 300);
}

/** Runs one client command; rejects with SlurmError when it is missing, times out or fails. */
export function runSlurmCommand(command: string, args: string[], opts: SlurmClientOptions = {}, input?: string): Promise<CommandResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.stdin.on('error', () => undefined);
    child.stdin.end(input ?? '');
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const why =
        err.code === 'ENOENT' ? `${command} not found on PATH: is this a Slurm login node (or is slurm-client installed)?` : `${command}: ${err.message}`;
      reject(new SlurmError(why));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new SlurmError(
            `${command} did not answer within ${Math.round(timeoutMs / 1000)} s: is the Slurm controller reachable (SLURM_CONF=${(opts.env ?? process.env).SLURM_CONF ?? 'unset'})?`,
          ),
        );
      } else if (code !== 0) {
        reject(new SlurmError(`${command} failed: ${oneLine(stderr || stdout) || `exit code ${code}`}`));
      } else {
        resolve({ stdout, stderr, code: code ?? 0 });
      }
    });
  });
}

/** Submits a batch script (given on stdin) and returns the job id. */
export async function sbatch(script: string, args: string[], opts: SlurmClientOptions = {}): Promise<string> {
  const { stdout } = await runSlurmCommand('sbatch', ['--parsable', ...args], opts, script);
  // --parsable prints "jobid" or "jobid;cluster".
  const id = stdout.trim().split('\n').pop()?.split(';')[0] ?? '';
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch printed no job id: '${stdout.trim().slice(0, 200)}'`);
  return id;
}

export async function scancel(jobIds: string[], opts: SlurmClientOptions = {}, extra: string[] = []): Promise<void> {
  await runSlurmCommand('scancel', [...extra, ...jobIds], opts);
}

/** Requeues one job or array task (`<array>_<task>`; the bare array id requeues every task). */
export async function requeue(jobId: string, opts: SlurmClientOptions = {}): Promise<void> {
  await runSlurmCommand('scontrol', ['requeue', jobId], opts);
}
