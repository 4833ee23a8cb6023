import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createVariant, listTemplates } from '../src/runs/variant-templates';

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
  const names = /export type \{([^}]+)\}/.exec(api)![1].split(',').map((n) => n.trim());
  for (const name of names) assert.match(dts, new RegExp(`export (interface|type) ${name}\\b`), `${name} is missing from templates/regbench.d.ts`);
});
