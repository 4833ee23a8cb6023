// Bundles Regbench with esbuild: the extension, the training worker, the CLI, the webview and the
// tests, each separately. TensorFlow.js is bundled into the worker only (never the extension).
import { build } from 'esbuild';
import { buildNative } from './build-native.mjs';
import { buildTorchBackend } from './build-torch-backend.mjs';
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const production = process.argv.includes('--production');

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: production ? false : 'linked',
  logLevel: 'warning',
  // tfjs-core's gradients and chained ops are only published as ES modules; resolving every
  // package through its ES entry keeps a single copy of tfjs-core in each bundle.
  mainFields: ['module', 'main'],
  // Native TensorFlow bindings are optional and loaded at run time when installed.
  external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'vscode', 'esbuild', 'playwright-core'],
};

function exists(p) {
  return existsSync(join(root, p));
}

function findTests(dir) {
  const out = [];
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (/\.test\.ts$/.test(name)) out.push(p);
  }
  return out;
}

// Clean outputs, except the test bundles: `npm run package` runs inside the E2E test, while the
// other test bundles wait their turn (they are rewritten below anyway).
mkdirSync(dist, { recursive: true });
for (const entry of readdirSync(dist)) {
  if (entry !== 'test') rmSync(join(dist, entry), { recursive: true, force: true });
}

const jobs = [];
const entries = [
  ['src/engine/tfjs/worker.ts', 'worker.js'],
  ['src/cli/main.ts', 'cli.js'],
  ['src/extension.ts', 'extension.js'],
  ['src/engine/pytorch/prepare-data.ts', 'prepare-data.js'],
  ['bench/gpu-step.ts', 'bench/gpu-step.js'],
];
for (const [src, out] of entries) {
  if (exists(src)) jobs.push(build({ ...common, entryPoints: [join(root, src)], outfile: join(dist, out) }));
}
if (exists('webview/main.ts')) {
  jobs.push(
    build({
      ...common,
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
      external: [],
      entryPoints: [join(root, 'webview/main.ts')],
      outfile: join(root, 'media/dashboard.js'),
      sourcemap: false,
    }),
  );
}
const tests = findTests(join(root, 'test'));
if (tests.length) {
  jobs.push(
    build({
      ...common,
      entryPoints: tests,
      outdir: join(dist, 'test'),
      outbase: join(root, 'test'),
    }),
  );
}
// The extension-host tests: the suite the host loads (--extensionTestsPath), its launcher and the
// fixture workspace maker (test/extension-host/; npm run test:extension-host).
if (exists('test/extension-host/suite.ts')) {
  jobs.push(
    build({
      ...common,
      external: [...common.external, '@vscode/test-electron'],
      entryPoints: ['suite', 'launch', 'workspace'].map((f) => join(root, 'test/extension-host', `${f}.ts`)),
      outdir: join(dist, 'test-host'),
    }),
  );
}
// Every bundle is attempted so that one broken entry does not hide the state of the others.
const results = await Promise.allSettled(jobs);
const failed = results.filter((r) => r.status === 'rejected');

// The wasm backend's binaries sit beside the worker bundle.
const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
for (const f of readdirSync(wasmDir)) {
  if (f.endsWith('.wasm')) cpSync(join(wasmDir, f), join(dist, f));
}
// The worker compiles TypeScript variants with esbuild's WebAssembly build at run time
// (src/engine/tfjs/variant-compiler.ts): the same two files on every platform, beside the bundles.
const esbuildWasm = join(root, 'node_modules/esbuild-wasm');
for (const f of ['package.json', 'LICENSE.md', 'esbuild.wasm', 'lib/browser.js']) {
  mkdirSync(dirname(join(dist, 'node_modules/esbuild-wasm', f)), { recursive: true });
  cpSync(join(esbuildWasm, f), join(dist, 'node_modules/esbuild-wasm', f), { dereference: true });
}
// The native training kernels (dist/native), where a compiler and libtorch exist.
await buildNative({ root, dist });
// The torch backend's addon (dist/native), and its build script with its sources
// (dist/torch-backend), which build it on first use or on a GPU machine (bench/gpu-check.sh).
buildTorchBackend({ src: join(root, 'native/torch_backend'), out: join(dist, 'native') });
mkdirSync(join(dist, 'torch-backend'), { recursive: true });
cpSync(join(root, 'scripts/build-torch-backend.mjs'), join(dist, 'torch-backend/build-torch-backend.mjs'));
cpSync(join(root, 'native/torch_backend'), join(dist, 'torch-backend/src'), { recursive: true });
// bench/gpu-check.sh runs from dist/ alone on a GPU machine: its PyTorch step timer goes along.
cpSync(join(root, 'bench/torch_step.py'), join(dist, 'bench/torch_step.py'));
// Editor types for TypeScript variants: the declarations of tfjs-core and of the packages they
// reference, in a node_modules tree of their own (dist/types) that the tsconfig.json Regbench
// writes beside variants points at. Declarations only: nothing here is loaded at run time.
for (const pkg of ['@tensorflow/tfjs-core', '@webgpu/types', '@types/long', '@types/offscreencanvas', '@types/seedrandom']) {
  const from = join(root, 'node_modules', pkg);
  cpSync(from, join(dist, 'types', 'node_modules', pkg), {
    recursive: true,
    dereference: true,
    filter: (p) =>
      statSync(p).isDirectory() ? !/[\\/](src|miniprogram|node_modules)$/.test(p) : /(\.d\.ts|package\.json|LICENSE)$/.test(p) && !p.endsWith('_test.d.ts'),
  });
}
// The Python worker ships as source beside the bundles.
if (exists('src/engine/pytorch')) {
  cpSync(join(root, 'src/engine/pytorch'), join(dist, 'pytorch'), {
    recursive: true,
    filter: (p) => !p.includes('__pycache__') && !p.endsWith('.ts') && !/[\\/]tests([\\/]|$)/.test(p),
  });
  // The protocol files the TypeScript side imports; the worker reads them beside itself (protocol.py).
  for (const f of ['protocol.json', 'events.schema.json']) cpSync(join(root, 'src/protocol', f), join(dist, 'pytorch', f));
}
if (failed.length) {
  console.error(`build: ${failed.length} bundle(s) failed`);
  process.exitCode = 1;
}
console.log(`built ${relative(process.cwd(), dist) || 'dist'}${tests.length ? ` (+${tests.length} test bundles)` : ''}`);
