/**
 * The native path of the wasm backend ('wasm+native'): the addon's kernels registered over the
 * wasm backend's own (stock and kernels/*) for the convolutions (forward and both gradients,
 * dense and depthwise), the matrix products and BatchNorm's / ReLU's per-channel passes.
 * Everything else (and every tensor) stays on wasm. `setNativeKernels(false)` puts the replaced
 * kernels back, so one process can run both paths (the tests do).
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { loadAddon } from './addon';
import { nativeKernelConfigs } from './kernels';

/** The wasm configs the native kernels replaced (their fallbacks); null while not active. */
let replaced: Map<string, KernelConfig | undefined> | null = null;
let fallbacks = new Map<string, KernelConfig | undefined>();
let nativeConfigs: KernelConfig[] | null = null;

export interface NativeStatus {
  available: boolean;
  /** 'loaded', or why the addon is not available (one line). */
  reason: string;
  libtorch?: string;
  /** oneDNN's version where the convolutions run on it (native/dnnl_conv.h), else absent
   * (built without it, or REGBENCH_NATIVE_CONV=libtorch). */
  onednn?: string;
}

/** Whether the addon loads here (does not register anything). */
export function nativeStatus(): NativeStatus {
  const { addon, reason } = loadAddon();
  if (!addon) return { available: false, reason };
  const info = addon.info();
  return { available: true, reason, libtorch: info.libtorch, ...(info.onednn ? { onednn: info.onednn } : {}) };
}

/** True while the native kernels are registered over the wasm ones. */
export function nativeKernelsActive(): boolean {
  return replaced !== null;
}

/**
 * Registers (on = true) or removes (false) the native kernels for backend 'wasm', which must be
 * registered with its training kernels first. `threads` sets libtorch's pool (the wasm pool's
 * size, so both paths use the same cores). Throws with the reason when the addon is missing.
 */
export function setNativeKernels(on: boolean, threads = 1): void {
  if (!on) {
    if (!replaced) return;
    for (const [name, config] of replaced) {
      if (getKernel(name, 'wasm')) unregisterKernel(name, 'wasm');
      if (config) registerKernel(config);
    }
    replaced = null;
    return;
  }
  const { addon, reason } = loadAddon();
  if (!addon) throw new Error(`backend 'wasm+native' unavailable: ${reason}`);
  addon.setThreads(Math.max(1, threads));
  if (replaced) return;
  const previous = new Map<string, KernelConfig | undefined>();
  fallbacks = previous;
  nativeConfigs ??= nativeKernelConfigs(addon, (name) => fallbacks.get(name));
  for (const config of nativeConfigs) {
    const old = getKernel(config.kernelName, 'wasm');
    previous.set(config.kernelName, old);
    if (old) unregisterKernel(config.kernelName, 'wasm');
    registerKernel(config);
  }
  replaced = previous;
}

/** The wasm training paths this machine can run: pure wasm, and wasm+native where the addon loads. */
export function wasmTrainingPaths(): Array<'wasm' | 'wasm+native'> {
  return nativeStatus().available ? ['wasm', 'wasm+native'] : ['wasm'];
}
