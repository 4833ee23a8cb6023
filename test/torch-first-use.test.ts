/**
 * The torch backend's first-use build (src/engine/tfjs/torch/first-use-build.ts), with stand-in
 * build scripts in a temporary "installed extension" folder: whether an addon is there, the
 * outcome of a build that succeeds, says why not, or crashes, the same from the synchronous (worker)
 * and the child-process (editor) paths, and no script shipped: nothing to build.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildOutcome, buildTorchAddon, buildTorchAddonSync, torchAddonBuilt, userAddonDir } from '../src/engine/tfjs/torch/first-use-build';

/** A dist/ folder whose build script runs `body` (an ES module) with the real script's arguments. */
function installed(body: string): string {
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-first-use-'));
  fs.mkdirSync(path.join(dist, 'torch-backend', 'src'), { recursive: true });
  fs.writeFileSync(path.join(dist, 'torch-backend', 'build-torch-backend.mjs'), body);
  return dist;
}

const ARGS_ECHO = `const a = process.argv.slice(2); const out = a[a.indexOf('--out') + 1];
import('node:fs').then((fs) => { fs.mkdirSync(out, { recursive: true }); fs.writeFileSync(out + '/regbench_torch.node', 'x');
console.log('compiling...'); console.log(JSON.stringify({ path: out + '/regbench_torch.node', args: a })); });`;

test('a successful first-use build reports the addon it wrote in the per-user folder, from the worker and the editor paths alike', async (t) => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-first-use-cache-'));
  const saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
  t.after(() => (saved === undefined ? delete process.env.XDG_CACHE_HOME : (process.env.XDG_CACHE_HOME = saved)));
  const dist = installed(ARGS_ECHO);
  assert.equal(torchAddonBuilt(dist), false, 'nothing built yet');
  const expected = path.join(cache, 'regbench', 'torch-backend', 'addon', 'regbench_torch.node');
  assert.equal(path.join(userAddonDir(), 'regbench_torch.node'), expected);
  const viaEditor = await buildTorchAddon(dist, '/opt/py/bin/python3');
  assert.deepEqual(viaEditor, { path: expected, message: `torch backend: built ${expected}` });
  assert.equal(torchAddonBuilt(dist), true, 'the per-user addon counts as built');
  assert.deepEqual(buildTorchAddonSync(dist, undefined), viaEditor);
});

test('a build that cannot happen says why in one line; a crashing one names its error; none shipped: nothing to build', async () => {
  const why = installed(`console.log(JSON.stringify({ path: null, reason: 'torch backend: not built (no libtorch found; install libtorch-dev)' }));`);
  assert.equal((await buildTorchAddon(why, undefined))?.message, 'torch backend: not built (no libtorch found; install libtorch-dev)');
  assert.equal(buildTorchAddonSync(why, undefined)?.path, null);
  const crash = installed(`throw new Error('g++ exploded');`);
  const crashed = await buildTorchAddon(crash, undefined);
  assert.equal(crashed?.path, null);
  assert.match(crashed?.message ?? '', /^torch backend: build failed: .*g\+\+ exploded/);
  assert.match(buildTorchAddonSync(crash, undefined)?.message ?? '', /^torch backend: build failed:/);
  const none = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-first-use-none-'));
  assert.equal(buildTorchAddon(none, undefined), null);
  assert.equal(buildTorchAddonSync(none, undefined), null);
  assert.match(buildOutcome('garbage').message, /unexpected output/);
});
