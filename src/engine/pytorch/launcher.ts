/**
 * Finds a Python interpreter that can import torch and names the worker script. Used by the runner
 * (CLI and extension) before it spawns `python -u <dist>/pytorch/worker.py`.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';

export interface FoundPython {
  /** The command or path to run, as given by the candidate that worked. */
  python: string;
  /** torch.__version__ as that interpreter reports it, e.g. '1.13.0' or '2.5.1+cpu'. */
  torchVersion: string;
}

export interface FindPythonOptions {
  /** The user's setting (regbench.pythonPath / --python); tried first. */
  setting?: string;
  env?: NodeJS.ProcessEnv;
  /** Seconds one probe may take; importing torch on a busy machine takes a few. Default 60. */
  timeoutSeconds?: number;
}

/** Prints torch's version on the last line; anything torch logs while importing comes before it. */
const PROBE = 'import torch, sys; sys.stdout.write("\\n" + torch.__version__ + "\\n")';

export function pythonCandidates(opts: FindPythonOptions): string[] {
  const env = opts.env ?? process.env;
  const ordered = [opts.setting, env.REGBENCH_PYTHON, 'python3', '/usr/bin/python3', 'python'];
  const out: string[] = [];
  for (const c of ordered) {
    const trimmed = c?.trim();
    if (trimmed && !out.includes(trimmed)) out.push(trimmed);
  }
  return out;
}

interface ProbeResult {
  torchVersion?: string;
  /** Why the candidate does not qualify, one line. */
  problem?: string;
}

function probe(python: string, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    execFile(python, ['-c', PROBE], { env, timeout: timeoutMs, windowsHide: true, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) {
        const lines = stdout.trim().split('\n');
        const version = lines[lines.length - 1]?.trim();
        resolve(version ? { torchVersion: version } : { problem: 'printed no torch version' });
        return;
      }
      const e = err as NodeJS.ErrnoException & { killed?: boolean };
      if (e.code === 'ENOENT') resolve({ problem: 'not found' });
      else if (e.killed) resolve({ problem: `no answer within ${Math.round(timeoutMs / 1000)} s` });
      else if (/No module named ['"]?torch/.test(stderr)) resolve({ problem: 'no torch module' });
      else {
        const last = stderr.trim().split('\n').pop() ?? '';
        resolve({ problem: last ? `cannot import torch (${last.slice(0, 200)})` : `failed (${e.message.split('\n')[0]})` });
      }
    });
  });
}

/**
 * The first interpreter, in the order setting, $REGBENCH_PYTHON, python3, /usr/bin/python3,
 * python, that can `import torch`. Throws an Error saying how to install PyTorch and what was tried.
 */
export async function findPython(opts: FindPythonOptions = {}): Promise<FoundPython> {
  const env = opts.env ?? process.env;
  const timeoutMs = (opts.timeoutSeconds ?? 60) * 1000;
  const tried: string[] = [];
  for (const python of pythonCandidates(opts)) {
    const result = await probe(python, env, timeoutMs);
    if (result.torchVersion) return { python, torchVersion: result.torchVersion };
    tried.push(`${python}: ${result.problem ?? 'unusable'}`);
  }
  throw new Error(
    'No Python with PyTorch found for the PyTorch engine. Install it (Debian/Ubuntu: `sudo apt-get install python3-torch`; ' +
      'elsewhere: `pip install torch`) or point the Python setting / REGBENCH_PYTHON at an interpreter that has it. ' +
      `Tried: ${tried.join('; ')}.`,
  );
}

/** The worker script that scripts/build.mjs copies from src/engine/pytorch/ into dist/pytorch/. */
export function workerScriptPath(distDir: string): string {
  return path.join(distDir, 'pytorch', 'worker.py');
}
