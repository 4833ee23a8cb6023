/**
 * The child program of bench/memory.mjs (bundled by bench/bundle-runner.mjs): builds one model on
 * one backend, runs ONE training step of the engine (src/engine/tfjs/step.ts: forward,
 * cross-entropy, gradients, SGD with momentum and weight decay) on a seeded random batch of
 * 32x32x3 images, and prints one JSON line: the step's time, the process's peak RSS and, on wasm,
 * the heap size. A failure of the step is a JSON line too ({ "error": ... }), exit code 3. The step
 * runs under the engine's step guard (src/engine/tfjs/stall-guard.ts) with a limit in seconds: a
 * full wasm heap does not always throw (tfjs-wasm does not check its allocations; a step can spin
 * in the allocator), so a step that does not return names the function it was stuck in, and with
 * the heap at its ceiling that is reported as a full wasm heap.
 * Arguments: arch classes batch backend limitSeconds [device].
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/tfjs/backend';
import { buildModel, isModelArch } from '../../src/engine/tfjs/models/index';
import { SeededRandom } from '../../src/engine/tfjs/models/init';
import { trainStep } from '../../src/engine/tfjs/step';
import { StallError, StallGuard } from '../../src/engine/tfjs/stall-guard';
import { FIRST_STEP_FACTOR_WHEN_SET, StepWatchdog } from '../../src/engine/step-watchdog';
import { RECIPE, type BackendId } from '../../src/protocol/benchmarks';

/** The wasm32 address space, in MiB. */
const WASM_CEILING_MB = 4096;

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

/** "the step did not return within N s, stuck in <function> < <caller> ...", and whether the wasm heap was full. */
function stalledIn(e: StallError, heapMb: number | null): string {
  // wasm frames have no names here; the innermost named JavaScript frame says which kernel or
  // allocation (makeOutput, write, ...) the thread was in.
  const js = e.frames.filter((f) => f.functionName && !f.url.startsWith('wasm://')).map((f) => f.functionName);
  const innermost = e.frames[0]?.functionName || 'wasm code';
  const limit = e.message.replace(/^the variant /, 'the step ');
  const full = heapMb !== null && heapMb >= WASM_CEILING_MB - 64 ? `the wasm heap is full (${heapMb} MiB of ${WASM_CEILING_MB}); ` : '';
  return `${full}${limit}, stuck in ${innermost}${js.length ? ` called from ${js.slice(0, 3).join(' < ')}` : ''}`;
}

async function main(): Promise<void> {
  const [arch, classesS, batchS, backendS, limitS, device] = process.argv.slice(2);
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
  const step = () =>
    trainStep({
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
  // The watchdog gives a first step FIRST_STEP_FACTOR_WHEN_SET times its fixed limit.
  const guard = new StallGuard(new StepWatchdog(Number(limitS) / FIRST_STEP_FACTOR_WHEN_SET));
  const t1 = performance.now();
  try {
    const r = guard.run(step);
    // Read a parameter back so that no work of the step is left pending on any backend.
    await params[0].data();
    const stepMs = performance.now() - t1;
    const heapMb = wasmHeapMb();
    console.log(JSON.stringify({ ...base, buildMs: Math.round(buildMs), stepMs: Math.round(stepMs), ce: r.ce, builtRssMb, peakRssMb: peakRssMb(), heapMb }));
    process.exit(0);
  } catch (e) {
    const heapMb = wasmHeapMb();
    const message = e instanceof StallError ? stalledIn(e, heapMb) : String((e as Error).message ?? e).split('\n')[0];
    console.log(JSON.stringify({ ...base, error: message, afterMs: Math.round(performance.now() - t1), builtRssMb, peakRssMb: peakRssMb(), heapMb }));
    process.exit(3);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
