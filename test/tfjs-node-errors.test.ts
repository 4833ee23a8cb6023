/**
 * The one-line explanations of @tensorflow/tfjs-node(-gpu) load failures (Node 23+, another Node
 * ABI such as the editor's Electron, missing CUDA 11.2 / cuDNN 8.1, libtensorflow not downloaded,
 * not installed), and what selecting that backend here says: this machine has neither package.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../src/engine/tfjs/backend';
import { explainTfjsNodeFailure } from '../src/engine/tfjs/tfjs-node-errors';

const GPU = '@tensorflow/tfjs-node-gpu';

test('another Node ABI (the editor runs the worker on Electron): names both and the way out', () => {
  const msg =
    "The module '/x/tfjs_binding.node' was compiled against a different Node.js version using NODE_MODULE_VERSION 115. This version of Node.js requires NODE_MODULE_VERSION 128.";
  const line = explainTfjsNodeFailure(GPU, msg, { node: '20.18.0', electron: '32.2.6' });
  assert.match(line, /another Node ABI than the editor's Electron 32\.2\.6/);
  assert.match(line, /--backend wasm\+native/);
  assert.equal(line.includes('\n'), false);
});

test('missing CUDA libraries: the versions tfjs-node-gpu needs and the library that was not found', () => {
  const msg = 'libcudart.so.11.0: cannot open shared object file: No such file or directory';
  assert.match(explainTfjsNodeFailure(GPU, msg, { node: '20.18.0' }), /needs CUDA 11\.2 and cuDNN 8\.1 \(libcudart\.so\.11\.0 not found\)/);
});

test('libtensorflow not downloaded at install', () => {
  const msg = 'libtensorflow.so.2: cannot open shared object file';
  assert.match(
    explainTfjsNodeFailure('@tensorflow/tfjs-node', msg, { node: '20.18.0' }),
    /libtensorflow is missing \(it is downloaded when the package installs/,
  );
});

test('Node 23 and later: its last release does not load there', () => {
  const line = explainTfjsNodeFailure('@tensorflow/tfjs-node', 'util.isNullOrUndefined is not a function', { node: '23.4.0' });
  assert.match(line, /does not load on Node 23 and later \(this is Node 23\.4\.0\): use Node 20 or 22/);
});

test('not installed; anything else keeps the loader first line', () => {
  assert.match(
    explainTfjsNodeFailure(GPU, "Cannot find module '@tensorflow/tfjs-node-gpu'\nRequire stack:\n- /x", { node: '20.18.0' }),
    /is not installed: `npm install @tensorflow\/tfjs-node-gpu`/,
  );
  const other = explainTfjsNodeFailure(GPU, 'something odd\nat line 2', { node: '20.18.0' });
  assert.equal(
    other,
    `cannot load ${GPU} (something odd); or use the native path (--backend wasm+native), which needs no download and loads in the editor too`,
  );
});

test('--backend tensorflow-gpu here (not installed) fails with one explained line', async () => {
  await assert.rejects(initBackend('tensorflow-gpu'), (e: Error) => {
    assert.match(e.message, /^backend 'tensorflow-gpu' unavailable: @tensorflow\/tfjs-node-gpu is not installed/);
    assert.equal(e.message.includes('\n'), false, e.message);
    return true;
  });
});
