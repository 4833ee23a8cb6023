/**
 * The variant compiler (src/engine/tfjs/variant-compiler.ts): esbuild's WebAssembly build run in
 * this process, with a plugin doing the file system work. A template compiles, a variant's own
 * files are bundled (TypeScript's `./x.js` naming `./x.ts` included), a syntax error and a missing
 * import name file:line:column, and nothing is left on the global object.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { compileVariantSource, esbuildWasmDir } from '../src/engine/tfjs/variant-compiler';
import { loadVariant, VariantError } from '../src/engine/tfjs/variant-loader';

const root = path.resolve(__dirname, '..', '..');
const PROVIDED = ['@tensorflow/tfjs-core', '@tensorflow/tfjs', 'regbench'];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-compiler-'));
test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(tmp, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

test('a template compiles to CommonJS with tfjs-core left to the worker (first call includes starting the WebAssembly)', async (t) => {
  const entry = path.join(root, 'templates', 'norms', 'groupnorm.ts');
  const start = performance.now();
  const first = await compileVariantSource(entry, `${entry}.regbench-compiled.js`, PROVIDED);
  const firstMs = performance.now() - start;
  const again = performance.now();
  await compileVariantSource(path.join(root, 'templates', 'regularizers', 'confidence-penalty.ts'), 'x.js', PROVIDED);
  t.diagnostic(
    `esbuild-wasm from ${path.relative(root, esbuildWasmDir()) || esbuildWasmDir()}: first compile ${firstMs.toFixed(0)} ms (with start-up), next ${(performance.now() - again).toFixed(0)} ms`,
  );
  assert.match(first.code, /require\("@tensorflow\/tfjs-core"\)/);
  assert.match(first.code, /CustomNorm/);
  assert.doesNotMatch(first.code, /\breadonly\b|: tf\.Variable/, 'the types are gone');
  assert.ok(first.map && JSON.parse(first.map).mappings, 'a source map comes with it');
});

test("a variant's own files are bundled, `./x.js` finding x.ts, and a package from its node_modules", async () => {
  write('multi/node_modules/tiny-pkg/package.json', '{"name":"tiny-pkg","main":"main.js"}');
  write('multi/node_modules/tiny-pkg/main.js', 'exports.three = 3;');
  write('multi/helpers/scale.ts', 'export const scale = (x: number): number => x * 2;');
  write('multi/helpers/index.ts', "export { scale } from './scale.js';");
  const entry = write(
    'multi/variant.ts',
    "import { scale } from './helpers';\nimport { three } from 'tiny-pkg';\nimport * as fs from 'node:fs';\nexport function computeRegularization(): number { return scale(three) + (fs ? 0 : 1); }\n",
  );
  const out = await compileVariantSource(entry, `${entry}.js`, PROVIDED);
  const mod: { exports: { computeRegularization?: () => number } } = { exports: {} };
  new Function('module', 'exports', 'require', out.code)(mod, mod.exports, require);
  assert.equal(mod.exports.computeRegularization?.(), 6);
});

test('a syntax error names file:line:column', async () => {
  const entry = write('broken.ts', 'export function computeRegularization() {\n  return 1 +;\n}\n');
  await assert.rejects(loadVariant(entry), (err: unknown) => {
    assert.ok(err instanceof VariantError);
    assert.equal(err.file, entry);
    assert.equal(err.line, 2);
    assert.match(err.message, new RegExp(`^${entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2:\\d+: `));
    return true;
  });
});

test('an import that does not exist names the importing file and line', async () => {
  const entry = write('missing.ts', "import { x } from './nowhere';\nexport function computeRegularization() { return x; }\n");
  await assert.rejects(loadVariant(entry), (err: unknown) => {
    assert.ok(err instanceof VariantError);
    assert.equal(err.line, 1);
    assert.match(err.message, /missing\.ts:1:\d+: Could not resolve "\.\/nowhere"/);
    return true;
  });
});

test('the WebAssembly compiler leaves the global object alone', async () => {
  await compileVariantSource(path.join(root, 'templates', 'regularizers', 'blank.ts'), 'b.js', PROVIDED);
  const g = globalThis as Record<string, unknown>;
  for (const name of ['self', 'Go', 'fs', 'path', 'esbuild']) assert.equal(g[name], undefined, `globalThis.${name}`);
});
