import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createVariant, listTemplates, writeVariantTsconfig } from '../src/variants/variant-templates';

const root = path.resolve(__dirname, '..', '..');
const templatesDir = path.join(root, 'templates');

test('a new TypeScript variant gets the regbench type declarations beside it; Python ones do not', () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-scaffold-'));
  const ts = listTemplates(templatesDir, 'regularizers').find((t) => t.file.endsWith('confidence-penalty.ts'));
  const py = listTemplates(templatesDir, 'norms').find((t) => t.file.endsWith('groupnorm.py'));
  assert.ok(ts && py, 'templates are listed');
  const created = createVariant(ws, 'my-penalty', ts);
  assert.equal(created, path.join(ws, 'variants', 'my-penalty.ts'));
  assert.equal(fs.readFileSync(created, 'utf8'), fs.readFileSync(ts.file, 'utf8'));
  assert.ok(fs.existsSync(path.join(ws, 'variants', 'regbench.d.ts')));
  assert.throws(() => createVariant(ws, 'my-penalty', ts), /EEXIST/);
  const ws2 = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-scaffold-'));
  createVariant(ws2, 'my-norm', py);
  assert.deepEqual(fs.readdirSync(path.join(ws2, 'variants')), ['my-norm.py']);
});

test('the shipped declarations name every type the engine exports to variants', () => {
  const dts = fs.readFileSync(path.join(templatesDir, 'regbench.d.ts'), 'utf8');
  const api = fs.readFileSync(path.join(root, 'src/engine/tfjs/variant-api.ts'), 'utf8');
  const names = /export type \{([^}]+)\}/
    .exec(api)![1]
    .split(',')
    .map((n) => n.trim());
  for (const name of names) assert.match(dts, new RegExp(`export (interface|type) ${name}\\b`), `${name} is missing from templates/regbench.d.ts`);
});

/** dist/types as the build writes it (the tests run after `npm run build`). */
const typesDir = path.join(root, 'dist', 'types');

test('a new TypeScript variant type-checks against the declarations shipped in dist/types, with nothing installed in the workspace', () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-scaffold-'));
  for (const [kind, file] of [
    ['regularizers', 'confidence-penalty.ts'],
    ['norms', 'groupnorm.ts'],
  ] as const) {
    const t = listTemplates(templatesDir, kind).find((x) => x.file.endsWith(file));
    assert.ok(t);
    createVariant(ws, path.basename(file, '.ts'), t, typesDir);
  }
  const variants = path.join(ws, 'variants');
  assert.ok(fs.existsSync(path.join(variants, 'tsconfig.json')));
  // A use that only type-checks with tfjs-core's real declarations (a misspelt op must fail).
  fs.writeFileSync(
    path.join(variants, 'probe.ts'),
    "import * as tf from '@tensorflow/tfjs-core';\nexport const y: tf.Tensor2D = tf.logSoftmax(tf.zeros([2, 3]) as tf.Tensor2D);\n",
  );
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const ok = spawnSync(process.execPath, [tsc, '-p', path.join(variants, 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(ok.status, 0, ok.stdout + ok.stderr);
  fs.writeFileSync(path.join(variants, 'probe.ts'), "import * as tf from '@tensorflow/tfjs-core';\nexport const y = tf.logSoftmaxx(tf.zeros([2, 3]));\n");
  const bad = spawnSync(process.execPath, [tsc, '-p', path.join(variants, 'tsconfig.json')], { encoding: 'utf8' });
  assert.match(bad.stdout, /logSoftmaxx/);
});

test("the variants' tsconfig.json follows the extension when it moves, and a user's own is left alone", () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-tsconfig-')), 'variants');
  assert.equal(writeVariantTsconfig(dir, '/ext/one/dist/types'), 'written');
  assert.equal(writeVariantTsconfig(dir, '/ext/one/dist/types'), 'current');
  assert.equal(writeVariantTsconfig(dir, '/ext/two/dist/types'), 'updated');
  assert.match(fs.readFileSync(path.join(dir, 'tsconfig.json'), 'utf8'), /\/ext\/two\/dist\/types\/node_modules\/@tensorflow\/tfjs-core/);
  fs.writeFileSync(path.join(dir, 'tsconfig.json'), '{ "compilerOptions": { "strict": true } }\n');
  assert.equal(writeVariantTsconfig(dir, '/ext/three/dist/types'), 'foreign');
  assert.equal(fs.readFileSync(path.join(dir, 'tsconfig.json'), 'utf8'), '{ "compilerOptions": { "strict": true } }\n');
});
