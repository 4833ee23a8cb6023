// Checkpoint cost of the TensorFlow.js engine: how long writing one checkpoint takes against the
// time of one training epoch, for ResNet-20/CIFAR-10 and ResNet-56/CIFAR-100 on synthetic data.
// Runs the real worker (dist/worker.js; `npm run build` first) for 2 short epochs of --steps
// steps at batch 128 and reads its `epoch` and `checkpoint` events. An epoch of the quick budget
// (10,000 images) and of the full protocol (50,000 images) is extrapolated from the measured
// training throughput, leaving evaluation out (so the ratio is, if anything, overstated).
//
//   node bench/checkpoint.mjs [--arch resnet20,resnet56] [--steps 4] [--data /tmp/regbench-ckpt-data]
//
// Prints a table and, last, one JSON object per architecture:
// {"arch","bench","checkpointBytes","checkpointMs","imagesPerSec","quickEpochS","fullEpochS","ratioQuick","ratioFull"}.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BENCH = { resnet20: ['resnet20-cifar10', 'cifar10', 10], resnet56: ['resnet56-cifar100', 'cifar100', 100] };
const RECIPE = {
  optimizer: 'sgd',
  lr: 0.1,
  momentum: 0.9,
  weightDecay: 5e-4,
  batchSize: 128,
  schedule: 'cosine-per-step',
  augmentation: 'randomcrop32-pad4+hflip',
  bnMomentum: 0.1,
  bnEpsilon: 1e-5,
};

function flag(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}
const archs = flag('arch', 'resnet20,resnet56').split(',').filter(Boolean);
const steps = Number(flag('steps', '4'));
const dataDir = flag('data', '/tmp/regbench-ckpt-data');

function synth(dataset) {
  const marker = join(dataDir, dataset === 'cifar10' ? 'cifar-10-batches-bin' : 'cifar-100-binary');
  if (existsSync(marker)) return;
  const r = spawnSync(
    process.execPath,
    [join(root, 'dist', 'cli.js'), 'data', 'synth', '--dataset', dataset, '--out', dataDir, '--train', String(steps * 128), '--test', '256'],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`data synth failed: ${r.stderr}`);
}

function runWorker(spec) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'worker.js')], {
      env: { ...process.env, REGBENCH_OFFLINE: '1' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    child.stdin.end(JSON.stringify(spec) + '\n');
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (c) => (out += c));
    child.on('error', reject);
    child.on('close', () =>
      resolve(
        out
          .split('\n')
          .filter((l) => l.trim())
          .map((l) => JSON.parse(l)),
      ),
    );
  });
}

async function measure(arch) {
  const [bench, dataset, numClasses] = BENCH[arch];
  synth(dataset);
  const runDir = mkdtempSync(join(tmpdir(), 'regbench-ckpt-bench-'));
  try {
    const spec = {
      runId: `ckpt-bench-${arch}`,
      bench,
      arch,
      dataset,
      numClasses,
      budget: 'quick',
      epochs: 2,
      trainSubset: steps * 128,
      testSubset: 256,
      seed: 0,
      recipe: RECIPE,
      engine: 'tfjs',
      backend: 'wasm',
      dataDir,
      variantPath: join(runDir, 'none.ts'),
      variantHash: 'bench',
      variantKind: { regularizer: false, norm: false },
      runDir,
    };
    const events = await runWorker(spec);
    const end = events.find((e) => e.type === 'run-end');
    if (end?.status !== 'completed') throw new Error(`${arch}: ${JSON.stringify(events.filter((e) => e.type === 'error' || e.type === 'run-end'))}`);
    const epochs = events.filter((e) => e.type === 'epoch');
    const ckpts = events.filter((e) => e.type === 'checkpoint');
    // The second epoch and checkpoint are warm (the first includes compilation and first-call costs).
    const ips = epochs[epochs.length - 1].trainImagesPerSec;
    const ckptS = ckpts[ckpts.length - 1].seconds;
    const quickEpochS = 10000 / ips;
    const fullEpochS = 50000 / ips;
    return {
      arch,
      bench,
      checkpointBytes: ckpts[ckpts.length - 1].bytes,
      checkpointMs: +(ckptS * 1000).toFixed(1),
      checkpointMsAll: ckpts.map((c) => +(c.seconds * 1000).toFixed(1)),
      imagesPerSec: +ips.toFixed(1),
      quickEpochS: +quickEpochS.toFixed(1),
      fullEpochS: +fullEpochS.toFixed(1),
      ratioQuick: +(ckptS / quickEpochS).toExponential(2),
      ratioFull: +(ckptS / fullEpochS).toExponential(2),
    };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

const results = [];
for (const arch of archs) results.push(await measure(arch));
console.log('arch       checkpoint        write ms (each)     train img/s   epoch s quick/full   checkpoint / epoch quick, full');
for (const r of results) {
  const pct = (x) => `${(100 * x).toFixed(3)}%`;
  console.log(
    `${r.arch.padEnd(10)} ${(r.checkpointBytes / 2 ** 20).toFixed(2).padStart(6)} MB   ${String(r.checkpointMs).padStart(7)} (${r.checkpointMsAll.join(', ')})`.padEnd(
      50,
    ) +
      `${String(r.imagesPerSec).padStart(8)}      ${r.quickEpochS} / ${r.fullEpochS}`.padEnd(35) +
      `${pct(r.ratioQuick)}, ${pct(r.ratioFull)}`,
  );
}
for (const r of results) console.log(JSON.stringify(r));
