/**
 * Tests that run inside the extension host against the real `vscode` API (code-server's or a VS
 * Code downloaded by @vscode/test-electron): the contributed commands are registered, the accuracy
 * lens answers for a variant, the Experiments tree holds the store's runs, and regbench.concurrency
 * reaches the run service. The host loads this bundle (dist/test-host/suite.js) through
 * --extensionTestsPath and calls run(); a tiny runner here reports each case to a JSON file the
 * launcher reads (test/extension-host/launch.ts), since the host's console is not ours.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { RegbenchApi } from '../../src/extension';
import { readSettings } from '../../src/vscode/settings';
import { CASE_NAMES, RESULTS_ENV, type CaseName, type CaseResult, type HostResults } from './results';
import { ACCURACIES, VARIANT_FILE } from './workspace';

const EXTENSION_ID = 'regbench.regbench';

async function api(): Promise<{ api: RegbenchApi; packageJSON: { contributes: { commands: { command: string }[] } } }> {
  const ext = vscode.extensions.getExtension<RegbenchApi>(EXTENSION_ID);
  assert.ok(ext, `extension ${EXTENSION_ID} is not loaded in this host`);
  return { api: await ext.activate(), packageJSON: ext.packageJSON };
}

function workspaceRoot(): string {
  const folder = vscode.workspace.workspaceFolders?.[0];
  assert.ok(folder, 'the host opened no workspace folder');
  return folder.uri.fsPath;
}

/** Polls `check` until it returns a value (not undefined) or `ms` pass. */
async function eventually<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms / 1000} s${last ? ` (${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const cases: [CaseName, () => Promise<void>][] = [
  [
    'every command package.json contributes is registered',
    async () => {
      const { packageJSON } = await api();
      const contributed = packageJSON.contributes.commands.map((c) => c.command);
      assert.ok(contributed.length > 20, `package.json lists only ${contributed.length} commands`);
      const registered = new Set(await vscode.commands.getCommands(true));
      assert.deepEqual(
        contributed.filter((c) => !registered.has(c)),
        [],
      );
    },
  ],
  [
    'the accuracy lens of a template variant shows its two seeds',
    async () => {
      await api();
      const uri = vscode.Uri.file(path.join(workspaceRoot(), VARIANT_FILE));
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri));
      const mean = (ACCURACIES[0] + ACCURACIES[1]) / 2;
      const expected = `ResNet-56/C100 ${mean.toFixed(1)} ± 0.4% (2 seeds)`;
      const titles = await eventually('a resolved accuracy lens', async () => {
        const lenses = await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', uri, 10);
        const t = (lenses ?? []).map((l) => l.command?.title ?? '');
        return t.some((x) => x.includes('ResNet-56/C100')) ? t : undefined;
      });
      assert.ok(
        titles.some((t) => t.includes(expected)),
        `no lens says "${expected}": ${JSON.stringify(titles)}`,
      );
    },
  ],
  [
    'the Experiments tree holds the variant, its benchmark and both runs',
    async () => {
      const { api: regbench } = await api();
      const tree = regbench.experiments;
      const label = async (n: Parameters<typeof tree.getTreeItem>[0]) => {
        const item = await tree.getTreeItem(n);
        return typeof item.label === 'string' ? item.label : (item.label?.label ?? '');
      };
      const roots = (await tree.getChildren()) ?? [];
      assert.deepEqual(await Promise.all(roots.map(label)), ['l2-penalty.ts']);
      const benches = (await tree.getChildren(roots[0])) ?? [];
      assert.equal(benches.length, 1);
      assert.match(await label(benches[0]), /ResNet-56/);
      const runs = (await tree.getChildren(benches[0])) ?? [];
      const runLabels = await Promise.all(runs.map(label));
      assert.equal(runs.length, 2, JSON.stringify(runLabels));
      assert.deepEqual(runLabels.map((l) => /\bs(\d)\b/.exec(l)?.[1]).sort(), ['0', '1'], JSON.stringify(runLabels));
    },
  ],
  [
    'regbench.concurrency is read and reaches the run service',
    async () => {
      const { api: regbench } = await api();
      assert.equal(readSettings().concurrency, 1);
      assert.equal(regbench.concurrency, 1);
      const config = vscode.workspace.getConfiguration('regbench');
      await config.update('concurrency', 3, vscode.ConfigurationTarget.Global);
      try {
        assert.equal(readSettings().concurrency, 3);
        await eventually('the run service taking concurrency 3', () => (regbench.concurrency === 3 ? true : undefined), 5_000);
      } finally {
        await config.update('concurrency', undefined, vscode.ConfigurationTarget.Global);
      }
      await eventually('the run service back at concurrency 1', () => (regbench.concurrency === 1 ? true : undefined), 5_000);
    },
  ],
];

export async function run(): Promise<void> {
  if (cases.map(([name]) => name).join('\n') !== CASE_NAMES.join('\n')) throw new Error('suite.ts and results.ts list different cases');
  const results: CaseResult[] = [];
  for (const [name, fn] of cases) {
    const started = Date.now();
    try {
      await fn();
      results.push({ name, ok: true, ms: Date.now() - started });
    } catch (err) {
      results.push({ name, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err), ms: Date.now() - started });
    }
  }
  const file = process.env[RESULTS_ENV] || path.join(workspaceRoot(), '.host-results.json');
  const report: HostResults = { vscodeVersion: vscode.version, results };
  // Written whole and renamed, so the launcher never reads half a file.
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(report, null, 2));
  fs.renameSync(`${file}.tmp`, file);
  const failed = results.filter((r) => !r.ok);
  if (failed.length) throw new Error(`${failed.length} of ${results.length} in-host tests failed: ${failed.map((f) => f.name).join('; ')}`);
}
