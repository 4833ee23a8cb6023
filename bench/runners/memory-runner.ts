/**
 * The child program of bench/memory.mjs (bundled by bench/bundle-runner.mjs): builds one model on
 * one backend, runs ONE training step of the engine (src/engine/tfjs/step.ts: forward,
 * cross-entropy, gradients, SGD with momentum and weight decay) on a seeded random batch of
 * 32x32x3 images, and prints one JSON line: the step's time, the process's peak RSS and, on wasm,
 * the heap size. A failure of the step is a JSON line too ({ "error": ... }), exit code 3.
 * Arguments: arch classes batch backend [device].
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/tfjs/backend';
import { buildModel, isModelArch } from '../../src/engine/tfjs/models/index';
import { SeededRandom } from '../../src/engine/tfjs/models/init';
import { trainStep } from '../../src/engine/tfjs/step';
import { RECIPE, type BackendId } from '../../src/protocol/benchmarks';

/** Peak resident set of this process in MiB: VmHWM where /proc has it, else the rusage maximum. */
function peakRssMb(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch {
    // Not Linux: the rusage figure below is the same peak, in kB on Linux and macOS alike (Node).
  }
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** The wasm heap's size in MiB (it never shrinks, so it is the peak), or null on other backends. */
function wasmHeapMb(): number | null {
  const wasm = (tf.backend() as unknown as { wasm?: { wasmMemory?: WebAssembly.Memory; HEAPU8?: Uint8Array } }).wasm;
  if (!wasm) return null;
  return Math.round((wasm.wasmMemory?.buffer ?? wasm.HEAPU8?.buffer ?? new ArrayBuffer(0)).byteLength / 1048576);
}

async function main(): Promise<void> {
  const [arch, classesS, batchS, backendS, device] = process.argv.slice(2);
  if (!isModelArch(arch)) throw new Error(`unknown model '${arch}'`);
  const numClasses = Number(classesS);
  const batch = Number(batchS);
  const info = await initBackend(backendS as BackendId, device ? { device } : {});
  const t0 = performance.now();
  const model = buildModel(arch, numClasses, { seed: 0 });
  const buildMs = performance.now() - t0;
  const builtRssMb = peakRssMb();
  const rng = new SeededRandom(1);
  const images = Float32Array.from({ length: batch * 32 * 32 * 3 }, () => rng.normal());
  const labels = Int32Array.from({ length: batch }, () => Math.floor(rng.uniform() * numClasses));
  const params = model.trainableVariables();
  const momenta = params.map((v) => tf.variable(tf.zerosLike(v), false));
  const config = { numClasses, epoch: 0, totalEpochs: 1, step: 0, stepsPerEpoch: 1 };
  const base = { arch, backend: info.backend, device: info.device ?? null, threads: info.threads ?? null, batch, numClasses };
  const t1 = performance.now();
  try {
    const r = trainStep({
      model,
      params,
      momenta,
      batch: { images, labels, size: batch },
      lr: RECIPE.lr,
      momentum: RECIPE.momentum,
      weightDecay: RECIPE.weightDecay,
      numClasses,
      config,
    });
    // Read a parameter back so that no work of the step is left pending on any backend.
    await params[0].data();
    const stepMs = performance.now() - t1;
    console.log(
      JSON.stringify({ ...base, buildMs: Math.round(buildMs), stepMs: Math.round(stepMs), ce: r.ce, builtRssMb, peakRssMb: peakRssMb(), heapMb: wasmHeapMb() }),
    );
    process.exit(0);
  } catch (e) {
    const message = String((e as Error).message ?? e).split('\n')[0];
    console.log(
      JSON.stringify({ ...base, error: message, afterMs: Math.round(performance.now() - t1), builtRssMb, peakRssMb: peakRssMb(), heapMb: wasmHeapMb() }),
    );
    process.exit(3);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
