/**
 * Starts the torch backend ('torch'): loads the addon (building it on first use where dist/ has
 * none: the build script and the sources ship in dist/torch-backend/, the result goes to the
 * per-user cache), checks the device, registers the backend with its kernels (libtorch ones
 * from kernels.ts, every other CPU kernel through fallback.ts) and selects it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { forgetTorchAddon, loadTorchAddon, type TorchAddon } from './addon';
import { buildTorchAddonSync, shippedBuildScript, TORCH_ADDON_NAME, userAddonDir } from './first-use-build';
import { TORCH_BACKEND, TorchBackend } from './backend';
import { fallbackKernelConfigs, fallbackKernelNames } from './fallback';
import { torchKernelConfigs, torchKernelNames } from './kernels';

export { TORCH_BACKEND } from './backend';
export { fallbackCounts, resetFallbackCounts } from './fallback';

/** A device string the torch backend accepts: cpu, cuda, cuda:N. */
export function parseTorchDevice(device: string | undefined): string {
  const d = (device ?? 'cpu').trim();
  if (!/^(cpu|cuda(:\d+)?)$/.test(d)) throw new Error(`device '${d}' is not one of cpu, cuda, cuda:N`);
  return d;
}

/**
 * The addon, built on first use if need be (src/engine/tfjs/torch/first-use-build.ts); or null
 * with the reason. An addon built before that no longer loads (PyTorch changed under it) is
 * built again once.
 */
export function torchAddon(python?: string, log: (line: string) => void = () => {}): { addon: TorchAddon | null; reason: string } {
  let l = loadTorchAddon();
  if (l.addon || (l.path && !l.path.startsWith(userAddonDir()))) return l;
  const cached = join(userAddonDir(), TORCH_ADDON_NAME);
  if (!l.path && existsSync(cached)) {
    process.env.REGBENCH_TORCH_ADDON ??= cached;
    forgetTorchAddon();
    l = loadTorchAddon();
    if (l.addon) return l;
  }
  if (!shippedBuildScript(__dirname)) return l;
  log("torch backend: building the addon against this machine's libtorch (once per libtorch version)...");
  const built = buildTorchAddonSync(__dirname, python);
  if (!built) return l;
  log(built.message);
  if (built.path) process.env.REGBENCH_TORCH_ADDON = built.path;
  forgetTorchAddon();
  return loadTorchAddon();
}

export interface TorchStart {
  backend: 'torch';
  device: string;
  threads: number;
  versions: Record<string, string>;
  gpu?: string;
}

let registeredNames: Set<string> | null = null;
let registeredDevice: string | null = null;

/** The name of CUDA device `index` as nvidia-smi reports it (null where it cannot be asked). */
export function gpuName(index: number): string | null {
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader', `--id=${index}`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 10_000,
    });
    return out.trim().split('\n')[0] || null;
  } catch {
    return null;
  }
}

/**
 * Registers and selects the torch backend on `device`; throws one line when the addon is missing
 * or the device is absent (CUDA asked for where libtorch has none).
 */
export async function startTorch(options: { device?: string; threads: number; python?: string }): Promise<TorchStart> {
  const device = parseTorchDevice(options.device);
  const { addon, reason } = torchAddon(options.python);
  if (!addon) throw new Error(`backend 'torch' unavailable: ${reason}`);
  if (device.startsWith('cuda') && addon.info().cudaDevices === 0)
    throw new Error(`device '${device}' unavailable: the libtorch this backend was built against has no CUDA device here (use --device cpu)`);
  addon.setDevice(device);
  addon.setThreads(Math.max(1, options.threads));
  if (!registeredNames) {
    registeredNames = torchKernelNames(new Set(addon.ops()));
    for (const k of [...torchKernelConfigs(registeredNames), ...fallbackKernelConfigs(registeredNames)]) tf.registerKernel(k);
  }
  if (registeredDevice !== device && tf.findBackend(TORCH_BACKEND)) tf.removeBackend(TORCH_BACKEND);
  if (!tf.findBackendFactory(TORCH_BACKEND)) tf.registerBackend(TORCH_BACKEND, () => new TorchBackend(addon, device), 1);
  registeredDevice = device;
  if (!(await tf.setBackend(TORCH_BACKEND))) throw new Error("backend 'torch' failed to start");
  const info = addon.info();
  const gpu = device.startsWith('cuda') ? (gpuName(Number(device.split(':')[1] ?? 0)) ?? 'unknown CUDA device') : undefined;
  return { backend: 'torch', device, threads: info.threads, versions: { 'tfjs-core': tf.version_core, libtorch: info.libtorch }, ...(gpu ? { gpu } : {}) };
}

/** What `regbench doctor` reports about the torch backend's kernels. */
export function torchKernelCoverage(addon: TorchAddon): { native: string[]; fallback: string[] } {
  const names = torchKernelNames(new Set(addon.ops()));
  return { native: [...names].sort(), fallback: fallbackKernelNames(names) };
}
