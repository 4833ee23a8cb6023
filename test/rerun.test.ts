/**
 * Reproducible runs: a run records what repeats it (Regbench's version, CPU model, git state, the
 * exact command), and `regbench rerun` repeats it and says whether the result is identical; when
 * the variant file changed since, the rerun uses the run's snapshot and says so.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'bin', 'regbench.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-rerun-'));
const workspace = path.join(tmp, 'ws');
const data = path.join(tmp, 'c10');
const env = { ...process.env, REGBENCH_OFFLINE: '1', REGBENCH_DATA: '' };

function regbench(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args, '--workspace', workspace], { encoding: 'utf8', env, cwd: workspace, timeout: 240_000 });
}

function listed(): Array<{ id: string; rerunOf?: string; env?: Record<string, unknown>; bestTestAcc: number }> {
  return regbench(['list', '--json'])
    .stdout.trim()
    .split('\n')
    .map((l) => JSON.parse(l));
}

before(() => {
  fs.mkdirSync(workspace, { recursive: true });
  const r = spawnSync(process.execPath, [cli, 'data', 'synth', '--dataset', 'cifar10', '--out', data, '--train', '256', '--test', '64'], {
    encoding: 'utf8',
    env,
  });
  assert.equal(r.status, 0, r.stderr);
  fs.copyFileSync(path.join(root, 'templates', 'regularizers', 'confidence-penalty.ts'), path.join(workspace, 'my-reg.ts'));
});

test('a run records what repeats it, and a rerun of it is identical', () => {
  const first = regbench([
    'run',
    'my-reg.ts',
    '--bench',
    'resnet20-cifar10',
    '--budget',
    'smoke',
    '--data-dir',
    data,
    '--train-subset',
    '256',
    '--test-subset',
    '64',
    '--seed',
    '3',
  ]);
  assert.equal(first.status, 0, first.stderr);
  const [original] = listed();
  const e = original.env ?? {};
  assert.equal(e.regbenchVersion, JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version);
  assert.equal(typeof e.cpuModel, 'string');
  assert.match(
    String(e.command),
    /^regbench run .*my-reg\.ts --bench resnet20-cifar10 --budget smoke --seed 3 --train-subset 256 --test-subset 64 --data-dir /,
  );
  const again = regbench(['rerun', original.id]);
  assert.equal(again.status, 0, again.stderr);
  assert.match(again.stderr, /is identical to .*: same accuracy every epoch/);
  const rerun = listed().find((r) => r.rerunOf === original.id);
  assert.ok(rerun);
  assert.equal(rerun.bestTestAcc, original.bestTestAcc);
});

test('a rerun after the variant file changed uses the snapshot and says so', () => {
  const [original] = listed();
  fs.appendFileSync(path.join(workspace, 'my-reg.ts'), '\n// edited after the run\n');
  const again = regbench(['rerun', original.id]);
  assert.match(again.stderr, /my-reg\.ts has changed since run .* continues with the source it started with \(.*variant\.ts\)/);
  assert.equal(again.status, 0, again.stderr);
});
