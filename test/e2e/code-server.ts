/**
 * A private code-server (VS Code 1.139 in a browser, installed by test/e2e/setup-code-server.sh)
 * for the end-to-end test: where it is installed, installing a .vsix into a fresh extensions
 * folder, and a server on a free loopback port with its own HOME, user data and extensions, in
 * its own process group so that stopping it ends the extension host and everything it started.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const SETUP_SCRIPT = path.join('test', 'e2e', 'setup-code-server.sh');

/** The cache the setup script installs into (the same default as the script). */
export function cacheDir(): string {
  return process.env.REGBENCH_E2E_CACHE || path.join(os.homedir(), '.cache', 'regbench-e2e');
}

/** The wrapper the setup script writes: code-server run by its Node 24, whatever PATH says. */
export function installedBinary(): string | undefined {
  const dir = cacheDir();
  const wrapper = path.join(dir, 'bin', 'code-server');
  const done = fs.existsSync(dir) && fs.readdirSync(dir).some((f) => f.startsWith('done-'));
  return done && fs.existsSync(wrapper) ? wrapper : undefined;
}

export interface SetupResult {
  binary: string;
  /** Wall time of the setup script: minutes on a first install, well under a second once cached. */
  seconds: number;
}

/** Runs the idempotent setup script; throws with the end of its output when it fails. */
export function setUpCodeServer(repoRoot: string): SetupResult {
  const started = Date.now();
  const r = spawnSync('bash', [path.join(repoRoot, SETUP_SCRIPT)], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const seconds = (Date.now() - started) / 1000;
  const binary = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !binary || !fs.existsSync(binary)) {
    throw new Error(`${SETUP_SCRIPT} failed (exit ${r.status}):\n${tail(r.stderr, 40)}`);
  }
  return { binary, seconds };
}

/** The folders of one private VS Code: nothing lands in the real HOME. */
export interface Profile {
  home: string;
  userDataDir: string;
  extensionsDir: string;
}

export function makeProfile(root: string, userSettings: Record<string, unknown>): Profile {
  const profile: Profile = {
    home: path.join(root, 'home'),
    userDataDir: path.join(root, 'user-data'),
    extensionsDir: path.join(root, 'extensions'),
  };
  for (const dir of Object.values(profile)) fs.mkdirSync(dir, { recursive: true });
  fs.mkdirSync(path.join(profile.userDataDir, 'User'), { recursive: true });
  fs.writeFileSync(path.join(profile.userDataDir, 'User', 'settings.json'), JSON.stringify(userSettings, null, 2));
  return profile;
}

function profileEnv(profile: Profile): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: profile.home,
    XDG_CONFIG_HOME: path.join(profile.home, '.config'),
    XDG_DATA_HOME: path.join(profile.home, '.local', 'share'),
    XDG_CACHE_HOME: path.join(profile.home, '.cache'),
  };
}

/** `code-server --install-extension`; returns its output, throws when it fails. */
export function installExtension(binary: string, profile: Profile, vsix: string): string {
  const r = spawnSync(binary, ['--user-data-dir', profile.userDataDir, '--extensions-dir', profile.extensionsDir, '--install-extension', vsix], {
    env: profileEnv(profile),
    encoding: 'utf8',
    timeout: 120_000,
  });
  const output = `${r.stdout}${r.stderr}`;
  if (r.status !== 0) throw new Error(`code-server --install-extension ${vsix} failed (exit ${r.status}):\n${tail(output, 30)}`);
  return output;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class CodeServer {
  private readonly child: ChildProcess;
  private readonly output: string[] = [];
  private exited = false;
  /** Kills the group if the test process ends without reaching stop() (an interrupt, a crash). */
  private readonly onExit = () => this.killGroup('SIGKILL');

  private constructor(
    binary: string,
    readonly profile: Profile,
    readonly port: number,
    workspace: string,
    logFile: string,
  ) {
    const args = [
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      '--user-data-dir',
      profile.userDataDir,
      '--extensions-dir',
      profile.extensionsDir,
      workspace,
    ];
    // detached: a new session and process group (setsid), so one kill reaches every descendant.
    this.child = spawn(binary, args, { env: profileEnv(profile), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = fs.createWriteStream(logFile);
    for (const stream of [this.child.stdout, this.child.stderr]) {
      stream?.on('data', (chunk: Buffer) => {
        log.write(chunk);
        this.output.push(chunk.toString());
        if (this.output.length > 200) this.output.shift();
      });
    }
    this.child.on('exit', () => {
      this.exited = true;
      log.end();
    });
    process.on('exit', this.onExit);
  }

  /** Starts code-server and waits until /healthz answers. */
  static async start(binary: string, profile: Profile, workspace: string, logFile: string, timeoutMs = 60_000): Promise<CodeServer> {
    const server = new CodeServer(binary, profile, await freePort(), workspace, logFile);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (server.exited) throw new Error(`code-server exited during start:\n${tail(server.output.join(''), 30)}`);
      try {
        const res = await fetch(`${server.url}/healthz`);
        if (res.ok) return server;
      } catch {
        // Not listening yet.
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    await server.stop();
    throw new Error(`code-server did not answer /healthz within ${timeoutMs / 1000} s:\n${tail(server.output.join(''), 30)}`);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Ends the whole process group: SIGTERM, then SIGKILL for whatever is left after 5 s. */
  async stop(): Promise<void> {
    process.off('exit', this.onExit);
    this.killGroup('SIGTERM');
    const deadline = Date.now() + 5_000;
    while (this.groupAlive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    this.killGroup('SIGKILL');
  }

  private groupAlive(): boolean {
    if (this.child.pid === undefined) return false;
    try {
      process.kill(-this.child.pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  private killGroup(signal: NodeJS.Signals): void {
    if (this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      // The group is already gone.
    }
  }
}

export function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}
