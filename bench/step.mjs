// Training-step benchmark: TensorFlow.js (wasm+native where the native kernels are built, else
// wasm) against PyTorch (2 threads) on the same architectures. Bundles a small runner with esbuild
// into /tmp, then runs one child process per architecture and engine so that each peak RSS is
// that run's own. The TensorFlow.js side times the engine's own training step (trainStep in
// src/engine/tfjs/step.ts: the freeing backward walk, SGD with momentum and weight decay), the
// whole batch in one piece.
//
//   node bench/step.mjs [--arch resnet20,resnet56] [--batch 128] [--steps 5] [--warmup 2] [--backend wasm+native]
//                       [--rounds 1] [--with-wasm] [--with-torch-backend] [--torch-passive] [--no-torch] [--no-cpu] [--profile]
//
// --with-wasm also times the pure wasm path (before/after in the same run); --with-torch-backend
// the TensorFlow.js backend over libtorch ('torch', src/engine/tfjs/torch/) on the CPU. Prints a line per
// architecture, the cpu backend's ratio for ResNet-20 (batch 8, one step, extrapolated linearly
// to the requested batch), a summary table, and last one JSON object per architecture:
// {"arch","backend","batch","tfjsMs","torchMs","ratio","peakRssMb","heapMb"[,"wasmMs","wasmRatio"]}.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleRunner } from './bundle-runner.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ALL = ['resnet20', 'resnet56', 'resnet110', 'vgg16bn', 'mobilenetv2'];

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const has = (name) => process.argv.includes(`--${name}`);
const archs = flag('arch', ALL.join(',')).split(',').filter(Boolean);
const batch = Number(flag('batch', '128'));
const steps = Number(flag('steps', '5'));
const warmup = Number(flag('warmup', '2'));
const rounds = Math.max(1, Number(flag('rounds', '1')));
// The runner is bundled into /tmp; it finds the addon through this variable.
const addon = join(root, 'dist/native/regbench_kernels.node');
if (existsSync(addon)) process.env.REGBENCH_NATIVE_ADDON ??= addon;
const backend = flag('backend', existsSync(addon) ? 'wasm+native' : 'wasm');
const withWasm = has('with-wasm') && backend !== 'wasm';
const torchAddon = join(root, 'dist/native/regbench_torch.node');
if (existsSync(torchAddon)) process.env.REGBENCH_TORCH_ADDON ??= torchAddon;
const withTorchBackend = has('with-torch-backend') && backend !== 'torch';
// PyTorch's OpenMP workers spin between ops by default, which costs it dearly on a loaded machine;
// --torch-passive runs it with OMP_WAIT_POLICY=PASSIVE, as the native kernels run.
const torchEnv = has('torch-passive') ? { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } : process.env;
const profile = has('profile');

const runner = await bundleRunner(root, 'step-runner', join(root, 'bench/runners/step-runner.ts'));

function runTfjs(arch, b, n, be, warmup) {
  const args = [runner, arch, String(b), String(n), be, String(warmup), profile ? 'profile' : ''];
  const out = execFileSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 });
  const lines = out.trim().split('\n');
  for (const l of lines.slice(0, -1)) console.log(l);
  return JSON.parse(lines[lines.length - 1]);
}

function runTorch(arch, b) {
  const out = execFileSync(
    '/usr/bin/python3',
    [join(root, 'bench/torch_step.py'), '--arch', arch, '--batch', String(b), '--steps', String(steps), '--warmup', String(warmup)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: torchEnv },
  );
  return JSON.parse(out.trim().split('\n').pop());
}

const results = [];
for (const arch of archs) {
  let t;
  let torch = null;
  let ratio = null;
  try {
    // --rounds N alternates the two engines N times (TypeScript, PyTorch, TypeScript, ...) and
    // keeps each one's median and the median of the per-round ratios, so that a machine whose
    // speed drifts (shared cores) moves both sides of a ratio alike.
    const pairs = [];
    for (let r = 0; r < rounds; r++) {
      const tr = runTfjs(arch, batch, steps, backend, warmup);
      const pr = has('no-torch') ? null : runTorch(arch, batch);
      pairs.push({ tr, pr });
      if (rounds > 1) console.log(`${arch.padEnd(12)} round ${r + 1}/${rounds}: ${tr.ms.toFixed(0)} vs ${pr ? pr.torchMs.toFixed(0) : '-'} ms`);
    }
    const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    t = {
      ...pairs[0].tr,
      ms: mid(pairs.map((p) => p.tr.ms)),
      minMs: Math.min(...pairs.map((p) => p.tr.minMs)),
      peakRssMb: Math.max(...pairs.map((p) => p.tr.peakRssMb)),
    };
    if (pairs[0].pr) {
      torch = {
        ...pairs[0].pr,
        torchMs: mid(pairs.map((p) => p.pr.torchMs)),
        torchMinMs: Math.min(...pairs.map((p) => p.pr.torchMinMs)),
        peakRssMb: Math.max(...pairs.map((p) => p.pr.peakRssMb)),
      };
      ratio = mid(pairs.map((p) => p.tr.ms / p.pr.torchMs));
    }
  } catch (e) {
    // A crash of one architecture (e.g. the 4 GB wasm32 heap exhausted) must not hide the others.
    console.log(`${arch.padEnd(12)} tfjs-${backend} FAILED: ${String(e.message).split('\n')[0]}`);
    results.push({ arch, backend, batch, tfjsMs: null, torchMs: null, ratio: null, peakRssMb: null, error: 'tfjs run failed' });
    continue;
  }
  let wasm = null;
  if (withWasm) {
    try {
      wasm = runTfjs(arch, batch, steps, 'wasm', warmup);
      console.log(
        `${arch.padEnd(12)} tfjs-wasm(${wasm.threads ?? 1}t) ${wasm.ms.toFixed(0).padStart(6)} ms/step (min ${wasm.minMs.toFixed(0)})   peak RSS ${wasm.peakRssMb} MB`,
      );
    } catch (e) {
      console.log(`${arch.padEnd(12)} tfjs-wasm FAILED: ${String(e.message).split('\n')[0]}`);
    }
  }
  let tb = null;
  if (withTorchBackend) {
    try {
      tb = runTfjs(arch, batch, steps, 'torch', warmup);
      console.log(
        `${arch.padEnd(12)} tfjs-torch-cpu(${tb.threads ?? 1}t) ${tb.ms.toFixed(0).padStart(6)} ms/step (min ${tb.minMs.toFixed(0)})   peak RSS ${tb.peakRssMb} MB`,
      );
    } catch (e) {
      console.log(`${arch.padEnd(12)} tfjs-torch FAILED: ${String(e.message).split('\n')[0]}`);
    }
  }
  console.log(
    `${arch.padEnd(12)} tfjs-${t.backend}(${t.threads ?? 1}t) ${t.ms.toFixed(0).padStart(6)} ms/step (min ${t.minMs.toFixed(0)})   torch ${torch ? torch.torchMs.toFixed(0).padStart(6) : '     -'} ms/step (min ${torch ? torch.torchMinMs.toFixed(0) : '-'})   ratio ${ratio ? ratio.toFixed(2) : '-'}   peak RSS tfjs ${t.peakRssMb} MB (wasm heap ${t.heapMb ?? '-'} MB) / torch ${torch ? torch.peakRssMb : '-'} MB   leak ${t.leakedTensorsPerStep} tensors/step`,
  );
  const extra = {
    ...(wasm ? { wasmMs: round1(wasm.ms), wasmRatio: torch ? round2(wasm.ms / torch.torchMs) : null } : {}),
    ...(tb ? { torchBackendMs: round1(tb.ms), torchBackendRatio: torch ? round2(tb.ms / torch.torchMs) : null, torchBackendRssMb: tb.peakRssMb } : {}),
  };
  results.push({
    arch,
    backend: t.backend,
    batch,
    tfjsMs: round1(t.ms),
    torchMs: torch ? torch.torchMs : null,
    ratio: ratio ? round2(ratio) : null,
    peakRssMb: t.peakRssMb,
    heapMb: t.heapMb,
    ...extra,
  });
}

if (!has('no-cpu')) {
  // The pure-JS backend is ~1000x slower: one step at batch 8, scaled linearly to `batch`.
  const small = 8;
  const c = runTfjs('resnet20', small, 1, 'cpu', 0);
  const torch = has('no-torch') ? null : runTorch('resnet20', batch);
  const extrapolated = (c.ms * batch) / small;
  console.log(
    `cpu backend, resnet20: ${c.ms.toFixed(0)} ms for one step at batch ${small} -> ~${extrapolated.toFixed(0)} ms at batch ${batch} (linear extrapolation)${torch ? `, ratio to torch ~${(extrapolated / torch.torchMs).toFixed(0)}x` : ''}`,
  );
}

console.log(
  `\nbatch ${batch}, median of ${steps} steps (ms/step)${rounds > 1 ? `, median of ${rounds} alternating rounds; ratio = median of the rounds' TypeScript / PyTorch` : '; ratio = TypeScript / PyTorch'}`,
);
console.log(
  `| architecture | ${backend} | PyTorch | ratio |${withWasm ? ' wasm | ratio |' : ''}${withTorchBackend ? ' torch-cpu | ratio | torch-cpu peak RSS (MB) |' : ''} peak RSS (MB) |`,
);
console.log(`|---|---|---|---|${withWasm ? '---|---|' : ''}${withTorchBackend ? '---|---|---|' : ''}---|`);
for (const r of results) {
  const cells = [
    r.arch,
    r.tfjsMs ?? 'failed',
    r.torchMs ?? '-',
    r.ratio ?? '-',
    ...(withWasm ? [r.wasmMs ?? 'failed', r.wasmRatio ?? '-'] : []),
    ...(withTorchBackend ? [r.torchBackendMs ?? 'failed', r.torchBackendRatio ?? '-', r.torchBackendRssMb ?? '-'] : []),
    r.peakRssMb ?? '-',
  ];
  console.log(`| ${cells.join(' | ')} |`);
}
for (const r of results) console.log(JSON.stringify(r));

function round1(x) {
  return Math.round(x * 10) / 10;
}
function round2(x) {
  return Math.round(x * 100) / 100;
}
