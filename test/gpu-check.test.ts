/**
 * bench/gpu-check.sh's CPU-only part (`--device cpu`), so that the script a GPU machine runs for
 * the first time cannot rot: built addon, kernel tests, parity of resnet20-cifar10 with both
 * engines, a step timing, and a smoke run on synthetic data, ending in one table with every row
 * 'ok'. Skipped with the reason where the torch backend cannot be built (no libtorch / g++).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { torchAddonCandidates } from '../src/engine/tfjs/torch/addon';

const root = join(__dirname, '..', '..');
// The addon is not loaded here: the script loads it in its own processes (this process exited
// with SIGSEGV at its end once libtorch was loaded into it without any tensor made).
const addon = torchAddonCandidates().find((p) => existsSync(p));
const skip = addon ? false : 'torch backend unavailable: no regbench_torch.node (built by `npm run build` where g++ and libtorch are installed)';

test('bench/gpu-check.sh --device cpu: every row of its table is ok', { skip, timeout: 20 * 60_000 }, () => {
  if (skip) console.log(`# ${skip}`);
  const r = spawnSync(
    'bash',
    [join(root, 'bench/gpu-check.sh'), '--device', 'cpu', '--python', '/usr/bin/python3', '--benches', 'resnet20-cifar10', '--batch', '16', '--steps', '1'],
    { encoding: 'utf8', timeout: 20 * 60_000 },
  );
  const table = r.stdout.slice(r.stdout.indexOf('| check |'));
  console.log(
    table
      .split('\n')
      .map((l) => `# ${l}`)
      .join('\n'),
  );
  const rows = table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| check'));
  for (const name of ['machine', 'build', 'kernel tests', 'parity resnet20-cifar10', 'step resnet20, batch 16', 'run resnet20-cifar10']) {
    assert.ok(
      rows.some((l) => l.startsWith(`| ${name}`)),
      `a row '${name}' in:\n${table}\n${r.stderr}`,
    );
  }
  for (const l of rows) assert.match(l, /^\| [^|]+ \| (ok|info) \|/, `a row that is not ok: ${l}`);
  assert.equal(r.status, 0, `exit status ${r.status}`);
});
