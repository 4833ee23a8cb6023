/**
 * Runs other registered kernels of a backend from inside a kernel function, the way the stock
 * kernels compose each other: outputs are raw TensorInfos (no engine bookkeeping, no tidy), so
 * every intermediate must be released by hand. A scratch owns the intermediates it created and
 * frees all of them except the one handed back as the kernel's result.
 */
import { getKernel, type KernelBackend, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

/** Named inputs, or a list for the variadic kernels (Concat, Pack, AddN). */
export type KernelInputs = Record<string, TensorInfo> | TensorInfo[];

export class KernelScratch {
  private readonly owned: TensorInfo[] = [];

  constructor(
    readonly backend: KernelBackend,
    private readonly backendName = 'wasm',
  ) {}

  /** Runs kernel `name`; its single output is owned by this scratch. */
  run(name: string, inputs: KernelInputs, attrs: object = {}): TensorInfo {
    const out = this.runKernel(name, inputs, attrs);
    if (Array.isArray(out)) throw new Error(`kernel ${name} returned several outputs`);
    this.owned.push(out);
    return out;
  }

  /** Runs a kernel with several outputs; all are owned by this scratch. */
  runMulti(name: string, inputs: KernelInputs, attrs: object = {}): TensorInfo[] {
    const out = this.runKernel(name, inputs, attrs);
    const list = Array.isArray(out) ? out : [out];
    this.owned.push(...list);
    return list;
  }

  /** Same data, another shape; no copy, nothing extra to free (the data's owner frees it). */
  view(x: TensorInfo, shape: number[]): TensorInfo {
    return { dataId: x.dataId, shape, dtype: x.dtype };
  }

  /** Frees every owned intermediate except `result`, which the caller hands to the engine. */
  finish(result: TensorInfo): TensorInfo {
    let kept = false;
    for (const t of this.owned) {
      if (t.dataId === result.dataId && !kept) {
        kept = true;
        continue;
      }
      this.backend.disposeData(t.dataId);
    }
    this.owned.length = 0;
    if (!kept) throw new Error('kernel result was not produced by this scratch');
    return result;
  }

  /** Frees everything (error paths). */
  dispose(): void {
    for (const t of this.owned) this.backend.disposeData(t.dataId);
    this.owned.length = 0;
  }

  private runKernel(name: string, inputs: KernelInputs, attrs: object): TensorInfo | TensorInfo[] {
    const kernel = getKernel(name, this.backendName);
    if (!kernel) throw new Error(`kernel ${name} is not registered for backend ${this.backendName}`);
    // Concat and Pack take their inputs as an array, as the engine passes them.
    return kernel.kernelFunc({ inputs: inputs as Record<string, TensorInfo>, backend: this.backend, attrs: attrs as NamedAttrMap });
  }
}

/** Wraps a kernel body so that intermediates are freed on success and on error alike. */
export function withScratch(backend: object, body: (s: KernelScratch) => TensorInfo): TensorInfo {
  // KernelFunc types its backend as `{}`; inside a registered kernel it is the KernelBackend.
  const scratch = new KernelScratch(backend as KernelBackend);
  try {
    return scratch.finish(body(scratch));
  } catch (e) {
    scratch.dispose();
    throw e;
  }
}
