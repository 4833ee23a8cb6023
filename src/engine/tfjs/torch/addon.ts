/**
 * Loads the torch backend's addon (native/torch_backend/torch_backend.cc, built by
 * scripts/build-torch-backend.mjs into dist/native/regbench_torch.node) and types its functions.
 * Absent or unloadable, `loadTorchAddon` says why in one line.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { checkTrustedFile } from '../../private-cache';

/** An at::Tensor owned by the addon (a type-tagged napi external). */
export type TorchHandle = { readonly __torchHandle: unique symbol };
export type TorchDtype = 'float32' | 'int32' | 'bool';

export interface TorchResult {
  h: TorchHandle;
  shape: number[];
  dtype: TorchDtype;
}

export interface TorchAddon {
  fromArray(data: Float32Array | Int32Array | Uint8Array, shape: number[], dtype: TorchDtype): TorchHandle;
  toArray(h: TorchHandle): Float32Array | Int32Array | Uint8Array;
  release(h: TorchHandle): void;
  /** One entry of the addon's op table; params as listed there per op. */
  run(op: string, inputs: TorchHandle[], params: Float64Array): TorchResult[];
  ops(): string[];
  setDevice(device: string): void;
  setThreads(n: number): void;
  info(): { libtorch: string; threads: number; cudaDevices: number; device: string };
}

export const TORCH_ADDON_FILE = 'regbench_torch.node';

export interface TorchAddonLoad {
  addon: TorchAddon | null;
  /** 'loaded', or why not (one line). */
  reason: string;
  path: string | null;
}

let loaded: TorchAddonLoad | null = null;

/** Where the addon may be: $REGBENCH_TORCH_ADDON, then beside the bundle (dist/, dist/test/). */
export function torchAddonCandidates(): string[] {
  const env = process.env.REGBENCH_TORCH_ADDON;
  const list = env ? [env] : [];
  list.push(
    join(__dirname, 'native', TORCH_ADDON_FILE),
    join(__dirname, '..', 'native', TORCH_ADDON_FILE),
    join(__dirname, '..', 'dist', 'native', TORCH_ADDON_FILE),
  );
  return list;
}

/** The addon, or null with the reason. Tried once per process (`forget` allows another try). */
export function loadTorchAddon(): TorchAddonLoad {
  if (loaded) return loaded;
  const path = torchAddonCandidates().find((p) => existsSync(p)) ?? null;
  if (!path) {
    loaded = { addon: null, reason: `no ${TORCH_ADDON_FILE} (built by \`npm run build\` where g++ and libtorch are installed)`, path: null };
    return loaded;
  }
  // libtorch's OpenMP workers sleep between kernels rather than spin (see native/index.ts).
  process.env.OMP_WAIT_POLICY ??= 'PASSIVE';
  try {
    // Only a file of this user (or root's, for a system-wide install), in a folder nobody else may
    // write to, is loaded: src/engine/private-cache.ts.
    checkTrustedFile(path, [0]);
    const addon = createRequire(__filename)(path) as TorchAddon;
    loaded = { addon, reason: 'loaded', path };
  } catch (e) {
    const msg = String(e instanceof Error ? e.message : e).split('\n')[0];
    loaded = { addon: null, reason: `cannot load ${path}: ${msg}`, path };
  }
  return loaded;
}

/** Drops the remembered load result (after building the addon on first use). */
export function forgetTorchAddon(): void {
  if (loaded && !loaded.addon) loaded = null;
}
