// Training-step memory benchmark: how much memory ONE training step (batch 128 by default) takes,
// per model, batch size and TensorFlow.js backend, against the 4 GiB ceiling of the wasm heap (wasm32). Bundles a small
// runner (bench/runners/memory-runner.ts) with esbuild, then runs one child process per case so
// that each peak RSS is that case's own: the child builds the model, runs one step of the engine
// (forward, cross-entropy, gradients, SGD update) on seeded random 32x32x3 images and prints the
// step time, its peak RSS (/proc/self/status VmHWM, else rusage maxRSS) and, on wasm, the heap size.
// A case that runs out of wasm memory is reported as such, with the error, and the others go on.
// The reference: the same step in the PyTorch engine (bench/torch_step.py, one step, no warm-up,
// 2 threads, OMP_WAIT_POLICY=PASSIVE), in its own process, in the same run (--no-pytorch skips it).
//
//   node bench/memory.mjs [--arch mobilenetv2,wrn28-10] [--backend torch,wasm] [--batch 128[,256]]
//                         [--device cpu] [--step-limit-min 20] [--timeout-min 30] [--no-pytorch]
//                         [--python /usr/bin/python3]
//
// --step-limit-min: a TypeScript step that has not returned by then is stopped and reported with
// the function it was in (a full wasm heap can leave the step spinning in the allocator);
// --timeout-min: the hard limit of any case's process (killed).
//
// Cases: for every arch and every batch size, every backend, then PyTorch. MobileNetV2 has 10 classes (FashionMNIST,
// padded to 32x32x3 as its benchmark feeds it), WRN-28-10 10 classes. Prints one line per case, a
// table with peak RSS, its ratio to the 4 GiB ceiling, to PyTorch's peak RSS and to wasm's (where
// the same model ran on wasm in this run), the step time's ratio to PyTorch's; last one JSON
// object per case.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleRunner } from './bundle-runner.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The wasm32 address space: no wasm heap grows past it. */
const CEILING_MB = 4096;
const CLASSES = { mobilenetv2: 10, 'wrn28-10': 10 };

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const archs = flag('arch', 'mobilenetv2,wrn28-10').split(',').filter(Boolean);
const backends = flag('backend', 'torch,wasm').split(',').filter(Boolean);
const batches = flag('batch', '128').split(',').filter(Boolean).map(Number);
const device = flag('device', '');
const stepLimitSeconds = Number(flag('step-limit-min', '20')) * 60;
const timeoutMs = Math.max(Number(flag('timeout-min', '30')) * 60_000, (stepLimitSeconds + 300) * 1000);
const withPytorch = !process.argv.includes('--no-pytorch');
const python = flag('python', '/usr/bin/python3');
for (const a of archs) if (!(a in CLASSES)) throw new Error(`bench/memory.mjs: unknown --arch '${a}' (expected ${Object.keys(CLASSES).join(', ')})`);

// The runner is bundled into /tmp; it finds the addons through these variables.
const torchAddon = join(root, 'dist/native/regbench_torch.node');
if (existsSync(torchAddon)) process.env.REGBENCH_TORCH_ADDON ??= torchAddon;
const nativeAddon = join(root, 'dist/native/regbench_kernels.node');
if (existsSync(nativeAddon)) process.env.REGBENCH_NATIVE_ADDON ??= nativeAddon;

const runner = await bundleRunner(root, 'memory-runner', join(root, 'bench/runners/memory-runner.ts'));

/** What a failed wasm case's messages look like when the heap could not grow (Emscripten, tfjs). */
const OUT_OF_MEMORY = /out of memory|heap is full|\bOOM\b|Cannot enlarge memory|Array buffer allocation failed|RangeError: .*memory|Aborted\(/i;

/** Runs one case in a child; resolves to its JSON line, or to { error } with the reason. */
function runCase(arch, batch, backend) {
  const [command, args, env] =
    backend === 'pytorch'
      ? [
          python,
          [join(root, 'bench/torch_step.py'), '--arch', arch, '--classes', String(CLASSES[arch]), '--batch', String(batch), '--steps', '1', '--warmup', '0'],
          { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
        ]
      : [
          process.execPath,
          [runner, arch, String(CLASSES[arch]), String(batch), backend, String(stepLimitSeconds), ...(backend === 'torch' && device ? [device] : [])],
          process.env,
        ];
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const t0 = Date.now();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const last = out.trim().split('\n').pop() ?? '';
      const result = parseLine(last);
      const base = { arch, backend, batch };
      // torch_step.py names its step time torchMs.
      if (result && code === 0) return resolve({ ...base, ...result, stepMs: result.stepMs ?? result.torchMs });
      const message = result?.error ?? (signal ? `killed by ${signal}` : (firstErrorLine(err) ?? `exit ${code}`));
      const error = timedOut
        ? `timed out after ${Math.round((Date.now() - t0) / 60000)} min (--timeout-min)`
        : backend.startsWith('wasm') && OUT_OF_MEMORY.test(`${message}\n${err}`)
          ? `out of wasm memory: ${message}`
          : message;
      resolve({ ...base, ...(result ?? {}), error, wallMs: Date.now() - t0 });
    });
  });
}

function parseLine(line) {
  try {
    return line.startsWith('{') ? JSON.parse(line) : null;
  } catch {
    return null;
  }
}

function firstErrorLine(stderr) {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /error|abort|memory/i.test(l)) ?? lines[lines.length - 1];
}

const results = [];
for (const arch of archs) {
  for (const batch of batches) {
    for (const backend of [...backends, ...(withPytorch ? ['pytorch'] : [])]) {
      const r = await runCase(arch, batch, backend);
      results.push(r);
      report(r);
    }
  }
}

function report(r) {
  const where = `${r.arch.padEnd(12)} batch ${r.batch} ${r.backend}${r.device ? ` (${r.device})` : ''}`;
  if (r.error) console.log(`${where}: FAILED ${r.error}${r.peakRssMb ? ` (peak RSS ${r.peakRssMb} MiB, wasm heap ${r.heapMb ?? '-'} MiB)` : ''}`);
  else
    console.log(
      `${where}: one step ${fmt(r.stepMs)} ms, peak RSS ${fmt(r.peakRssMb)} MiB${r.builtRssMb ? ` (after building ${fmt(r.builtRssMb)} MiB)` : ''}${r.heapMb ? `, wasm heap ${fmt(r.heapMb)} MiB` : ''}${r.ce !== undefined ? `, loss ${r.ce.toFixed(3)}` : ''}`,
    );
}

console.log(`\none training step per case, each in its own process; ceiling = the wasm32 heap's 4 GiB (${CEILING_MB} MiB)`);
console.log('| model | batch | backend | step (ms) | peak RSS (MiB) | RSS / 4 GiB | wasm heap (MiB) | RSS / PyTorch | step / PyTorch | RSS / wasm |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const ok = (backend) => results.find((o) => o.arch === r.arch && o.batch === r.batch && o.backend === backend && !o.error);
  const [torch, wasm] = [ok('pytorch'), ok('wasm')];
  const ratio = (ref, key) => (ref && ref !== r && !r.error ? (r[key] / ref[key]).toFixed(2) : '-');
  const cells = [
    r.arch,
    r.batch,
    r.backend === 'pytorch' ? 'PyTorch engine' : r.backend,
    r.error ? `failed: ${r.error}` : fmt(r.stepMs),
    r.error ? '-' : fmt(r.peakRssMb),
    r.error ? '-' : (r.peakRssMb / CEILING_MB).toFixed(2),
    r.heapMb ? fmt(r.heapMb) : '-',
    ratio(torch, 'peakRssMb'),
    ratio(torch, 'stepMs'),
    ratio(wasm, 'peakRssMb'),
  ];
  console.log(`| ${cells.join(' | ')} |`);
}
for (const r of results) console.log(JSON.stringify(r));

function fmt(x) {
  return x === null || x === undefined ? '-' : Math.round(x).toLocaleString('en-US');
}
