/**
 * The extension bundle (dist/extension.js, built by scripts/build.mjs): it exists, carries no
 * TensorFlow.js (training happens in the worker bundle only), loads no other file when it
 * activates (what keeps activation fast: its time is printed, never asserted, a figure that
 * depends on the machine's load), and registers exactly the commands package.json contributes. `vscode` is replaced by a stub module, so this
 * runs under plain Node.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Module, { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const root = path.resolve(__dirname, '..', '..');
const bundle = path.join(root, 'dist', 'extension.js');

/**
 * A stand-in for the `vscode` module: every property is another stand-in (callable,
 * constructible, extendable), so activation can build anything; the calls the test checks
 * (registerCommand, workspace folders, settings) are real fakes.
 */
function stub(name: string): unknown {
  const target = function () {};
  // Values live beside the target: a function's own 'name' and 'length' are read-only.
  const values = new Map<PropertyKey, unknown>();
  const read = (prop: PropertyKey) => {
    if (!values.has(prop)) values.set(prop, stub(`${name}.${String(prop)}`));
    return values.get(prop);
  };
  return new Proxy(target, {
    get(t, prop) {
      if (prop === 'prototype') return t.prototype;
      // Not a promise, not a primitive: only what was set.
      if (prop === 'then' || typeof prop === 'symbol') return values.get(prop);
      return read(prop);
    },
    set(_t, prop, value) {
      values.set(prop, value);
      return true;
    },
    defineProperty(_t, prop, descriptor) {
      values.set(prop, descriptor.get ? descriptor.get() : descriptor.value);
      return true;
    },
    ownKeys: (t) => [...new Set<string | symbol>([...Reflect.ownKeys(t), ...[...values.keys()].map((k) => (typeof k === 'number' ? String(k) : k))])],
    getOwnPropertyDescriptor(t, prop) {
      if (values.has(prop)) return { value: values.get(prop), writable: true, enumerable: true, configurable: true };
      return Reflect.getOwnPropertyDescriptor(t, prop);
    },
    apply: () => stub(`${name}()`),
    construct: () => stub(`new ${name}`) as object,
  });
}

function fakeUri(fsPath: string) {
  return { scheme: 'file', fsPath, path: fsPath, toString: () => `file://${fsPath}` };
}

/**
 * esbuild copies a CommonJS module's own properties when it imports it as a namespace, so the
 * names the bundle uses (`import_vscode.CodeLens`, ...) must exist before it loads.
 */
function fakeVscode(workspace: string, registered: string[], bundleText: string): unknown {
  const api = stub('vscode') as Record<string, Record<string, unknown>>;
  for (const m of bundleText.matchAll(/\b(?:import_)?vscode\d*\.([A-Za-z_$][\w$]*)/g)) void api[m[1]];
  api.commands.registerCommand = (id: string) => {
    registered.push(id);
    return { dispose() {} };
  };
  api.workspace.workspaceFolders = [{ uri: fakeUri(workspace), name: path.basename(workspace), index: 0 }];
  api.workspace.getConfiguration = () => ({ get: () => undefined });
  api.workspace.isTrusted = true;
  api.Uri.file = fakeUri;
  api.Uri.joinPath = (base: { fsPath: string }, ...parts: string[]) => fakeUri(path.join(base.fsPath, ...parts));
  return api;
}

test('dist/extension.js exists and contains no TensorFlow.js', () => {
  assert.ok(fs.existsSync(bundle), `${bundle} is missing: run node scripts/build.mjs`);
  const text = fs.readFileSync(bundle, 'utf8');
  assert.equal(text.includes('@tensorflow'), false, 'the extension bundle must not include or require TensorFlow.js');
  assert.match(text, /require\("vscode"\)/, "'vscode' must stay external");
});

test('activates loading no file beside its bundle, without touching the workspace, registering every contributed command', (t) => {
  const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-activate-'));
  const registered: string[] = [];
  const vscodeKey = path.join(workspace, 'vscode-stub.js');
  const fakeModule = new Module(vscodeKey);
  fakeModule.exports = fakeVscode(workspace, registered, fs.readFileSync(bundle, 'utf8'));
  fakeModule.loaded = true;
  const internals = Module as unknown as { _resolveFilename: (request: string, ...rest: unknown[]) => string };
  const resolve = internals._resolveFilename;
  internals._resolveFilename = (request, ...rest) => (request === 'vscode' ? vscodeKey : resolve(request, ...rest));
  require.cache[vscodeKey] = fakeModule;
  const context = {
    subscriptions: [] as Array<{ dispose(): unknown }>,
    extensionUri: fakeUri(root),
    extensionPath: root,
    storageUri: fakeUri(path.join(workspace, '.storage')),
    globalStorageUri: fakeUri(path.join(workspace, '.global')),
  };
  try {
    delete require.cache[bundle];
    const before = new Set(Object.keys(require.cache));
    const start = performance.now();
    const ext = createRequire(__filename)(bundle) as { activate(ctx: unknown): void };
    const loaded = performance.now();
    ext.activate(context);
    const activated = performance.now();
    const requireMs = loaded - start;
    const activateMs = activated - loaded;
    t.diagnostic(`require ${requireMs.toFixed(1)} ms + activate ${activateMs.toFixed(1)} ms = ${(activated - start).toFixed(1)} ms`);
    // Every module it needs is inside the bundle: a require of another file (TensorFlow.js, the
    // statistics library, a worker bundle) at activation is what made it slow before.
    const loadedFiles = Object.keys(require.cache).filter((f) => !before.has(f) && f !== bundle && f !== vscodeKey);
    assert.deepEqual(loadedFiles, [], `activation loaded ${loadedFiles.join(', ')}`);

    const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { contributes: { commands: Array<{ command: string }> } };
    const contributed = manifest.contributes.commands.map((c) => c.command).sort();
    assert.deepEqual([...new Set(registered)].sort(), contributed);
    assert.equal(registered.length, new Set(registered).size, 'a command was registered twice');
    assert.ok(context.subscriptions.length > 0, 'activation must hand its disposables to the context');
    // Activation reads nothing from the store and must not create it either.
    assert.equal(fs.existsSync(path.join(workspace, '.regbench')), false);
  } finally {
    for (const d of context.subscriptions) d.dispose();
    internals._resolveFilename = resolve;
    delete require.cache[vscodeKey];
    delete require.cache[bundle];
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});

/**
 * A good guest: the extension activates where Regbench has something to do (a workspace with
 * runs or variants, its restored dashboard) and on its own commands and views, which VS Code 1.74+
 * adds by itself; never on a language (every TypeScript, JavaScript or Python workspace would pay
 * for it) nor on start-up.
 */
test('activates only in a Regbench workspace, on its dashboard, commands and views', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { activationEvents?: string[]; engines: { vscode: string } };
  const events = manifest.activationEvents ?? [];
  const allowed = [/^workspaceContains:(\.regbench|variants)$/, /^onWebviewPanel:regbench\./, /^onCommand:regbench\./, /^onView:regbench\./];
  const unexpected = events.filter((e) => !allowed.some((re) => re.test(e)));
  assert.deepEqual(unexpected, [], `activation events outside Regbench's own (onLanguage and * make every workspace pay): ${unexpected.join(', ')}`);
  assert.ok(events.includes('workspaceContains:.regbench') && events.includes('workspaceContains:variants'), 'a workspace with runs or variants activates it');
  // Contributed commands and views activate the extension by themselves from VS Code 1.74 on.
  const minor = Number(/^\^?1\.(\d+)/.exec(manifest.engines.vscode)?.[1]);
  assert.ok(minor >= 74, `engines.vscode ${manifest.engines.vscode}: commands and views activate by themselves only from 1.74`);
});
