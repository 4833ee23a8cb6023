/**
 * The difficulty of the synthetic datasets (src/engine/data/synthetic.ts, `regbench data synth
 * --difficulty`): seeded and deterministic; 0 writes the easy data byte for byte; training labels
 * are flipped at 0.2 x difficulty (test labels never); class overlap blends a second class in, so a
 * nearest-colour classifier (the easiest cue of the easy data) loses accuracy as difficulty grows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadDataset, writeSyntheticDataset, type DataSplit } from '../src/engine/data';
import { difficultyParams, LABEL_NOISE_AT_FULL_DIFFICULTY } from '../src/engine/data/synthetic';
import type { DatasetId } from '../src/protocol/benchmarks';

const cli = join(__dirname, '..', '..', 'bin', 'regbench.js');

async function synth(
  dataset: DatasetId,
  opts: { seed?: number; difficulty?: number; train?: number; test?: number },
): Promise<{ dir: string; train: DataSplit; test: DataSplit }> {
  const dir = mkdtempSync(join(tmpdir(), 'regbench-difficulty-'));
  await writeSyntheticDataset(dataset, dir, { train: opts.train ?? 400, test: opts.test ?? 200, seed: opts.seed, difficulty: opts.difficulty });
  const d = await loadDataset(dataset, { dataDir: dir, cacheDir: join(dir, 'cache'), allowDownload: false });
  return { dir, train: d.train, test: d.test };
}

/** Every file written, concatenated in name order (the bytes on disk). */
function bytesOf(dir: string): Buffer {
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true })
      .filter((e) => e.name !== 'cache')
      .sort((a, b) => a.name.localeCompare(b.name))
      .flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]));
  return Buffer.concat(walk(dir).map((f) => readFileSync(f)));
}

function flippedFraction(a: Uint8Array, b: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n / a.length;
}

/** Test accuracy of the nearest class-mean colour (mean RGB of an image), centroids from the training split's labels. */
function nearestColourAccuracy(train: DataSplit, test: DataSplit, classes: number): number {
  const meanRgb = (s: DataSplit, i: number): number[] => {
    const sum = [0, 0, 0];
    for (let p = 0; p < 1024; p++) for (let c = 0; c < 3; c++) sum[c] += s.images[(i * 1024 + p) * 3 + c];
    return sum.map((v) => v / 1024);
  };
  const centroids = Array.from({ length: classes }, () => [0, 0, 0, 0]);
  for (let i = 0; i < train.n; i++) {
    const m = meanRgb(train, i);
    const c = centroids[train.labels[i]];
    for (let k = 0; k < 3; k++) c[k] += m[k];
    c[3]++;
  }
  let right = 0;
  for (let i = 0; i < test.n; i++) {
    const m = meanRgb(test, i);
    let best = -1;
    let bestD = Infinity;
    centroids.forEach((c, k) => {
      const d = (m[0] - c[0] / c[3]) ** 2 + (m[1] - c[1] / c[3]) ** 2 + (m[2] - c[2] / c[3]) ** 2;
      if (d < bestD) [best, bestD] = [k, d];
    });
    if (best === test.labels[i]) right++;
  }
  return right / test.n;
}

test('the same seed and difficulty write the same bytes; another seed other bytes; difficulty 0 is the easy data', async () => {
  for (const dataset of ['cifar10', 'fashion-mnist'] as const) {
    const a = await synth(dataset, { seed: 4, difficulty: 0.5 });
    const b = await synth(dataset, { seed: 4, difficulty: 0.5 });
    const c = await synth(dataset, { seed: 5, difficulty: 0.5 });
    assert.ok(bytesOf(a.dir).equals(bytesOf(b.dir)), `${dataset}: deterministic`);
    assert.ok(!bytesOf(a.dir).equals(bytesOf(c.dir)), `${dataset}: the seed matters`);
    const easy = await synth(dataset, { seed: 4 });
    const zero = await synth(dataset, { seed: 4, difficulty: 0 });
    assert.ok(bytesOf(easy.dir).equals(bytesOf(zero.dir)), `${dataset}: difficulty 0 = the easy data`);
    assert.ok(!bytesOf(easy.dir).equals(bytesOf(a.dir)), `${dataset}: difficulty 0.5 changes the data`);
  }
});

test('training labels are flipped at 0.2 x difficulty to another class; test labels never', async () => {
  const n = 3000;
  const easy = await synth('cifar10', { seed: 2, difficulty: 0, train: n, test: 500 });
  for (const d of [0.5, 1]) {
    const hard = await synth('cifar10', { seed: 2, difficulty: d, train: n, test: 500 });
    const p = LABEL_NOISE_AT_FULL_DIFFICULTY * d;
    const f = flippedFraction(easy.train.labels, hard.train.labels);
    // The true classes are drawn from the images' own stream, so the easy labels are the truth.
    assert.ok(Math.abs(f - p) <= 4 * Math.sqrt((p * (1 - p)) / n), `difficulty ${d}: ${f} of the training labels flipped, expected about ${p}`);
    assert.deepEqual(hard.test.labels, easy.test.labels, 'test labels stay true');
  }
  const gray = await synth('fashion-mnist', { seed: 2, difficulty: 1, train: n });
  const grayEasy = await synth('fashion-mnist', { seed: 2, difficulty: 0, train: n });
  const g = flippedFraction(grayEasy.train.labels, gray.train.labels);
  assert.ok(Math.abs(g - 0.2) <= 4 * Math.sqrt(0.16 / n), `fashion-mnist: ${g} flipped`);
});

test('class overlap: a nearest-colour classifier loses accuracy as the difficulty grows', async () => {
  const acc: number[] = [];
  for (const d of [0, 0.5, 1]) {
    // Centroids from clean labels (difficulty's label noise would only blur them a little more).
    const { train, test: testSplit } = await synth('cifar10', { seed: 7, difficulty: d, train: 2000, test: 1000 });
    acc.push(nearestColourAccuracy(train, testSplit, 10));
  }
  console.log(`# nearest-colour test accuracy at difficulty 0 / 0.5 / 1: ${acc.map((a) => (100 * a).toFixed(1)).join(' / ')} %`);
  assert.ok(acc[0] > 0.95, `easy data: colour alone separates the classes (${acc[0]})`);
  assert.ok(acc[1] < acc[0] - 0.05 && acc[2] < acc[1] - 0.05, `overlap blurs the classes: ${acc.join(', ')}`);
});

test('difficulty out of range: a clear message from the library and from regbench data synth', () => {
  assert.throws(() => difficultyParams(1.5, 0), /difficulty must be a number from 0 to 1, got 1\.5/);
  const r = spawnSync(
    process.execPath,
    [cli, 'data', 'synth', '--dataset', 'cifar10', '--out', mkdtempSync(join(tmpdir(), 'regbench-difficulty-')), '--difficulty', 'hard'],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /--difficulty must be a number from 0 \(easy\) to 1 \(hardest\), got 'hard'/);
});

test('regbench data synth takes --seed 0 (the protocol starts its seeds at 0) and refuses a fractional or non-numeric one', () => {
  const synth = (seed: string) =>
    spawnSync(
      process.execPath,
      [cli, 'data', 'synth', '--dataset', 'cifar100', '--train', '20', '--test', '10', '--seed', seed, '--out', mkdtempSync(join(tmpdir(), 'regbench-seed-'))],
      {
        encoding: 'utf8',
      },
    );
  const zero = synth('0');
  assert.equal(zero.status, 0, zero.stderr);
  for (const bad of ['1.5', 'x']) {
    const r = synth(bad);
    assert.equal(r.status, 2, `--seed ${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--seed must be a whole number \(0 or more\)/);
  }
});
