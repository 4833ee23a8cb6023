// Convolution benchmark: each convolution kernel of the CIFAR ResNets (forward, input gradient,
// filter gradient; 3x3, stride 1 and 2, plus MobileNetV2's 3x3 depthwise and a 1x1) at batch 128,
// on the TypeScript engine's native path (wasm+native), on its pure wasm path, and in PyTorch
// (2 threads, channels_last: its fastest CPU layout, the one the native path computes in), in one
// run. Prints ms per call (median of `--reps`) and the native path's time as a ratio of PyTorch's.
//
//   npm run build && node bench/conv.mjs [--reps 10] [--no-wasm] [--no-torch]
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleRunner } from './bundle-runner.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const has = (name) => process.argv.includes(`--${name}`);
const repsAt = process.argv.indexOf('--reps');
const reps = repsAt >= 0 ? Number(process.argv[repsAt + 1]) : 10;

// [input NHWC, output channels, kernel, stride, depthwise]
const CASES = [
  [[128, 32, 32, 16], 16, 3, 1, false],
  [[128, 32, 32, 16], 32, 3, 2, false],
  [[128, 16, 16, 32], 32, 3, 1, false],
  [[128, 8, 8, 64], 64, 3, 1, false],
  [[128, 16, 16, 96], 96, 3, 1, true],
  [[128, 16, 16, 32], 96, 1, 1, false],
];

const runner = await bundleRunner(root, 'conv-runner', RUNNER_SOURCE());
const addon = join(root, 'dist/native/regbench_kernels.node');
const env = { ...process.env, REGBENCH_NATIVE_ADDON: process.env.REGBENCH_NATIVE_ADDON ?? addon, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };

const runTs = (backend) => JSON.parse(execFileSync(process.execPath, [runner, backend, JSON.stringify(CASES), String(reps)], { encoding: 'utf8', env }).trim().split('\n').pop());
const runTorch = () => JSON.parse(execFileSync('/usr/bin/python3', [join(root, 'bench/conv_torch.py'), JSON.stringify(CASES), String(reps)], { encoding: 'utf8', env }).trim().split('\n').pop());

const native = existsSync(addon) ? runTs('wasm+native') : null;
const wasm = has('no-wasm') ? null : runTs('wasm');
const torch = has('no-torch') ? null : runTorch();
console.log(`ms per call, batch 128, median of ${reps}; ratio = native / PyTorch channels_last${native?.onednn ? ` (native convolutions on oneDNN ${native.onednn})` : ''}`);
console.log('| layer | kernel | wasm+native | wasm | PyTorch channels_last | ratio |');
console.log('|---|---|---|---|---|---|');
const cell = (v) => (v === undefined || v === null ? '-' : v.toFixed(2));
CASES.forEach(([shape, out, k, stride, dw], i) => {
  const layer = `${k}x${k}${dw ? ' depthwise' : ''} ${shape[3]}->${out}, ${shape[1]}x${shape[2]}, stride ${stride}`;
  for (const kernel of ['forward', 'input gradient', 'filter gradient']) {
    const n = native?.cases[i][kernel];
    const t = torch?.cases[i][kernel];
    console.log(`| ${layer} | ${kernel} | ${cell(n)} | ${cell(wasm?.cases[i][kernel])} | ${cell(t)} | ${n && t ? (n / t).toFixed(2) : '-'} |`);
  }
});

// The child program: times the three kernels of each case on one backend.
function RUNNER_SOURCE() {
  return `
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from './src/engine/tfjs/backend';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const [backend, casesJson, repsS] = process.argv.slice(2);
  const info = await initBackend(backend as never);
  const reps = Number(repsS);
  const cases = JSON.parse(casesJson) as Array<[[number, number, number, number], number, number, number, boolean]>;
  const results = cases.map(([shape, out, k, stride, dw]) => {
    const x = tf.randomNormal(shape) as tf.Tensor4D;
    const filterShape: [number, number, number, number] = dw ? [k, k, shape[3], out / shape[3]] : [k, k, shape[3], out];
    const w = tf.randomNormal(filterShape) as tf.Tensor4D;
    const pad = (k - 1) / 2;
    const conv = (): tf.Tensor4D => (dw ? tf.depthwiseConv2d(x, w, stride, pad) : tf.conv2d(x, w, stride, pad));
    const dy = conv();
    const attrs = { strides: stride, pad, dataFormat: 'NHWC', dilations: 1, dimRoundingMode: undefined };
    const names = dw ? ['DepthwiseConv2dNativeBackpropInput', 'DepthwiseConv2dNativeBackpropFilter'] : ['Conv2DBackpropInput', 'Conv2DBackpropFilter'];
    const kernels: Record<string, () => tf.Tensor> = {
      forward: conv,
      'input gradient': () => tf.engine().runKernel(names[0], { dy, filter: w }, { ...attrs, inputShape: shape } as never) as tf.Tensor,
      'filter gradient': () => tf.engine().runKernel(names[1], { x, dy }, { ...attrs, filterShape } as never) as tf.Tensor,
    };
    const timing: Record<string, number> = {};
    for (const [name, f] of Object.entries(kernels)) {
      for (let i = 0; i < 3; i++) f().dispose();
      const times: number[] = [];
      for (let i = 0; i < reps; i++) {
        // Kernels on wasm (and the native ones) run synchronously: the call is the work.
        const t0 = performance.now();
        const r = f();
        times.push(performance.now() - t0);
        r.dispose();
      }
      timing[name] = median(times);
    }
    tf.dispose([x, w, dy]);
    return timing;
  });
  console.log(JSON.stringify({ backend: info.backend, onednn: info.versions.onednn ?? null, cases: results }));
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
`;
}
