/**
 * Where a dataset is looked for, in order: the explicit data directory (--data-dir, else the
 * REGBENCH_DATA environment variable), the per-user cache, then (FashionMNIST only) the folder
 * Debian's `dataset-fashion-mnist` package installs. Downloads and archive extractions go to the
 * cache.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DatasetSource } from './catalog';

export type LocationOrigin = 'data-dir' | 'cache' | 'system';

export interface SearchLocation {
  dir: string;
  origin: LocationOrigin;
}

/** `$XDG_CACHE_HOME/regbench/datasets`, `~/.cache/regbench/datasets`, or `%LOCALAPPDATA%\regbench\datasets` on Windows. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform, home: string = homedir()): string {
  if (platform === 'win32') {
    const base = env.LOCALAPPDATA || join(home, 'AppData', 'Local');
    return join(base, 'regbench', 'datasets');
  }
  const base = env.XDG_CACHE_HOME || join(home, '.cache');
  return join(base, 'regbench', 'datasets');
}

export interface LocationOptions {
  /** Explicit data directory; when absent, REGBENCH_DATA is used if set. */
  dataDir?: string;
  /** Replaces the per-user cache directory (tests). */
  cacheDir?: string;
  /** Replaces Debian's FashionMNIST folder (tests); null disables it. */
  systemDir?: string | null;
}

export function explicitDataDir(opts: LocationOptions, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return opts.dataDir || env.REGBENCH_DATA || undefined;
}

export function cacheDirOf(opts: LocationOptions): string {
  return opts.cacheDir ?? defaultCacheDir();
}

export function searchLocations(source: DatasetSource, opts: LocationOptions): SearchLocation[] {
  const out: SearchLocation[] = [];
  const dataDir = explicitDataDir(opts);
  if (dataDir) out.push({ dir: dataDir, origin: 'data-dir' });
  out.push({ dir: cacheDirOf(opts), origin: 'cache' });
  if (source.format === 'idx') {
    const system = opts.systemDir === undefined ? source.systemDir : opts.systemDir;
    if (system) out.push({ dir: system, origin: 'system' });
  }
  return out;
}
