/**
 * Registers the training kernels this project adds to (or replaces in) the wasm backend.
 * Idempotent; call after the wasm backend is registered (the stock kernels must exist, because
 * the new ones are built from them).
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input';
import { depthwiseBackpropFilterConfig } from './depthwise-backprop-filter';
import { depthwiseBackpropInputConfig } from './depthwise-backprop-input';

let registered = false;

/** Names of the kernels registered by `registerWasmTrainingKernels`. */
export const WASM_TRAINING_KERNELS = ['Conv2DBackpropInput', 'Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'] as const;

export function registerWasmTrainingKernels(): void {
  if (registered) return;
  const stockBackpropInput = getKernel('Conv2DBackpropInput', 'wasm');
  replace(conv2dBackpropInputConfig(stockBackpropInput));
  replace(conv2dBackpropFilterConfig);
  replace(depthwiseBackpropInputConfig);
  replace(depthwiseBackpropFilterConfig);
  registered = true;
}

function replace(config: KernelConfig): void {
  if (getKernel(config.kernelName, config.backendName)) unregisterKernel(config.kernelName, config.backendName);
  registerKernel(config);
}
