/**
 * `regbench doctor` (one line per capability, each with what was found or the way out) and the
 * refusal of `--device cuda` for a TypeScript variant where libtorch has no CUDA device: one
 * line, exit 2, no run created.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTorchAddon } from '../src/engine/tfjs/torch/addon';

const root = join(__dirname, '..', '..');
const cli = join(root, 'dist', 'cli.js');

test('regbench doctor --json: one object per line, each with what, ok and a detail; the torch backend and its CPU fallbacks listed', () => {
  const r = spawnSync(process.execPath, [cli, 'doctor', '--json', '--python', '/usr/bin/python3'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { what: string; ok: boolean; detail: string });
  for (const l of lines)
    assert.ok(typeof l.what === 'string' && typeof l.ok === 'boolean' && l.detail.length > 0 && !l.detail.includes('\n'), JSON.stringify(l));
  for (const what of [
    'Node.js',
    'C++ compiler',
    "backend 'wasm+native'",
    "backend 'torch'",
    'Python with PyTorch',
    'Slurm',
    'dataset cifar10',
    'dataset fashion-mnist',
  ]) {
    assert.ok(
      lines.some((l) => l.what.startsWith(what)),
      `a line about ${what}`,
    );
  }
  for (const l of lines.filter((x) => !x.ok)) assert.ok(l.detail.length > 20, `a way out for ${l.what}: ${l.detail}`);
  if (loadTorchAddon().addon)
    assert.ok(
      lines.some((l) => l.what === 'torch kernels through the CPU backend' && /Cumsum/.test(l.detail)),
      'the CPU fallbacks listed by name',
    );
});

test(
  '--device cuda for a TypeScript variant without a CUDA device: one line, exit 2, nothing started',
  { skip: (loadTorchAddon().addon?.info().cudaDevices ?? 0) > 0 ? 'this machine has a CUDA device' : false },
  () => {
    const ws = mkdtempSync(join(tmpdir(), 'regbench-device-'));
    try {
      const r = spawnSync(
        process.execPath,
        [cli, 'run', join(root, 'templates/regularizers/blank.ts'), '--bench', 'resnet20-cifar10', '--device', 'cuda', '--workspace', ws],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(r.status, 2);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /--device cuda: (no CUDA device|the torch backend is not available)/);
      assert.equal(existsSync(join(ws, '.regbench')), false, 'no run store created');
      const bad = spawnSync(
        process.execPath,
        [cli, 'run', join(root, 'templates/regularizers/blank.ts'), '--bench', 'resnet20-cifar10', '--device', 'gpu', '--workspace', ws],
        { encoding: 'utf8', timeout: 60_000 },
      );
      assert.equal(bad.status, 2);
      assert.match(bad.stderr, /--device must be cpu, cuda or cuda:N/);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  },
);
