/**
 * Registers the training kernels this project adds to (or replaces in) the wasm backend.
 * Idempotent; call after the wasm backend is registered (the stock kernels must exist, because
 * the new ones are built from them).
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { findBackend, getKernel, registerGradient, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { maskedGradConfig, relu6GradConfig, reluGradConfig } from './activation-grad';
import { channelKernelConfigs } from './channel-stats';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input';
import { globalAvgPoolConfig } from './global-avg-pool';
import { clipByValueConfig, relu6Config, reluConfig } from './nan-clamp';
import { pointwiseDepthwiseConfig, pointwiseFusedDepthwiseConfig } from './pointwise-depthwise';
import { sharedCastConfig, sharedIdentityConfig } from './shared-identity';
import { simdLoops } from './simd-loops';

let registered = false;

/** Names of the kernels registered by `registerWasmTrainingKernels`. */
export const WASM_TRAINING_KERNELS = [
  'Conv2DBackpropInput',
  'Conv2DBackpropFilter',
  'DepthwiseConv2dNativeBackpropInput',
  'DepthwiseConv2dNativeBackpropFilter',
] as const;

export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const stockBackpropInput = getKernel('Conv2DBackpropInput', 'wasm');
  replace(conv2dBackpropInputConfig(stockBackpropInput));
  replace(conv2dBackpropFilterConfig);
  replace(depthwiseBackpropInputConfig);
  replace(depthwiseBackpropFilterConfig);
  const stockIdentity = getKernel('Identity', 'wasm');
  const stockCast = getKernel('Cast', 'wasm');
  if (stockIdentity && stockCast) {
    replace(sharedIdentityConfig(stockIdentity));
    replace(sharedCastConfig(stockCast));
  }
  // Wrappers that keep NaN where the stock kernels drop it (nan-clamp.ts, pointwise-depthwise.ts,
  // global-avg-pool.ts).
  const wrappers = {
    Relu: reluConfig,
    Relu6: relu6Config,
    ClipByValue: clipByValueConfig,
    AvgPool: globalAvgPoolConfig,
    DepthwiseConv2dNative: pointwiseDepthwiseConfig,
    FusedDepthwiseConv2D: pointwiseFusedDepthwiseConfig,
  };
  for (const [name, wrap] of Object.entries(wrappers)) {
    const stock = getKernel(name, 'wasm');
    if (stock) replace(wrap(stock));
  }
  const wasm = findBackend('wasm') as BackendWasm | null;
  if (wasm && simdLoops(wasm)) {
    for (const config of [...channelKernelConfigs, maskedGradConfig]) replace(config);
  }
  // These gradients fall back to tfjs-core's formulas on backends without the kernel.
  registerGradient(reluGradConfig);
  registerGradient(relu6GradConfig);
  registered = true;
}

function replace(config: KernelConfig): void {
  const stock = getKernel(config.kernelName, config.backendName);
  if (stock) unregisterKernel(config.kernelName, config.backendName);
  // Wrappers fall back to the stock kernel, whose wasm bindings its setupFunc makes for each new
  // backend instance (after tf.engine().reset()); keep them in the registry's setup.
  registerKernel(stock?.setupFunc && !config.setupFunc ? { ...config, setupFunc: stock.setupFunc, disposeFunc: stock.disposeFunc } : config);
}
