/**
 * Executable files (the native addon, its cached builds, the wasm thread scripts) come only from
 * the user's own folders (src/engine/private-cache.ts): a folder writable by others, a file owned
 * by another user or writable by the group, and a symbolic link are each refused with one line
 * naming the path and what to fix, and the worker falls back to pure / single-threaded wasm.
 *
 * Unit checks on planted folders and files, then the three users in child processes (this file,
 * run with REGBENCH_PRIVATE_CACHE_CHILD): the addon loader, the thread-script writer, and
 * scripts/build-native.mjs. Foreign ownership needs root (chown to uid 65534); elsewhere those
 * cases are skipped with the reason.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkPrivateDir, checkTrustedFile, privateCacheDir, userCacheRoot } from '../src/engine/private-cache';
import { nativeExpectation } from './native-expected';

const root = join(__dirname, '..', '..');
const isRoot = process.getuid?.() === 0;
const OTHER_UID = 65534;
const needsRoot = isRoot ? false : 'planting a file of another user needs root (chown)';

async function child(): Promise<void> {
  const what = process.env.REGBENCH_PRIVATE_CACHE_CHILD;
  if (what === 'addon') {
    const { nativeStatus } = await import('../src/engine/tfjs/native/index');
    process.stdout.write(`${JSON.stringify(nativeStatus())}\n`);
  } else if (what === 'threads') {
    const { initBackend } = await import('../src/engine/tfjs/backend');
    const info = await initBackend('wasm');
    process.stdout.write(`${JSON.stringify({ threads: info.threads })}\n`);
  }
  process.exit(0);
}

function start(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 180_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

const lastJson = (out: string): Record<string, unknown> => JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, unknown>;

if (process.env.REGBENCH_PRIVATE_CACHE_CHILD) {
  void child().catch((e: unknown) => {
    process.stderr.write(`${String(e instanceof Error ? e.stack : e)}\n`);
    process.exit(1);
  });
} else {
  const tmp = mkdtempSync(join(tmpdir(), 'regbench-private-cache-'));
  let n = 0;
  const fresh = (): string => join(tmp, `case-${n++}`);
  after(() => rmSync(tmp, { recursive: true, force: true }));

  describe('the per-user cache folder', () => {
    test('lives under XDG_CACHE_HOME (absolute only), ~/.cache, ~/Library/Caches or LOCALAPPDATA', () => {
      assert.equal(userCacheRoot({ XDG_CACHE_HOME: '/x/cache' }, 'linux', '/home/u'), '/x/cache/regbench');
      assert.equal(userCacheRoot({ XDG_CACHE_HOME: 'relative' }, 'linux', '/home/u'), '/home/u/.cache/regbench');
      assert.equal(userCacheRoot({}, 'linux', '/home/u'), '/home/u/.cache/regbench');
      assert.equal(userCacheRoot({}, 'darwin', '/Users/u'), '/Users/u/Library/Caches/regbench');
      assert.equal(userCacheRoot({ LOCALAPPDATA: 'C:/Users/u/AppData/Local' }, 'win32', 'C:/Users/u'), join('C:/Users/u/AppData/Local', 'regbench'));
    });

    test('is created 0700 (the root and the named folder)', () => {
      const base = fresh();
      const dir = privateCacheDir('native', join(base, 'regbench'));
      assert.equal(lstatSync(join(base, 'regbench')).mode & 0o777, 0o700);
      assert.equal(lstatSync(dir).mode & 0o777, 0o700);
    });

    test('a folder writable by other users is refused, naming it and the fix', () => {
      const base = fresh();
      mkdirSync(join(base, 'regbench', 'native'), { recursive: true });
      chmodSync(join(base, 'regbench', 'native'), 0o777);
      assert.throws(
        () => privateCacheDir('native', join(base, 'regbench')),
        new RegExp(`refusing ${join(base, 'regbench', 'native')}: writable by other users \\(mode 0777\\); run chmod go-w`),
      );
    });

    test('a group-writable root is refused too', () => {
      const base = fresh();
      mkdirSync(join(base, 'regbench'), { recursive: true });
      chmodSync(join(base, 'regbench'), 0o770);
      assert.throws(() => privateCacheDir('native', join(base, 'regbench')), /writable by other users \(mode 0770\)/);
    });

    test('a symbolic link in place of the folder is refused', () => {
      const base = fresh();
      mkdirSync(join(base, 'elsewhere'), { recursive: true, mode: 0o700 });
      mkdirSync(join(base, 'regbench'), { mode: 0o700 });
      symlinkSync(join(base, 'elsewhere'), join(base, 'regbench', 'native'));
      assert.throws(() => privateCacheDir('native', join(base, 'regbench')), /native: it is a symbolic link; .*remove the link/);
    });

    test('a folder owned by another user is refused', { skip: needsRoot }, () => {
      const base = fresh();
      mkdirSync(join(base, 'regbench', 'native'), { recursive: true, mode: 0o700 });
      chownSync(join(base, 'regbench', 'native'), OTHER_UID, OTHER_UID);
      assert.throws(() => checkPrivateDir(join(base, 'regbench', 'native')), new RegExp(`owned by uid ${OTHER_UID}, not by you \\(uid 0\\)`));
      assert.throws(() => privateCacheDir('native', join(base, 'regbench')), /owned by uid 65534/);
    });
  });

  describe('a file to load or execute', () => {
    const dirWith = (mode: number): { dir: string; file: string } => {
      const dir = fresh();
      mkdirSync(dir, { mode: 0o700 });
      chmodSync(dir, mode);
      const file = join(dir, 'kernels.node');
      writeFileSync(file, 'x', { mode: 0o755 });
      return { dir, file };
    };

    test('its own file, writable by nobody else, in its own folder, passes', () => {
      assert.doesNotThrow(() => checkTrustedFile(dirWith(0o700).file));
    });

    test('a group-writable file is refused', () => {
      const { file } = dirWith(0o700);
      chmodSync(file, 0o775);
      assert.throws(() => checkTrustedFile(file), new RegExp(`refusing ${file}: writable by other users \\(mode 0775\\); run chmod go-w`));
    });

    test('a symbolic link to its own file is refused', () => {
      const { dir, file } = dirWith(0o700);
      symlinkSync(file, join(dir, 'link.node'));
      assert.throws(() => checkTrustedFile(join(dir, 'link.node')), /link\.node: it is a symbolic link/);
    });

    test('a file in a folder anybody may write to is refused; with the sticky bit (as /tmp) it passes', () => {
      assert.throws(() => checkTrustedFile(dirWith(0o777).file), /writable by other users \(mode 0777\)/);
      assert.doesNotThrow(() => checkTrustedFile(dirWith(0o1777).file));
    });

    test('a file owned by another user is refused (root only when named)', { skip: needsRoot }, () => {
      const { file } = dirWith(0o700);
      chownSync(file, OTHER_UID, OTHER_UID);
      assert.throws(() => checkTrustedFile(file), new RegExp(`refusing ${file}: owned by uid ${OTHER_UID}, not by you`));
      chownSync(file, 0, 0);
      assert.doesNotThrow(() => checkTrustedFile(file, [0]), 'root named as a trusted owner (a system-wide install)');
    });
  });

  const expectation = nativeExpectation();
  const builtAddon = join(root, 'dist', 'native', 'regbench_kernels.node');
  const noAddon = !expectation.expected ? `the addon is not expected here: ${expectation.why}` : false;

  describe('the native addon loader', { skip: noAddon }, () => {
    const plant = (prepare: (file: string, dir: string) => string): Promise<{ code: number | null; out: string; err: string }> => {
      const dir = fresh();
      mkdirSync(dir, { mode: 0o700 });
      const file = join(dir, 'regbench_kernels.node');
      copyFileSync(builtAddon, file);
      chmodSync(file, 0o755);
      return start([__filename], { REGBENCH_PRIVATE_CACHE_CHILD: 'addon', REGBENCH_NATIVE_ADDON: prepare(file, dir) });
    };

    test('loads its own copy (the control for the cases below)', async () => {
      assert.ok(existsSync(builtAddon), `${builtAddon} is missing (npm run build)`);
      const r = await plant((file) => file);
      assert.equal(lastJson(r.out).available, true, `${r.out}${r.err}`);
    });

    test('refuses a group-writable copy and falls back to wasm, saying why on stderr', async () => {
      const r = await plant((file) => {
        chmodSync(file, 0o775);
        return file;
      });
      const status = lastJson(r.out);
      assert.equal(status.available, false, r.out);
      assert.match(String(status.reason), /writable by other users \(mode 0775\); run chmod go-w/);
      assert.match(r.err, /^regbench: native kernels not loaded: refusing .*regbench_kernels\.node: writable by other users/m);
    });

    test('refuses a symbolic link to its own copy', async () => {
      const r = await plant((file, dir) => {
        symlinkSync(file, join(dir, 'link.node'));
        return join(dir, 'link.node');
      });
      assert.match(String(lastJson(r.out).reason), /link\.node: it is a symbolic link/);
    });

    test('refuses a copy owned by another user', { skip: needsRoot }, async () => {
      const r = await plant((file) => {
        chownSync(file, OTHER_UID, OTHER_UID);
        return file;
      });
      assert.equal(lastJson(r.out).available, false);
      assert.match(String(lastJson(r.out).reason), /owned by uid 65534, not by you/);
    });
  });

  describe('the wasm thread scripts', { skip: availableParallelism() < 2 ? 'one core: the threaded module is not used' : false }, () => {
    test('are written 0644 to a 0700 folder of the per-user cache, and the backend comes up threaded', async () => {
      const xdg = fresh();
      const r = await start([__filename], { REGBENCH_PRIVATE_CACHE_CHILD: 'threads', XDG_CACHE_HOME: xdg });
      assert.equal(r.code, 0, r.err);
      assert.ok(Number(lastJson(r.out).threads) > 1, `threads: ${r.out}${r.err}`);
      const dir = join(xdg, 'regbench', 'wasm-threads');
      assert.equal(lstatSync(dir).mode & 0o777, 0o700);
      const scripts = readdirSync(dir);
      assert.deepEqual(scripts.map((f) => f.replace(/-.*/, '')).sort(), ['main', 'worker'], scripts.join(', '));
      for (const f of scripts) assert.equal(lstatSync(join(dir, f)).mode & 0o777, 0o644, f);
    });

    test('in a folder writable by others are refused: single-threaded wasm, and one line on stderr', async () => {
      const xdg = fresh();
      mkdirSync(join(xdg, 'regbench', 'wasm-threads'), { recursive: true });
      chmodSync(join(xdg, 'regbench', 'wasm-threads'), 0o777);
      const r = await start([__filename], { REGBENCH_PRIVATE_CACHE_CHILD: 'threads', XDG_CACHE_HOME: xdg });
      assert.equal(r.code, 0, r.err);
      assert.equal(lastJson(r.out).threads, 1, r.out);
      assert.match(r.err, /^regbench: threaded wasm not started: refusing .*wasm-threads: writable by other users \(mode 0777\)/m);
    });
  });

  describe('scripts/build-native.mjs', { skip: noAddon }, () => {
    test('refuses a cache folder writable by others: no addon, the reason in its line', async () => {
      const xdg = fresh();
      mkdirSync(join(xdg, 'regbench', 'native'), { recursive: true });
      chmodSync(join(xdg, 'regbench', 'native'), 0o777);
      const dist = fresh();
      const r = await start([join(root, 'scripts', 'build-native.mjs'), '--dist', dist], { XDG_CACHE_HOME: xdg });
      assert.match(
        r.out,
        /native kernels: skipped \(refusing .*native: writable by other users \(mode 0777\); run chmod go-w .*\) — the wasm kernels will be used/,
      );
      assert.equal(existsSync(join(dist, 'native', 'regbench_kernels.node')), false);
    });
  });
}
