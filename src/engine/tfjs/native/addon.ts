/**
 * Loads the native training kernels (native/regbench_kernels.cc, built by
 * scripts/build-native.mjs into dist/native/regbench_kernels.node). A Node-API addon: the same
 * binary loads in Node 20+ and in the editor's Electron. Absent or unloadable, `loadAddon`
 * says why in one line and the wasm kernels stay in use.
 *
 * Every function takes `(heap, params)`: a byte view of the wasm heap and a Float64Array of byte
 * offsets into it and sizes, in the order native/regbench_kernels.cc lists per kernel. The addon
 * checks every one against the heap and throws a JS Error for a bad one.
 *
 * Before loading, the file is checked as the per-user cache's files are (../../private-cache.ts):
 * a regular file (no symbolic link), owned by this user or root, writable by nobody else, in a
 * folder of the same kind. A file that fails is not loaded: the reason (one line: the path and
 * what to fix) goes to stderr and the wasm kernels stay in use.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { checkTrustedFile } from '../../private-cache';

export type NativeCall = (heap: Uint8Array, params: Float64Array) => void;

export interface NativeAddon {
  conv2d: NativeCall;
  conv2dBackpropInput: NativeCall;
  conv2dBackpropFilter: NativeCall;
  batchMatMul: NativeCall;
  channelMoments: NativeCall;
  channelGradSums: NativeCall;
  channelAffine: NativeCall;
  channelAffine2: NativeCall;
  maskedGrad: NativeCall;
  addRelu: NativeCall;
  leadingSum: NativeCall;
  maxPoolGrad: NativeCall;
  sgdUpdate: NativeCall;
  setThreads(n: number): void;
  info(): { threads: number; libtorch: string; mkldnn: boolean; onednn?: string; sanitizers: string[] };
  /** Sanitizer builds only (scripts/build-native.mjs --sanitize): makes the error the sanitizer
   * of `kind` must report ('address': a read past a heap block; 'undefined': a signed overflow). */
  sanitizerProbe?(kind: 'address' | 'undefined'): number;
}

export const ADDON_FILE = 'regbench_kernels.node';

let loaded: { addon: NativeAddon | null; reason: string; path: string | null } | null = null;

/** Where the addon may be: $REGBENCH_NATIVE_ADDON, then beside the bundle (dist/, dist/test/). */
function candidates(): string[] {
  const env = process.env.REGBENCH_NATIVE_ADDON;
  const list = env ? [env] : [];
  list.push(join(__dirname, 'native', ADDON_FILE), join(__dirname, '..', 'native', ADDON_FILE), join(__dirname, '..', 'dist', 'native', ADDON_FILE));
  return list;
}

/** The addon, or null with the reason (one line). Tried once per process. */
export function loadAddon(): { addon: NativeAddon | null; reason: string; path: string | null } {
  if (loaded) return loaded;
  const path = candidates().find((p) => existsSync(p)) ?? null;
  if (!path) {
    loaded = { addon: null, reason: `no ${ADDON_FILE} (built by \`npm run build\` where g++ and libtorch are installed)`, path: null };
    return loaded;
  }
  // libtorch's OpenMP workers spin after each parallel region by default; between two native
  // kernels the wasm kernels (and their own thread pool) need those cores, so the workers sleep
  // instead (measured on 2 cores, ResNet-20: every wasm kernel 5-20x slower with spinning
  // workers). libgomp reads this when the addon loads it; an explicit setting is kept.
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    // Root may own it: an extension installed system-wide.
    checkTrustedFile(path, [0]);
  } catch (e) {
    const msg = String(e instanceof Error ? e.message : e);
    process.stderr.write(`regbench: native kernels not loaded: ${msg}\n`);
    loaded = { addon: null, reason: msg, path };
    return loaded;
  }
  try {
    // A run-time require that esbuild leaves alone: the addon is a file beside the bundle.
    const addon = createRequire(__filename)(path) as NativeAddon;
    loaded = { addon, reason: 'loaded', path };
  } catch (e) {
    const msg = String(e instanceof Error ? e.message : e).split('\n')[0];
    loaded = { addon: null, reason: `cannot load ${path}: ${msg}`, path };
  }
  return loaded;
}
