/**
 * What the .vsix carries: `vsce ls` (the list `vsce package` zips, after .vscodeignore) against
 * an allow-list. One package serves every platform, so nothing built for one OS or CPU may be in
 * it (a native addon, esbuild's platform binary), nor debug files, sources, tests or source maps.
 * Then the listed files are copied to a folder of their own, away from any node_modules, the way
 * an installed extension sits, and the packaged CLI trains a TypeScript variant there for one step:
 * the variant compiles with the packaged compiler (esbuild-wasm) and runs.
 * Needs `npm run build` first (dist/).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');

/** Everything the package may hold; a file that matches none fails the test. */
const ALLOWED: RegExp[] = [
  /^(package\.json|README\.md|LICENSE(\.md|\.txt)?|CHANGELOG\.md)$/,
  /^bin\/regbench\.js$/,
  /^dist\/(extension|worker|cli|prepare-data)\.js$/,
  /^dist\/tfjs-backend-wasm(-simd|-threaded-simd)?\.wasm$/,
  /^dist\/node_modules\/esbuild-wasm\/(package\.json|LICENSE\.md|esbuild\.wasm|lib\/browser\.js)$/,
  /^dist\/pytorch\/[\w.-]+\.(py|json)$/,
  /^dist\/types\/node_modules\/(@tensorflow\/tfjs-core|@webgpu\/types|@types\/[\w-]+)\/.*(\.d\.ts|package\.json|LICENSE(\.\w+)?)$/i,
  /^templates\/(README\.md|regbench\.d\.ts|(regularizers|norms)\/[\w-]+\.(ts|py))$/,
  /^media\/(regbench\.svg|dashboard\.(js|css)|walkthrough\/[\w-]+\.md)$/,
  /^docs\/([\w-]+\.md|images\/[\w-]+\.png)$/,
  // The torch backend as sources and its build script: built on the user's machine on first use.
  /^dist\/torch-backend\/(build-torch-backend\.mjs|src\/[\w.-]+\.(cc|h))$/,
  // bench/gpu-check.sh's step timers (JavaScript and Python: the same on every platform).
  /^dist\/bench\/(gpu-step\.js|torch_step\.py)$/,
];

/** What must be there for the extension to run a TypeScript variant on any platform. */
const REQUIRED = [
  'dist/extension.js',
  'dist/worker.js',
  'dist/cli.js',
  'bin/regbench.js',
  'dist/node_modules/esbuild-wasm/esbuild.wasm',
  'dist/node_modules/esbuild-wasm/lib/browser.js',
  'dist/tfjs-backend-wasm.wasm',
];

function packagedFiles(): string[] {
  const vsce = path.join(root, 'node_modules', '@vscode', 'vsce', 'vsce');
  const r = spawnSync(process.execPath, [vsce, 'ls', '--no-dependencies'], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `vsce ls failed: ${r.stderr}`);
  return r.stdout
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

const files = packagedFiles();

test('the .vsix carries only what the extension runs, nothing built for one platform', () => {
  assert.ok(fs.existsSync(path.join(root, 'dist', 'extension.js')), 'dist/ is missing: run npm run build');
  const unexpected = files.filter((f) => !ALLOWED.some((re) => re.test(f)));
  assert.deepEqual(unexpected, [], `unexpected files in the package (add them to .vscodeignore, or to ALLOWED if they belong):\n${unexpected.join('\n')}`);
  const missing = REQUIRED.filter((f) => !files.includes(f));
  assert.deepEqual(missing, [], 'files the extension needs are not packaged');
  // Spelt out, should ALLOWED ever be widened carelessly.
  for (const f of files) {
    assert.doesNotMatch(f, /\.node$|\.map$|(^|\/)\.scratch\/|@esbuild\/|esbuild\/bin\/|^dist\/test\//, `${f} must not be packaged`);
  }
});

test('the packaged files, installed alone, compile and train a TypeScript variant', (t) => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-vsix-'));
  t.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
  const ext = path.join(tmp, 'extension');
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(ext, f)), { recursive: true });
    fs.copyFileSync(path.join(root, f), path.join(ext, f));
  }
  const cli = path.join(ext, 'bin', 'regbench.js');
  const data = path.join(tmp, 'data');
  const env = { ...process.env, REGBENCH_DATA: data, NODE_PATH: '' };
  const synth = spawnSync(process.execPath, [cli, 'data', 'synth', '--dataset', 'cifar10', '--out', data, '--train', '128', '--test', '128'], {
    cwd: tmp,
    env,
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(synth.status, 0, `data synth: ${synth.stderr}`);
  // A variant of the user's, outside the extension, importing a file of its own.
  const variants = path.join(tmp, 'variants');
  fs.mkdirSync(variants);
  fs.writeFileSync(path.join(variants, 'weight.ts'), 'export const WEIGHT: number = 0.1;\n');
  const variant = path.join(variants, 'my-reg.ts');
  fs.writeFileSync(
    variant,
    [
      "import * as tf from '@tensorflow/tfjs-core';",
      "import { WEIGHT } from './weight';",
      'export function computeRegularization(model: unknown, inputs: tf.Tensor, outputs: tf.Tensor): tf.Scalar {',
      '  return tf.mul(tf.mean(tf.square(outputs)), WEIGHT) as tf.Scalar;',
      '}',
      '',
    ].join('\n'),
  );
  const run = spawnSync(
    process.execPath,
    [
      cli,
      'run',
      variant,
      '--bench',
      'resnet20-cifar10',
      '--budget',
      'smoke',
      '--train-subset',
      '128',
      '--test-subset',
      '128',
      '--data-dir',
      data,
      '--workspace',
      tmp,
    ],
    { cwd: tmp, env, encoding: 'utf8', timeout: 600_000 },
  );
  t.diagnostic(run.stdout.trim().split('\n').slice(-3).join(' | '));
  assert.equal(run.status, 0, `the run failed:\n${run.stdout}\n${run.stderr}`);
  const runs = fs.readdirSync(path.join(tmp, '.regbench', 'runs'));
  assert.equal(runs.length, 1);
  const record = JSON.parse(fs.readFileSync(path.join(tmp, '.regbench', 'runs', runs[0], 'record.json'), 'utf8')) as { status: string };
  assert.equal(record.status, 'completed');
});
