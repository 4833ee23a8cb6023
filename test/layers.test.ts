/**
 * The layers (.dependency-cruiser.cjs): the real tree crosses none, and each rule bites on a tree
 * made to cross it, so a rule that silently stopped matching would fail here too.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const config = path.join(root, '.dependency-cruiser.cjs');

function cruise(cwd: string, dirs: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [cli, '--config', config, '--output-type', 'err', ...dirs], { cwd, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the source tree crosses no layer', () => {
  const r = cruise(root, ['src', 'webview']);
  assert.equal(r.status, 0, `layer violations:\n${r.out}`);
});

test('every layer rule fails a tree that crosses it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-layers-'));
  const files: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }),
    'src/protocol/contract.ts': "import { helper } from '../runs/helper';\nexport const x = helper;\n",
    'src/runs/helper.ts': "import { adapter } from '../vscode/adapter';\nexport const helper = adapter;\n",
    'src/vscode/adapter.ts': "export const adapter = 1;\n",
    'src/engine/trainer.ts': "import { helper } from '../runs/helper';\nexport const t = helper;\n",
    'src/cli/main.ts': "import { adapter } from '../vscode/adapter';\nexport const m = adapter;\n",
    'src/runs/cycle-a.ts': "import { b } from './cycle-b';\nexport const a = () => b;\n",
    'src/runs/cycle-b.ts': "import { a } from './cycle-a';\nexport const b = () => a;\n",
  };
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  try {
    const r = cruise(dir, ['src']);
    assert.notEqual(r.status, 0);
    for (const rule of [
      'protocol-is-contracts-only',
      'runs-knows-no-editor-or-cli',
      'engine-knows-no-runs-cli-or-editor',
      'cli-knows-no-editor',
      'only-the-extension-uses-the-editor-adapters',
      'no-cycles',
    ]) {
      assert.match(r.out, new RegExp(rule), `rule ${rule} did not fire:\n${r.out}`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
