// Throughput of the data pipeline (augmented training batches, and evaluation batches) against
// what training consumes. Bundles src/engine/data with esbuild into a temporary folder, so it
// needs no prior build.
//   node bench/data.mjs [--consume=IMAGES_PER_SECOND]
import { build } from 'esbuild';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const arg = process.argv.find((a) => a.startsWith('--consume='));
// ResNet-20 training on the wasm backend, 2 cores: the figure the brief gives until bench/step.mjs measures one.
const consume = arg ? Number(arg.slice('--consume='.length)) : 150;
const REQUIRED_RATIO = 10;
const BATCH = 128;

const work = mkdtempSync(join(tmpdir(), 'regbench-bench-data-'));
try {
  const outfile = join(work, 'data.cjs');
  await build({
    entryPoints: [join(root, 'src/engine/data/index.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'warning',
  });
  const data = createRequire(import.meta.url)(outfile);

  const measure = (split, dataset, train) => {
    const it = new data.BatchIterator(split, { dataset, batchSize: BATCH, train, seed: 1 });
    let best = 0;
    for (let epoch = 0; epoch < 3; epoch++) {
      const t0 = process.hrtime.bigint();
      let n = 0;
      for (const b of it.epoch(epoch)) n += b.size;
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      best = Math.max(best, n / s);
    }
    return best;
  };

  const rows = [];
  let t0 = Date.now();
  const cifar = data.syntheticSplit('cifar10', 50000, 0);
  console.log(`synthetic CIFAR-sized set: 50000 images, generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  rows.push(['CIFAR-sized synthetic (50000)', measure(cifar, 'cifar10', true), measure(cifar, 'cifar10', false)]);

  const fmnistDir = '/usr/share/datasets/fashion-mnist';
  if (existsSync(join(fmnistDir, 'train-images-idx3-ubyte.gz'))) {
    t0 = Date.now();
    const fm = await data.loadDataset('fashion-mnist', { dataDir: fmnistDir, cacheDir: join(work, 'cache'), allowDownload: false });
    console.log(`FashionMNIST from ${fm.source}: ${fm.train.n} + ${fm.test.n} images, loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    rows.push([`FashionMNIST train (${fm.train.n})`, measure(fm.train, 'fashion-mnist', true), measure(fm.train, 'fashion-mnist', false)]);
  } else {
    console.log(`FashionMNIST: skipped, ${fmnistDir} is absent (apt-get install dataset-fashion-mnist)`);
  }

  console.log(
    `\nbatch ${BATCH}, best of 3 epochs, one thread; training consumes ${consume} images/s (assumed: ResNet-20 on wasm${arg ? ', from --consume' : ''})`,
  );
  console.log('set'.padEnd(34) + 'augmented img/s'.padStart(16) + 'ratio'.padStart(9) + 'eval img/s'.padStart(13));
  let ok = true;
  for (const [name, aug, ev] of rows) {
    const ratio = aug / consume;
    ok &&= ratio >= REQUIRED_RATIO;
    console.log(name.padEnd(34) + Math.round(aug).toString().padStart(16) + `${ratio.toFixed(0)}x`.padStart(9) + Math.round(ev).toString().padStart(13));
  }
  console.log(ok ? `OK: every set is >= ${REQUIRED_RATIO}x the training consumption` : `FAIL: below ${REQUIRED_RATIO}x the training consumption`);
  if (!ok) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
