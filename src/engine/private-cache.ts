/**
 * The per-user cache for code Regbench writes and then executes: the native addon's builds
 * (scripts/build-native.mjs) and the threaded wasm backend's thread scripts (tfjs/backend.ts).
 * Never a shared temp folder: on a shared machine (a cluster login node) another user could put
 * a file there first, and the next worker would load it.
 *
 * The cache is `$XDG_CACHE_HOME/regbench` (an absolute XDG_CACHE_HOME only), else
 * `~/.cache/regbench`; `~/Library/Caches/regbench` on macOS, `%LOCALAPPDATA%\regbench` on
 * Windows. Its folders are created 0700. Before anything in them is loaded or executed, the
 * folder and the file are checked without following symbolic links: a real folder / regular
 * file, owned by the current user, writable by nobody else. A check that fails throws an
 * `UntrustedPathError` whose message is one line naming the path and what to fix; callers fall
 * back to the pure wasm path. Windows has no uids or mode bits: there only the symlink checks
 * apply (%LOCALAPPDATA% is private to the user by its ACL).
 *
 * Only node: imports: scripts/build-native.mjs compiles this file on the fly to share the checks.
 */
import { lstatSync, mkdirSync, type Stats } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

export class UntrustedPathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UntrustedPathError';
  }
}

/** The per-user cache root for Regbench's executable files (see the header). */
export function userCacheRoot(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (platform === 'win32') return join(env.LOCALAPPDATA || join(home, 'AppData', 'Local'), 'regbench');
  if (platform === 'darwin') return join(home, 'Library', 'Caches', 'regbench');
  const xdg = env.XDG_CACHE_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(home, '.cache'), 'regbench');
}

const checksOwners = (): boolean => typeof process.getuid === 'function';

function lstatOrNull(path: string): Stats | null {
  try {
    return lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

const octal = (mode: number): string => `0${(mode & 0o7777).toString(8)}`;

/**
 * Throws unless `path` (not followed if a symbolic link) is of `kind`, owned by the current
 * user (or by one of `alsoOwners`, e.g. root for a system-wide install) and writable by nobody
 * else. `sticky` accepts a group/world-writable folder with the sticky bit (a folder others may
 * add to but not rename or delete in; e.g. /tmp as XDG_CACHE_HOME).
 */
function checkOwnedEntry(path: string, kind: 'folder' | 'file', opts: { alsoOwners?: number[]; sticky?: boolean } = {}): void {
  const st = lstatOrNull(path);
  if (!st) throw new UntrustedPathError(`refusing ${path}: it does not exist`);
  if (st.isSymbolicLink())
    throw new UntrustedPathError(
      `refusing ${path}: it is a symbolic link; Regbench loads only what it wrote itself here: remove the link (rm '${path}') and run again`,
    );
  if (kind === 'folder' ? !st.isDirectory() : !st.isFile())
    throw new UntrustedPathError(`refusing ${path}: not a ${kind === 'folder' ? 'folder' : 'regular file'}; remove it and run again`);
  if (!checksOwners()) return;
  const uid = (process.getuid as () => number)();
  if (st.uid !== uid && !(opts.alsoOwners ?? []).includes(st.uid))
    throw new UntrustedPathError(
      `refusing ${path}: owned by uid ${st.uid}, not by you (uid ${uid}); another user may have planted it: remove it (or move it away) and run again`,
    );
  const sticky = (st.mode & 0o1000) !== 0;
  if ((st.mode & 0o022) !== 0 && !(opts.sticky && sticky))
    throw new UntrustedPathError(`refusing ${path}: writable by other users (mode ${octal(st.mode)}); run chmod go-w '${path}' (or remove it) and run again`);
}

/** Throws unless `dir` is a folder of the current user that nobody else can write to. */
export function checkPrivateDir(dir: string): void {
  checkOwnedEntry(dir, 'folder');
}

/**
 * Throws unless `file` may be loaded or executed: a regular file (no symbolic link) owned by the
 * current user (or one of `alsoOwners`) and writable by nobody else, in a folder of the same kind.
 */
export function checkTrustedFile(file: string, alsoOwners: number[] = []): void {
  checkOwnedEntry(dirname(file), 'folder', { alsoOwners, sticky: true });
  checkOwnedEntry(file, 'file', { alsoOwners });
}

/**
 * `<cache root>/<name>`, created 0700 where missing (and the root with it), both checked as
 * private folders. The root's parent (e.g. ~/.cache) may be another user's only if it is
 * root's; writable by others only with the sticky bit. Throws an UntrustedPathError otherwise.
 */
export function privateCacheDir(name: string, root: string = userCacheRoot()): string {
  const parent = dirname(root);
  mkdirSync(parent, { recursive: true, mode: 0o700 });
  checkOwnedEntry(parent, 'folder', { alsoOwners: [0], sticky: true });
  const dir = join(root, name);
  for (const d of [root, dir]) {
    try {
      mkdirSync(d, { mode: 0o700 });
    } catch (e) {
      // Made before (or by a worker starting at the same time): checked below like any other.
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    checkPrivateDir(d);
  }
  return dir;
}
