/**
 * Kernels the torch backend does not have run on tfjs' CPU backend: the inputs are copied out of
 * libtorch into a private `MathBackendCPU`, its kernel runs, the outputs are copied back. Every
 * such call is counted per kernel (calls and bytes copied), so `regbench doctor`, the tests and
 * the bench can say which kernels fell back and what it cost.
 */
import { getKernel, getKernelsForBackend, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
// The CPU kernels register themselves for backend 'cpu' when this module loads (the package's
// entry is marked side-effect free in the bundle's view; this file is listed as a side effect).
import '@tensorflow/tfjs-backend-cpu/dist/register_all_kernels';
import { TORCH_BACKEND, type TorchBackend } from './backend';

export interface FallbackCount {
  calls: number;
  /** Bytes copied to the CPU backend and back. */
  bytes: number;
}

const counts = new Map<string, FallbackCount>();
let cpu: MathBackendCPU | null = null;

function cpuBackend(): MathBackendCPU {
  cpu ??= new MathBackendCPU();
  return cpu;
}

/** Calls and copied bytes per kernel that ran through the CPU backend since the last reset. */
export function fallbackCounts(): Map<string, FallbackCount> {
  return new Map(counts);
}

export function resetFallbackCounts(): void {
  counts.clear();
}

function byteSize(t: TensorInfo): number {
  const n = t.shape.reduce((a, b) => a * b, 1);
  return t.dtype === 'bool' ? n : t.dtype === 'string' ? 0 : 4 * n;
}

type Inputs = Record<string, TensorInfo | TensorInfo[] | null | undefined> | TensorInfo[];

/**
 * A complex64 tensor on the CPU backend, which keeps the real and imaginary parts as two tensors
 * (its Complex kernel); `values` interleaved as tfjs reads them.
 */
function complexOnCpu(c: MathBackendCPU, values: Float32Array, shape: number[], made: TensorInfo[]): TensorInfo {
  const n = values.length / 2;
  const real = new Float32Array(n);
  const imag = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    real[i] = values[2 * i];
    imag[i] = values[2 * i + 1];
  }
  const re = c.makeTensorInfo(shape, 'float32', real);
  const im = c.makeTensorInfo(shape, 'float32', imag);
  const complex = getKernel('Complex', 'cpu');
  if (!complex) throw new Error('torch backend: no Complex kernel on the CPU backend');
  const info = (complex.kernelFunc as KernelFunc)({ inputs: { real: re, imag: im }, backend: c, attrs: {} }) as TensorInfo;
  made.push(re, im, info);
  return info;
}

/** Runs the CPU kernel `name` on tensors of the torch backend. */
export function runOnCpu(name: string, inputs: Inputs, attrs: NamedAttrMap | undefined, backend: TorchBackend): TensorInfo | TensorInfo[] {
  const config = getKernel(name, 'cpu');
  if (!config) throw new Error(`torch backend: no kernel '${name}' (neither in libtorch nor in the CPU backend)`);
  const c = cpuBackend();
  let bytes = 0;
  const made: TensorInfo[] = [];
  const copy = (t: TensorInfo): TensorInfo => {
    bytes += byteSize(t);
    if (t.dtype === 'complex64') return complexOnCpu(c, backend.readSync(t.dataId) as Float32Array, t.shape, made);
    const info: TensorInfo = { dataId: c.write(backend.readSync(t.dataId), t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
    made.push(info);
    return info;
  };
  const mapped: Record<string, unknown> | unknown[] = Array.isArray(inputs) ? inputs.map(copy) : {};
  if (!Array.isArray(inputs)) {
    for (const [k, v] of Object.entries(inputs)) (mapped as Record<string, unknown>)[k] = v == null ? v : Array.isArray(v) ? v.map(copy) : copy(v);
  }
  let out: TensorInfo | TensorInfo[];
  try {
    // The CPU kernels take the same arguments with their own backend.
    out = (config.kernelFunc as KernelFunc)({ inputs: mapped as never, backend: c, attrs });
  } catch (e) {
    for (const t of made) c.disposeData(t.dataId, true);
    throw e;
  }
  const outs = Array.isArray(out) ? out : [out];
  const back = outs.map((t) => {
    bytes += byteSize(t);
    return { dataId: backend.write(c.readSync(t.dataId), t.shape, t.dtype), shape: t.shape, dtype: t.dtype };
  });
  for (const t of [...made, ...outs]) c.disposeData(t.dataId, true);
  const entry = counts.get(name) ?? { calls: 0, bytes: 0 };
  entry.calls++;
  entry.bytes += bytes;
  counts.set(name, entry);
  return Array.isArray(out) ? back : back[0];
}

/** Fallback configs for backend 'torch': every CPU kernel whose name is not in `native`. */
export function fallbackKernelConfigs(native: Set<string>): KernelConfig[] {
  return getKernelsForBackend('cpu')
    .filter((k) => !native.has(k.kernelName))
    .map((k) => ({
      kernelName: k.kernelName,
      backendName: TORCH_BACKEND,
      kernelFunc: ({ inputs, attrs, backend }) => runOnCpu(k.kernelName, inputs as Inputs, attrs, backend as TorchBackend),
    }));
}

/** The kernel names that run through the CPU backend on 'torch' (for `regbench doctor`). */
export function fallbackKernelNames(native: Set<string>): string[] {
  return getKernelsForBackend('cpu')
    .map((k) => k.kernelName)
    .filter((n) => !native.has(n))
    .sort();
}
