/**
 * One architecture's training step on the torch backend, timed (bench/gpu-check.sh; bundled into
 * dist/bench/gpu-step.js by `npm run build`, so a GPU machine needs no sources or npm):
 *
 *   node dist/bench/gpu-step.js <arch> <batch> <steps> <device> [warmup]
 *
 * Prints one JSON line: {arch, device, gpu, ms, minMs, peakRssMb, fallback: {kernel: calls}}.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';
import { buildModel } from '../src/engine/tfjs/models/index';
import { trainStep } from '../src/engine/tfjs/step';
import { fallbackCounts } from '../src/engine/tfjs/torch/index';
import type { ArchId } from '../src/protocol/benchmarks';

const NUM_CLASSES: Record<string, number> = { resnet20: 10, resnet56: 100, resnet110: 100, vgg16bn: 100, mobilenetv2: 10 };

async function main(): Promise<void> {
  const [arch, batchS, stepsS, device, warmupS] = process.argv.slice(2);
  const batch = Number(batchS);
  const steps = Number(stepsS);
  const warmup = Number(warmupS ?? 1);
  if (!(arch in NUM_CLASSES) || !(batch > 0) || !(steps > 0)) throw new Error('usage: gpu-step.js <arch> <batch> <steps> <device> [warmup]');
  const info = await initBackend('torch', { device });
  const numClasses = NUM_CLASSES[arch];
  const model = buildModel(arch as ArchId, numClasses, { seed: 0 });
  const params = model.trainableVariables();
  const momenta = params.map((v) => tf.variable(tf.zerosLike(v), false));
  const images = Float32Array.from({ length: batch * 3072 }, (_, i) => Math.sin(i * 12.9898) * 2);
  const batchData = { images, labels: Int32Array.from({ length: batch }, (_, i) => i % numClasses), size: batch };
  const config = { numClasses, epoch: 0, totalEpochs: 1, step: 0, stepsPerEpoch: 1 };
  // Reading the loss waits for the device, so each step's time includes its kernels.
  const step = (): number => trainStep({ model, params, momenta, batch: batchData, lr: 0.01, momentum: 0.9, weightDecay: 5e-4, numClasses, config }).ce;
  for (let i = 0; i < warmup; i++) step();
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const fallback = Object.fromEntries([...fallbackCounts().entries()].map(([k, c]) => [k, c.calls]));
  console.log(
    JSON.stringify({
      arch,
      device: info.device,
      gpu: info.gpu ?? null,
      ms: times[Math.floor(times.length / 2)],
      minMs: times[0],
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      fallback,
    }),
  );
  process.exit(0);
}
main().catch((e: unknown) => {
  console.error(String(e instanceof Error ? e.message : e).split('\n')[0]);
  process.exit(1);
});
