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

const runner = await bundleRunner(root, 'conv-runner', join(root, 'bench/runners/conv-runner.ts'));
const addon = join(root, 'dist/native/regbench_kernels.node');
const env = { ...process.env, REGBENCH_NATIVE_ADDON: process.env.REGBENCH_NATIVE_ADDON ?? addon, OMP_WAIT_POLICY: process.env.OMP_WAIT_POLICY ?? 'PASSIVE' };

const runTs = (backend) =>
  JSON.parse(
    execFileSync(process.execPath, [runner, backend, JSON.stringify(CASES), String(reps)], { encoding: 'utf8', env })
      .trim()
      .split('\n')
      .pop(),
  );
const runTorch = () =>
  JSON.parse(
    execFileSync('/usr/bin/python3', [join(root, 'bench/conv_torch.py'), JSON.stringify(CASES), String(reps)], { encoding: 'utf8', env })
      .trim()
      .split('\n')
      .pop(),
  );

const native = existsSync(addon) ? runTs('wasm+native') : null;
const wasm = has('no-wasm') ? null : runTs('wasm');
const torch = has('no-torch') ? null : runTorch();
console.log(
  `ms per call, batch 128, median of ${reps}; ratio = native / PyTorch channels_last${native?.onednn ? ` (native convolutions on oneDNN ${native.onednn})` : ''}`,
);
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
