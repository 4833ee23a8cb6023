/**
 * Building the torch backend's addon on first use, where the bundle has none (an installed
 * extension ships the build script and the sources in dist/torch-backend/): the per-user folder
 * the addon goes to, the build script's command line and its one-line outcome, run synchronously
 * (the worker) or as a child process with progress (the editor). No TensorFlow.js here: the
 * extension host imports this module.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const TORCH_ADDON_NAME = 'regbench_torch.node';

/** Where the addon built on first use goes (per user, 0700 like the build cache). */
export function userAddonDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'regbench', 'torch-backend', 'addon');
}

/** The build script shipped beside the bundle in `dir` (dist/ or dist/test/), if any. */
export function shippedBuildScript(dir: string): string | undefined {
  return [join(dir, 'torch-backend', 'build-torch-backend.mjs'), join(dir, '..', 'torch-backend', 'build-torch-backend.mjs')].find((p) => existsSync(p));
}

/** True when an addon is there to load: beside the bundle, or built on first use before. */
export function torchAddonBuilt(dir: string): boolean {
  return [join(dir, 'native', TORCH_ADDON_NAME), join(dir, '..', 'native', TORCH_ADDON_NAME), join(userAddonDir(), TORCH_ADDON_NAME)].some((p) =>
    existsSync(p),
  );
}

function buildArgs(script: string, python: string | undefined): string[] {
  return [script, '--src', join(script, '..', 'src'), '--out', userAddonDir(), '--quiet', ...(python ? ['--python', python] : [])];
}

export interface FirstUseBuild {
  /** The built addon, or null. */
  path: string | null;
  /** One line: what was built, or why not (the wasm path is used then). */
  message: string;
}

/** The build script's last stdout line is JSON: { path } or { path: null, reason }. */
export function buildOutcome(stdout: string): FirstUseBuild {
  try {
    const r = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { path?: string | null; reason?: string };
    return r.path ? { path: r.path, message: `torch backend: built ${r.path}` } : { path: null, message: r.reason ?? 'torch backend: build failed' };
  } catch {
    return { path: null, message: `torch backend: build failed: unexpected output ${JSON.stringify(stdout.slice(-200))}` };
  }
}

/** The line of a failed build's stderr that says what broke (Node prints its version last). */
function errorLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.filter((l) => /error/i.test(l)).pop() ?? lines.pop();
}

const failed = (e: unknown): FirstUseBuild => ({
  path: null,
  message: `torch backend: build failed: ${String(e instanceof Error ? e.message : e).split('\n')[0]}`,
});

const BUILD_ENV = (): NodeJS.ProcessEnv => ({ ...process.env, ELECTRON_RUN_AS_NODE: '1' });
const BUILD_TIMEOUT_MS = 15 * 60_000;

/** Builds synchronously (the worker, before its first torch tensor); null when no script is shipped. */
export function buildTorchAddonSync(dir: string, python: string | undefined): FirstUseBuild | null {
  const script = shippedBuildScript(dir);
  if (!script) return null;
  try {
    const out = execFileSync(process.execPath, buildArgs(script, python), {
      encoding: 'utf8',
      env: BUILD_ENV(),
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: BUILD_TIMEOUT_MS,
    });
    return buildOutcome(out);
  } catch (e) {
    return failed(e);
  }
}

/** Builds in a child process (the editor, under a progress notification); null when no script is shipped. */
export function buildTorchAddon(dir: string, python: string | undefined): Promise<FirstUseBuild> | null {
  const script = shippedBuildScript(dir);
  if (!script) return null;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, buildArgs(script, python), { env: BUILD_ENV(), stdio: ['ignore', 'pipe', 'pipe'], timeout: BUILD_TIMEOUT_MS });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => resolve(failed(e)));
    child.on('close', (code) => resolve(code === 0 ? buildOutcome(out) : failed(errorLine(err) ?? `exit code ${code}`)));
  });
}
