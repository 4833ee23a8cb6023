/**
 * Identity and same-dtype Cast on wasm without a copy. tfjs-core saves every tensor a gradient
 * needs through the Identity kernel (engine.clone), and the gradient of that clone is a
 * float32 -> float32 Cast; the stock wasm kernels copy the whole buffer for both (one full pass
 * and one extra live copy of every saved activation per op). Tensors are immutable and the wasm
 * backend counts references per buffer, so the output can share the input's buffer, as the cpu
 * backend's Identity does.
 */
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

function share(backend: object, x: TensorInfo): TensorInfo {
  (backend as BackendWasm).incRef(x.dataId);
  return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
}

/** Identity that shares the buffer; strings keep the stock kernel (they live outside the heap). */
export function sharedIdentityConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    return x.dtype === 'string' ? stock.kernelFunc(args) : share(args.backend, x);
  };
  return { kernelName: 'Identity', backendName: 'wasm', kernelFunc };
}

/** Cast that shares the buffer when the dtype does not change; converts with the stock kernel. */
export function sharedCastConfig(stock: KernelConfig): KernelConfig {
  const kernelFunc: KernelFunc = (args) => {
    const { x } = args.inputs as { x: TensorInfo };
    const { dtype } = args.attrs as { dtype: string };
    return dtype === x.dtype && dtype !== 'string' ? share(args.backend, x) : stock.kernelFunc(args);
  };
  return { kernelName: 'Cast', backendName: 'wasm', kernelFunc };
}
