/**
 * The child program of bench/step.mjs (bundled by bench/bundle-runner.mjs): builds one architecture and
 * times `steps` of the engine's own training step after `warmup` ones; prints one JSON line.
 * Arguments: arch batch steps backend warmup [profile].
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/engine/tfjs/backend';
import { buildModel } from '../../src/engine/tfjs/models/index';
import { trainStep } from '../../src/engine/tfjs/step';
import { BENCHMARKS, RECIPE, type ArchId, type BackendId } from '../../src/protocol/benchmarks';
import { fallbackCounts } from '../../src/engine/tfjs/torch/index';

/** Classes per architecture, from the benchmark it trains on (src/protocol/protocol.json). */
const NUM_CLASSES: Record<string, number> = Object.fromEntries(BENCHMARKS.map((b) => [b.arch, b.numClasses]));

async function main(): Promise<void> {
  const [arch, batchS, stepsS, backendS, warmupS, prof] = process.argv.slice(2);
  const batch = Number(batchS),
    steps = Number(stepsS),
    warmup = Number(warmupS);
  const info = await initBackend(backendS as BackendId);
  const numClasses = NUM_CLASSES[arch];
  if (!numClasses) throw new Error(`unknown architecture '${arch}'`);
  const model = buildModel(arch as ArchId, numClasses, { seed: 0 });
  // The engine's own step (src/engine/tfjs/step.ts: cross-entropy, backward walk, SGD with
  // momentum and weight decay), on one fixed random batch.
  const params = model.trainableVariables();
  const momenta = params.map((v) => tf.variable(tf.zerosLike(v), false));
  const images = Float32Array.from({ length: batch * 3072 }, (_, i) => Math.sin(i * 12.9898) * 2);
  const batchData = { images, labels: Int32Array.from({ length: batch }, (_, i) => i % numClasses), size: batch };
  const config = { numClasses, epoch: 0, totalEpochs: 1, step: 0, stepsPerEpoch: 1 };
  const step = (): number =>
    trainStep({ model, params, momenta, batch: batchData, lr: RECIPE.lr, momentum: RECIPE.momentum, weightDecay: RECIPE.weightDecay, numClasses, config }).ce;
  for (let i = 0; i < warmup; i++) step();
  const before = tf.memory().numTensors;
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  const leaked = (tf.memory().numTensors - before) / Math.max(1, steps);
  if (prof === 'profile') {
    const p = await tf.profile(() => {
      step();
    });
    const byName = new Map<string, { ms: number; n: number }>();
    for (const k of p.kernels) {
      const e = byName.get(k.name) ?? { ms: 0, n: 0 };
      e.ms += Number(k.kernelTimeMs) || 0;
      e.n += 1;
      byName.set(k.name, e);
    }
    const total = [...byName.values()].reduce((a, e) => a + e.ms, 0);
    console.log('profile ' + arch + ' (one step, kernel ms; total ' + total.toFixed(0) + ')');
    for (const [name, e] of [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) {
      console.log('  ' + name.padEnd(40) + e.ms.toFixed(1).padStart(9) + ' ms  x' + e.n);
    }
  }
  if (info.backend === 'torch') {
    const fell = [...fallbackCounts().entries()].map(([k, c]) => k + ' x' + c.calls + ' (' + (c.bytes / 1048576).toFixed(1) + ' MB copied)');
    console.log('torch backend: kernels through the CPU backend: ' + (fell.length ? fell.join(', ') : 'none'));
  }
  times.sort((a, b) => a - b);
  const peakRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
  // The wasm heap never shrinks: its size is the step's peak heap (wasm32: at most 4096 MB).
  const wasmModule = (tf.backend() as unknown as { wasm?: { wasmMemory?: WebAssembly.Memory; HEAPU8?: Uint8Array } }).wasm;
  const heapMb = wasmModule ? Math.round((wasmModule.wasmMemory?.buffer ?? wasmModule.HEAPU8?.buffer ?? new ArrayBuffer(0)).byteLength / 1048576) : null;
  console.log(
    JSON.stringify({
      arch,
      backend: info.backend,
      threads: info.threads,
      ms: times[Math.floor(times.length / 2)],
      minMs: times[0],
      peakRssMb,
      heapMb,
      leakedTensorsPerStep: leaked,
    }),
  );
  process.exit(0);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
