/**
 * The layers (.dependency-cruiser.cjs): the real tree crosses none, and every rule bites on a tree
 * made to cross it, each rule by a crossing of its own, so a rule that silently stopped matching
 * (or a new rule without a crossing here) fails this test.
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

/** The names of the rules in the configuration, in its order. */
function ruleNames(): string[] {
  // The configuration is CommonJS outside the bundle, loaded at run time as the cruiser loads it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path known only at run time
  const loaded = require(config) as { forbidden: { name: string }[] };
  return loaded.forbidden.map((rule) => rule.name);
}

/** Modules every crossing imports: one per layer, importing nothing themselves. */
const targets: Record<string, string> = {
  'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'commonjs', strict: true } }),
  'src/runs/helper.ts': 'export const helper = 1;\n',
  'src/variants/variant.ts': 'export const variant = 1;\n',
  'src/analysis/stats.ts': 'export const stats = 1;\n',
  'src/present/text.ts': 'export const text = 1;\nexport type Text = string;\n',
  'src/vscode/adapter.ts': 'export const adapter = 1;\n',
  'src/cli/options.ts': 'export const options = 1;\n',
  'node_modules/@tensorflow/tfjs-core/package.json': JSON.stringify({ name: '@tensorflow/tfjs-core', main: 'index.js' }),
  'node_modules/@tensorflow/tfjs-core/index.js': 'exports.tf = 1;\n',
};

/** For each rule, the file that crosses it (and the one import that does). */
const crossings: Record<string, { file: string; text: string }> = {
  'protocol-is-contracts-only': { file: 'src/protocol/uses-runs.ts', text: "import { helper } from '../runs/helper';\nexport const x = helper;\n" },
  // A type-only import: the rule above lets it pass, this one does not.
  'protocol-types-only-from-protocol': {
    file: 'src/protocol/types-from-present.ts',
    text: "import type { Text } from '../present/text';\nexport type T = Text;\n",
  },
  'engine-knows-no-runs-cli-or-editor': { file: 'src/engine/uses-runs.ts', text: "import { helper } from '../runs/helper';\nexport const t = helper;\n" },
  'runs-knows-no-editor-or-cli': { file: 'src/variants/uses-cli.ts', text: "import { options } from '../cli/options';\nexport const v = options;\n" },
  'life-of-a-run-knows-no-other-wing': {
    file: 'src/runs/uses-variants.ts',
    text: "import { variant } from '../variants/variant';\nexport const r = variant;\n",
  },
  'variants-know-only-the-life-of-a-run': {
    file: 'src/variants/uses-analysis.ts',
    text: "import { stats } from '../analysis/stats';\nexport const v = stats;\n",
  },
  'analysis-knows-no-presentation': { file: 'src/analysis/uses-present.ts', text: "import { text } from '../present/text';\nexport const a = text;\n" },
  'races-know-no-presentation': { file: 'src/races/uses-present.ts', text: "import { text } from '../present/text';\nexport const r = text;\n" },
  'cli-knows-no-editor': { file: 'src/cli/uses-vscode.ts', text: "import * as vscode from 'vscode';\nexport const c = vscode;\n" },
  'only-the-extension-uses-the-editor-adapters': { file: 'src/tool.ts', text: "import { adapter } from './vscode/adapter';\nexport const t = adapter;\n" },
  'webview-is-browser-code': { file: 'webview/uses-runs.ts', text: "import { helper } from '../src/runs/helper';\nexport const w = helper;\n" },
  'webview-no-node-builtins': { file: 'webview/uses-fs.ts', text: "import * as fs from 'node:fs';\nexport const w = fs;\n" },
  'tensorflow-only-in-the-worker': { file: 'src/cli/uses-tf.ts', text: "import { tf } from '@tensorflow/tfjs-core';\nexport const c = tf;\n" },
  'no-cycles': { file: 'src/runs/cycle-a.ts', text: "import { b } from './cycle-b';\nexport const a = () => b;\n" },
};

test('the source tree crosses no layer', () => {
  const r = cruise(root, ['src', 'webview']);
  assert.equal(r.status, 0, `layer violations:\n${r.out}`);
});

test('every layer rule has a crossing made for it here', () => {
  assert.deepEqual(Object.keys(crossings).sort(), ruleNames().sort(), 'each rule in .dependency-cruiser.cjs needs one entry in `crossings` (and only those)');
});

test('every layer rule fails the tree made to cross it, at its own crossing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-layers-'));
  const files: Record<string, string> = { ...targets, 'src/runs/cycle-b.ts': "import { a } from './cycle-a';\nexport const b = () => a;\n" };
  for (const { file, text } of Object.values(crossings)) files[file] = text;
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  }
  try {
    const r = cruise(dir, ['src', 'webview']);
    assert.notEqual(r.status, 0, `no rule fired:\n${r.out}`);
    const missed = ruleNames().filter((rule) => {
      const crossing = crossings[rule];
      // The err reporter writes "error <rule>: <from> → <to>".
      return !crossing || !r.out.includes(`${rule}: ${crossing.file}`);
    });
    assert.deepEqual(missed, [], `these rules did not fire at their crossing:\n${r.out}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
