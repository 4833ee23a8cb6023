/**
 * `TorchBackend`: a TensorFlow.js backend ('torch') whose tensors are libtorch tensors held by
 * the addon (addon.ts). A dataId maps to a handle (an at::Tensor; released at once when the
 * engine disposes the data, its last reference gone), plus the tfjs shape and dtype. Strings
 * stay JavaScript values (only the CPU fallback kernels read them). Reading copies into a typed
 * array; writing copies the values into a new tensor on the backend's device. No heap ceiling:
 * the memory is libtorch's (host or GPU).
 */
import { KernelBackend, type BackendTimingInfo, type BackendValues, type DataId, type DataType, type TensorInfo } from '@tensorflow/tfjs-core';
import type { TorchAddon, TorchDtype, TorchHandle, TorchResult } from './addon';

interface Entry {
  h: TorchHandle | null;
  /** Values of a string or complex64 tensor (never in libtorch; only CPU kernels read them). */
  values: BackendValues | null;
  shape: number[];
  dtype: DataType;
  refCount: number;
}

export const TORCH_BACKEND = 'torch';

export function isTorchDtype(dtype: DataType): dtype is TorchDtype {
  return dtype === 'float32' || dtype === 'int32' || dtype === 'bool';
}

function typedValues(values: BackendValues, dtype: TorchDtype): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>);
}

export class TorchBackend extends KernelBackend {
  private readonly data = new Map<DataId, Entry>();

  constructor(
    readonly addon: TorchAddon,
    readonly device: string,
  ) {
    super();
  }

  /** The handle of a tensor of this backend; throws for strings and unknown data. */
  handle(info: TensorInfo): TorchHandle {
    const e = this.data.get(info.dataId);
    if (!e) throw new Error('torch backend: tensor data not found (disposed, or from another backend)');
    if (!e.h) throw new Error(`torch backend: a ${e.dtype} tensor has no libtorch tensor`);
    return e.h;
  }

  /** Whether every input is a libtorch tensor (not a string). */
  inTorch(info: TensorInfo): boolean {
    return this.data.get(info.dataId)?.h != null;
  }

  /** Registers an addon result as a new tensor of this backend. */
  adopt(r: TorchResult): TensorInfo {
    const dataId = {};
    this.data.set(dataId, { h: r.h, values: null, shape: r.shape, dtype: r.dtype, refCount: 1 });
    return { dataId, shape: r.shape, dtype: r.dtype };
  }

  /** Runs one op of the addon's table and adopts its outputs. */
  run(op: string, inputs: TensorInfo[], params: number[] = []): TensorInfo[] {
    return this.addon
      .run(
        op,
        inputs.map((t) => this.handle(t)),
        Float64Array.from(params),
      )
      .map((r) => this.adopt(r));
  }

  /** Like `run`, for an op with one output. */
  run1(op: string, inputs: TensorInfo[], params: number[] = []): TensorInfo {
    return this.run(op, inputs, params)[0];
  }

  override write(values: BackendValues, shape: number[], dtype: DataType): DataId {
    const dataId = {};
    this.data.set(dataId, this.entry(values, shape, dtype, 1));
    return dataId;
  }

  override move(dataId: DataId, values: BackendValues, shape: number[], dtype: DataType, refCount: number): void {
    this.data.set(dataId, this.entry(values, shape, dtype, refCount));
  }

  private entry(values: BackendValues, shape: number[], dtype: DataType, refCount: number): Entry {
    if (dtype === 'string' || dtype === 'complex64') return { h: null, values, shape, dtype, refCount };
    if (!isTorchDtype(dtype)) throw new Error(`torch backend: dtype ${dtype} is not supported (float32, int32, bool, string, complex64)`);
    const h = this.addon.fromArray(typedValues(values, dtype), shape, dtype);
    return { h, values: null, shape, dtype, refCount };
  }

  /** Makes a tensor from values (what kernels use for constants). */
  makeTensorInfo(shape: number[], dtype: DataType, values: BackendValues): TensorInfo {
    return { dataId: this.write(values, shape, dtype), shape, dtype };
  }

  override readSync(dataId: DataId): BackendValues {
    const e = this.data.get(dataId);
    if (!e) throw new Error('torch backend: reading tensor data that was disposed');
    return e.h ? this.addon.toArray(e.h) : (e.values as BackendValues);
  }

  override async read(dataId: DataId): Promise<BackendValues> {
    return this.readSync(dataId);
  }

  override disposeData(dataId: DataId, force = false): boolean {
    const e = this.data.get(dataId);
    if (!e) return true;
    e.refCount--;
    if (!force && e.refCount > 0) return false;
    if (e.h) this.addon.release(e.h);
    this.data.delete(dataId);
    return true;
  }

  /** Frees a kernel's intermediate result. */
  disposeIntermediateTensorInfo(info: TensorInfo): void {
    this.disposeData(info.dataId, true);
  }

  override refCount(dataId: DataId): number {
    return this.data.get(dataId)?.refCount ?? 0;
  }

  override incRef(dataId: DataId): void {
    const e = this.data.get(dataId);
    if (e) e.refCount++;
  }

  override numDataIds(): number {
    return this.data.size;
  }

  override memory(): { unreliable: boolean; reasons?: string[] } {
    return { unreliable: false };
  }

  override timerAvailable(): boolean {
    return true;
  }

  override async time(f: () => void): Promise<BackendTimingInfo> {
    const t0 = performance.now();
    f();
    return { kernelMs: performance.now() - t0 };
  }

  override floatPrecision(): 32 {
    return 32;
  }

  override epsilon(): number {
    return 1e-7;
  }

  override dispose(): void {
    for (const e of this.data.values()) if (e.h) this.addon.release(e.h);
    this.data.clear();
  }
}
