/**
 * The dashboard page in headless Chromium, served the way the host serves it: the same CSP with a
 * nonce, an `acquireVsCodeApi` stub that records posted messages and keeps getState/setState, and
 * the Dark+ theme variables. Messages arrive as VS Code delivers them (a window `message` event).
 * Needs the bundle media/dashboard.js (node scripts/build.mjs) and Chromium at /usr/bin/chromium.
 * Screenshots go to test-results/screenshots/dashboard-*.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { RECIPE, type BenchId, type RunSpec } from '../src/protocol/benchmarks';
import type { EpochEvent, RunEndEvent } from '../src/protocol/events';
import { applyEvent, type RunRecord } from '../src/runs/run-record';
import { buildComparison, toRunSummary, type HostToWebviewMessage, type WebviewToHostMessage } from '../src/protocol/webview';

const CHROMIUM = '/usr/bin/chromium';

/** The repository root: where media/ and test-results/ live (the test may run from dist/test). */
function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'scripts', 'build.mjs'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}
const ROOT = repoRoot();
const SHOTS = path.join(ROOT, 'test-results', 'screenshots');

// ---------------------------------------------------------------------------------------------
// Themes: the variables VS Code sets for Dark+ and Light+ (the ones the page and the toolkit read)
// ---------------------------------------------------------------------------------------------

const COMMON_VARS: Record<string, string> = {
  '--vscode-font-family': '-apple-system, BlinkMacSystemFont, "Segoe UI", "Ubuntu", "Droid Sans", sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-font-weight': 'normal',
  '--vscode-editor-font-family': '"Droid Sans Mono", "monospace", monospace',
};

const DARK_VARS: Record<string, string> = {
  ...COMMON_VARS,
  '--vscode-foreground': '#cccccc',
  '--vscode-editor-foreground': '#d4d4d4',
  '--vscode-editor-background': '#1e1e1e',
  '--vscode-descriptionForeground': 'rgba(204, 204, 204, 0.7)',
  '--vscode-errorForeground': '#f48771',
  '--vscode-focusBorder': '#007fd4',
  '--vscode-charts-foreground': '#cccccc',
  '--vscode-charts-lines': 'rgba(204, 204, 204, 0.5)',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-yellow': '#cca700',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-panel-border': 'rgba(128, 128, 128, 0.35)',
  '--vscode-editorWidget-background': '#252526',
  '--vscode-list-hoverBackground': '#2a2d2e',
  '--vscode-list-inactiveSelectionBackground': '#37373d',
  '--vscode-list-activeSelectionBackground': '#04395e',
  '--vscode-list-activeSelectionForeground': '#ffffff',
  '--vscode-textLink-foreground': '#3794ff',
  '--vscode-textLink-activeForeground': '#3794ff',
  '--vscode-badge-background': '#4d4d4d',
  '--vscode-badge-foreground': '#ffffff',
  '--vscode-button-background': '#0e639c',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-hoverBackground': '#1177bb',
  '--vscode-button-secondaryBackground': '#3a3d41',
  '--vscode-button-secondaryForeground': '#ffffff',
  '--vscode-button-secondaryHoverBackground': '#45494e',
  '--vscode-checkbox-background': '#3c3c3c',
  '--vscode-checkbox-border': '#6b6b6b',
  '--vscode-checkbox-foreground': '#f0f0f0',
};

const LIGHT_VARS: Record<string, string> = {
  ...COMMON_VARS,
  '--vscode-foreground': '#616161',
  '--vscode-editor-foreground': '#000000',
  '--vscode-editor-background': '#ffffff',
  '--vscode-descriptionForeground': '#717171',
  '--vscode-errorForeground': '#a1260d',
  '--vscode-focusBorder': '#0090f1',
  '--vscode-charts-foreground': '#616161',
  '--vscode-charts-lines': 'rgba(97, 97, 97, 0.5)',
  '--vscode-charts-red': '#e51400',
  '--vscode-charts-blue': '#1a85ff',
  '--vscode-charts-yellow': '#bf8803',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#388a34',
  '--vscode-charts-purple': '#652d90',
  '--vscode-panel-border': 'rgba(128, 128, 128, 0.35)',
  '--vscode-editorWidget-background': '#f3f3f3',
  '--vscode-list-hoverBackground': '#e8e8e8',
  '--vscode-list-inactiveSelectionBackground': '#e4e6f1',
  '--vscode-list-activeSelectionBackground': '#0060c0',
  '--vscode-list-activeSelectionForeground': '#ffffff',
  '--vscode-textLink-foreground': '#006ab1',
  '--vscode-textLink-activeForeground': '#006ab1',
  '--vscode-badge-background': '#c4c4c4',
  '--vscode-badge-foreground': '#333333',
  '--vscode-button-background': '#007acc',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-hoverBackground': '#0062a3',
  '--vscode-button-secondaryBackground': '#5f6a79',
  '--vscode-button-secondaryForeground': '#ffffff',
  '--vscode-button-secondaryHoverBackground': '#4c5561',
  '--vscode-checkbox-background': '#ffffff',
  '--vscode-checkbox-border': '#919191',
  '--vscode-checkbox-foreground': '#616161',
};

// ---------------------------------------------------------------------------------------------
// Fixtures: records built through the store's own applyEvent, sent through toRunSummary
// ---------------------------------------------------------------------------------------------

const T0 = Date.parse('2026-11-23T10:00:00Z');

function makeSpec(id: string, bench: BenchId, seed: number, variant: string, hash: string, epochs: number): RunSpec {
  return {
    runId: id,
    bench,
    arch: bench === 'mobilenetv2-fmnist' ? 'mobilenetv2' : 'resnet20',
    dataset: bench === 'mobilenetv2-fmnist' ? 'fashion-mnist' : 'cifar10',
    numClasses: 10,
    budget: 'quick',
    epochs,
    trainSubset: 10000,
    testSubset: 2000,
    seed,
    recipe: { ...RECIPE },
    engine: 'tfjs',
    backend: 'wasm',
    variantPath: `/ws/variants/${variant}.ts`,
    variantHash: hash,
    variantKind: { regularizer: variant !== 'baseline', norm: variant === 'group-norm' },
    runDir: `/ws/.regbench/runs/${id}`,
  };
}

function newRecord(id: string, spec: RunSpec, minute: number): RunRecord {
  const created = new Date(T0 + minute * 60_000).toISOString();
  return {
    id,
    name: `${spec.variantPath.split('/').pop()?.replace('.ts', '')} · ${spec.bench} · seed ${spec.seed}`,
    spec,
    status: 'queued',
    createdAt: created,
    epochsCompleted: 0,
    totalEpochs: spec.epochs,
    bestTestAcc: null,
    finalTestAcc: null,
    epochSeconds: null,
    variantSnapshot: 'variant.ts',
  };
}

/** A deterministic learning curve; `skill` shifts accuracy so runs differ visibly. */
function epochEvent(r: RunRecord, epoch: number, skill: number): EpochEvent {
  const e = epoch + 1;
  const testAcc = 55 + skill + 25 * (1 - Math.exp(-0.6 * e));
  return {
    type: 'epoch',
    runId: r.id,
    time: new Date(T0 + epoch * 1000).toISOString(),
    epoch,
    totalEpochs: r.spec.epochs,
    trainLoss: 1.9 * Math.exp(-0.35 * e) + 0.35 - skill / 12,
    trainCe: 1.8 * Math.exp(-0.35 * e) + 0.2,
    regTerm: r.spec.variantKind.regularizer ? 0.05 + 0.02 * Math.exp(-0.5 * e) : 0,
    trainAcc: testAcc + 3,
    testLoss: 2.0 * Math.exp(-0.3 * e) + 0.6 - skill / 15,
    testAcc,
    lr: 0.5 * 0.1 * (1 + Math.cos((Math.PI * epoch) / r.spec.epochs)),
    seconds: 11 + epoch * 0.3,
    trainImagesPerSec: 850,
    bestTestAcc: testAcc,
  };
}

interface Fixture {
  records: RunRecord[];
  epochs: Record<string, EpochEvent[]>;
}

function start(r: RunRecord): RunRecord {
  return applyEvent(r, {
    type: 'run-start', runId: r.id, time: r.createdAt, spec: r.spec, stepsPerEpoch: 79, trainImages: 10000, testImages: 2000,
    env: { engine: 'tfjs', backend: 'wasm', versions: { tfjs: '4.22.0' }, platform: 'linux', cpus: 2, hostname: 'ci', threads: 2 },
  });
}

function end(r: RunRecord, status: RunEndEvent['status'], reason?: string): RunRecord {
  return applyEvent(r, {
    type: 'run-end', runId: r.id, time: r.createdAt, status, bestTestAcc: r.bestTestAcc, finalTestAcc: r.finalTestAcc,
    epochsCompleted: r.epochsCompleted, seconds: 60, reason,
  });
}

function fixture(): Fixture & { live: RunRecord; liveEpochs: EpochEvent[] } {
  const records: RunRecord[] = [];
  const epochs: Record<string, EpochEvent[]> = {};
  const train = (r: RunRecord, n: number, skill: number): RunRecord => {
    epochs[r.id] = [];
    for (let i = 0; i < n; i++) {
      const e = epochEvent(r, i, skill);
      epochs[r.id].push(e);
      r = applyEvent(r, e);
    }
    return r;
  };
  // Three seeds of one variant: the table shows their mean ± std.
  [0.4, 1.9, -0.8].forEach((skill, seed) => {
    const id = `run-baseline-${seed}`;
    records.push(end(train(start(newRecord(id, makeSpec(id, 'resnet20-cifar10', seed, 'baseline', 'b0b0b0b0b0b0b0b0', 5), seed)), 5, skill), 'completed'));
  });
  const failedId = 'run-groupnorm-0';
  let failed = start(newRecord(failedId, makeSpec(failedId, 'mobilenetv2-fmnist', 0, 'group-norm', '9n9n9n9n9n9n9n9n', 3), 4));
  failed = applyEvent(failed, { type: 'error', runId: failedId, time: failed.createdAt, kind: 'variant', message: 'CustomNorm.forward returned shape [128,8] for input [128,16,32,32]' });
  records.push(end(failed, 'failed'));
  epochs[failedId] = [];
  // A live run: 2 of 5 epochs in the snapshot, the rest arrive as `append` messages.
  const liveId = 'run-confidence-0';
  const live = train(start(newRecord(liveId, makeSpec(liveId, 'resnet20-cifar10', 0, 'confidence-penalty', 'c0c0c0c0c0c0c0c0', 5), 6)), 2, 2.5);
  records.push(live);
  const liveEpochs = [2, 3, 4].map((i) => epochEvent(live, i, 2.5));
  return { records, epochs, live, liveEpochs };
}

// ---------------------------------------------------------------------------------------------
// The page the host would serve, and a server for it
// ---------------------------------------------------------------------------------------------

function pageHtml(origin: string, nonce: string, initialState: unknown, vars: Record<string, string>): string {
  // `<` escaped so the JSON cannot close the script element.
  const json = (x: unknown) => JSON.stringify(x).replace(/</g, '\\u003c');
  // The style nonce (and the csp-nonce meta) serve one <style> element: FAST, under the toolkit,
  // probes :focus-visible support with it at start-up. Without them the page works the same but
  // Chromium reports a style-src violation.
  const csp = `default-src 'none'; img-src ${origin}; style-src ${origin} 'nonce-${nonce}'; font-src ${origin}; script-src 'nonce-${nonce}';`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<meta property="csp-nonce" content="${nonce}">
<script nonce="${nonce}">
  // Stands in for VS Code's webview API: records what the page posts and keeps its state.
  window.__test = { posted: [], states: [], violations: [] };
  document.addEventListener('securitypolicyviolation', (e) => window.__test.violations.push(e.violatedDirective + ' ' + e.blockedURI + ' at ' + e.sourceFile + ':' + e.lineNumber + ' ' + e.sample));
  let state = ${json(initialState)};
  let acquired = false;
  window.acquireVsCodeApi = () => {
    if (acquired) throw new Error('acquireVsCodeApi called twice');
    acquired = true;
    return {
      postMessage: (m) => window.__test.posted.push(JSON.parse(JSON.stringify(m))),
      getState: () => state,
      setState: (s) => { state = s; window.__test.states.push(JSON.parse(JSON.stringify(s))); },
    };
  };
</script>
<link rel="stylesheet" href="${origin}/media/dashboard.css">
<title>Regbench</title>
</head>
<body class="vscode-dark" data-vscode-theme-kind="vscode-dark">
<script nonce="${nonce}">
  // VS Code sets the theme variables through the CSSOM (a style attribute would break the CSP).
  for (const [k, v] of Object.entries(${json(vars)})) document.body.style.setProperty(k, v);
</script>
<script nonce="${nonce}" src="${origin}/media/dashboard.js"></script>
</body>
</html>`;
}

interface Server {
  origin: string;
  /** State the next page load starts with (what VS Code would hand back after a reload). */
  nextState: unknown;
  close(): Promise<void>;
}

async function serve(): Promise<Server> {
  const server = http.createServer();
  const s: Server = { origin: '', nextState: null, close: () => new Promise((r) => server.close(() => r())) };
  server.on('request', (req, res) => {
    const url = req.url ?? '/';
    if (url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(pageHtml(s.origin, randomBytes(16).toString('base64'), s.nextState, DARK_VARS));
    } else if (url === '/media/dashboard.js' || url === '/media/dashboard.css') {
      res.writeHead(200, { 'content-type': url.endsWith('.js') ? 'text/javascript' : 'text/css' });
      res.end(fs.readFileSync(path.join(ROOT, url)));
    } else if (url === '/favicon.ico') {
      // Chromium asks for it on its own; a webview never does.
      res.writeHead(204).end();
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  s.origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return s;
}

// ---------------------------------------------------------------------------------------------
// Page helpers
// ---------------------------------------------------------------------------------------------

type ChartDescription = Record<string, Array<{ runId: string; label: string; color: string; drawnPointColor: string | null; points: Array<[number, number | null]> }>>;

async function send(page: Page, msg: HostToWebviewMessage): Promise<void> {
  await page.evaluate((data) => window.dispatchEvent(new MessageEvent('message', { data })), msg);
}

/** Waits two frames: the page renders table and charts once per animation frame. */
async function settle(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

async function charts(page: Page): Promise<ChartDescription> {
  // The page's read-only test hook (webview/main.ts) returns plain copies of the chart data.
  return page.evaluate(() => (window as unknown as { __regbenchCharts: { describe(): ChartDescription } }).__regbenchCharts.describe());
}

async function posted(page: Page): Promise<WebviewToHostMessage[]> {
  return page.evaluate(() => (window as unknown as { __test: { posted: WebviewToHostMessage[] } }).__test.posted);
}

async function lastState(page: Page): Promise<unknown> {
  return page.evaluate(() => {
    const s = (window as unknown as { __test: { states: unknown[] } }).__test.states;
    return s[s.length - 1];
  });
}

async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __test: { violations: string[] } }).__test.violations);
}

function watchErrors(page: Page, errors: string[]): void {
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
}

async function openDashboard(context: BrowserContext, server: Server, errors: string[]): Promise<Page> {
  const page = await context.newPage();
  watchErrors(page, errors);
  await page.goto(server.origin + '/');
  await page.waitForFunction(() => (window as unknown as { __test: { posted: Array<{ type: string }> } }).__test.posted.some((m) => m.type === 'ready'));
  return page;
}

const row = (page: Page, runId: string) => page.locator(`tr.run[data-run-id="${runId}"]`);

function meanStd(xs: number[]): string {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  const sd = Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
  return `${m.toFixed(2)} ± ${sd.toFixed(2)}`;
}

async function setTheme(page: Page, kind: 'vscode-dark' | 'vscode-light', vars: Record<string, string>): Promise<void> {
  await page.evaluate(
    ({ kind, vars }) => {
      for (const [k, v] of Object.entries(vars)) document.body.style.setProperty(k, v);
      document.body.className = kind;
      document.body.dataset.vscodeThemeKind = kind;
    },
    { kind, vars },
  );
  await settle(page);
}

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

test('dashboard: handshake, live charts, seed groups, hiding, comparison, themes, CSP and reload', { timeout: 60_000 }, async () => {
  const bundle = path.join(ROOT, 'media', 'dashboard.js');
  assert.ok(fs.existsSync(bundle), `${bundle} is missing: run node scripts/build.mjs first`);
  assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`);
  fs.mkdirSync(SHOTS, { recursive: true });

  const server = await serve();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-dashboard-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  const errors: string[] = [];
  try {
    const fx = fixture();
    const summaries = fx.records.map(toRunSummary);
    const [base0, base1, base2, failed, live] = fx.records;

    // ----- handshake: `ready` comes first and alone -----
    const page = await openDashboard(context, server, errors);
    assert.deepEqual(await posted(page), [{ type: 'ready', payload: {} }]);

    // ----- snapshot -----
    await send(page, { type: 'snapshot', payload: { runs: summaries, epochs: fx.epochs, selected: [] } });
    await settle(page);
    assert.equal(await page.locator('tr.run').count(), 5);
    let c = await charts(page);
    assert.deepEqual(Object.keys(c).filter((k) => k.startsWith('main-')).sort(), ['main-lr', 'main-regTerm', 'main-testAcc', 'main-testLoss', 'main-trainAcc', 'main-trainLoss']);
    assert.equal(c['main-testAcc'].length, 5, 'one dataset per run');
    assert.equal(c['main-testAcc'].find((d) => d.runId === live.id)?.points.length, 2);

    await row(page, live.id).locator('td.actions button', { hasText: 'Cancel' }).click();
    assert.deepEqual((await posted(page)).pop(), { type: 'cancelRun', payload: { runId: live.id } });
    assert.match(await row(page, live.id).locator('td.status').innerText(), /running/);
    assert.equal(await row(page, live.id).locator('td.epoch').innerText(), '2/5');

    // ----- live epochs: one `append` each, then the status change -----
    let rec = live;
    for (const e of fx.liveEpochs) {
      rec = applyEvent(rec, e);
      await send(page, { type: 'append', payload: { runId: rec.id, run: toRunSummary(rec), event: e } });
    }
    rec = end(rec, 'completed');
    await send(page, { type: 'append', payload: { runId: rec.id, run: toRunSummary(rec) } });
    await settle(page);
    c = await charts(page);
    for (const [name, datasets] of Object.entries(c).filter(([k]) => k.startsWith('main-'))) {
      assert.equal(datasets.length, 5, name);
      const points = Object.fromEntries(datasets.map((d) => [d.runId, d.points.length]));
      assert.deepEqual(points, { [base0.id]: 5, [base1.id]: 5, [base2.id]: 5, [failed.id]: 0, [live.id]: 5 }, name);
    }
    const liveTest = c['main-testAcc'].find((d) => d.runId === live.id);
    assert.deepEqual(liveTest?.points.map((p) => p[0]), [1, 2, 3, 4, 5]);
    assert.equal(liveTest?.points[4][1], fx.liveEpochs[2].testAcc);
    // One color per run, the same in every chart.
    const colors = c['main-testAcc'].map((d) => d.color);
    assert.equal(new Set(colors).size, 5);
    for (const datasets of Object.values(c)) for (const d of datasets) assert.equal(d.color, c['main-testAcc'].find((x) => x.runId === d.runId)?.color);
    assert.equal(c['main-testAcc'].find((d) => d.runId === base0.id)?.color, '#3794ff', 'colors come from --vscode-charts-*');

    // ----- table: status, accuracy, epochs, mean ± std of the 3-seed group -----
    const liveRow = row(page, live.id);
    assert.match(await liveRow.locator('td.status').innerText(), /completed/);
    assert.equal(await liveRow.locator('td.best').innerText(), rec.bestTestAcc?.toFixed(2));
    assert.equal(await liveRow.locator('td.epoch').innerText(), '5/5');
    assert.match(await row(page, failed.id).locator('td.status').innerText(), /failed/);
    assert.match(await row(page, failed.id).innerText(), /CustomNorm\.forward returned shape/);
    const groups = page.locator('tr.group');
    assert.equal(await groups.count(), 1, 'only the 3-seed variant forms a group');
    const expected = meanStd([base0, base1, base2].map((r) => r.bestTestAcc as number));
    assert.match(await groups.first().innerText(), new RegExp(`baseline.*3 runs[\\s\\S]*${expected.replace(/[.+]/g, '\\$&')}`));

    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-dark.png'), fullPage: true });

    // ----- buttons post their messages -----
    await row(page, live.id).locator('button.run-name').click();
    await row(page, failed.id).locator('td.actions button', { hasText: 'Log' }).click();
    const tail = (await posted(page)).slice(-2);
    assert.deepEqual(tail, [
      { type: 'openRun', payload: { runId: live.id } },
      { type: 'showLog', payload: { runId: failed.id } },
    ]);
    assert.equal(await row(page, live.id).locator('td.actions button', { hasText: 'Cancel' }).isVisible(), false, 'no Cancel on a finished run');

    // ----- hiding a run removes its datasets; showing it again restores them -----
    await row(page, base1.id).locator('vscode-checkbox').click();
    await settle(page);
    c = await charts(page);
    for (const [name, datasets] of Object.entries(c).filter(([k]) => k.startsWith('main-'))) {
      assert.equal(datasets.length, 4, name);
      assert.ok(!datasets.some((d) => d.runId === base1.id), name);
    }
    assert.deepEqual(((await lastState(page)) as { hidden: string[] }).hidden, [base1.id]);
    await page.locator(`.legend-item[data-run-id="${base2.id}"]`).click();
    await settle(page);
    assert.equal((await charts(page))['main-testAcc'].length, 3, 'the legend hides too');
    await page.locator(`.legend-item[data-run-id="${base2.id}"]`).click();
    await settle(page);
    assert.equal((await charts(page))['main-testAcc'].length, 4);

    // ----- light theme: colors are read again from the variables -----
    await setTheme(page, 'vscode-light', LIGHT_VARS);
    c = await charts(page);
    for (const [name, datasets] of Object.entries(c).filter(([k]) => k.startsWith('main-'))) {
      const d = datasets.find((x) => x.runId === base0.id);
      assert.equal(d?.color, '#1a85ff', name);
      assert.equal(d?.drawnPointColor, '#1a85ff', `${name}: points redrawn in the new color`);
    }
    await page.mouse.move(0, 0); // no hover highlight in the picture
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-light.png'), fullPage: true });
    await setTheme(page, 'vscode-dark', DARK_VARS);

    // ----- selection and comparison -----
    await row(page, base0.id).locator('td.num').first().click();
    await row(page, live.id).locator('td.num').first().click({ modifiers: ['Control'] });
    await page.locator('vscode-button', { hasText: 'Compare selected' }).click();
    const sent = await posted(page);
    assert.deepEqual(sent.filter((m) => m.type === 'selectRuns').pop(), { type: 'selectRuns', payload: { runIds: [base0.id, live.id] } });
    assert.deepEqual(sent[sent.length - 1], { type: 'compare', payload: { a: base0.id, b: live.id } });

    const all = [base0, base1, base2, failed, rec];
    const comparison = buildComparison(base0, rec, all);
    await send(page, { type: 'compare', payload: { comparison } });
    await settle(page);
    assert.equal(await page.locator('.compare-view').isVisible(), true);
    assert.equal(await page.locator('.charts-view').isVisible(), false);
    const keys = await page.locator('table.settings-diff tbody td.key').allInnerTexts();
    assert.deepEqual(keys, ['variantHash', 'variantKind.regularizer', 'variantPath'], 'only what differs (not runId, runDir, seed, recipe)');
    const deltaRow = await page.locator('table.accuracy-deltas tbody tr').allInnerTexts();
    assert.equal(deltaRow.length, 1);
    const baseMean = (base0.bestTestAcc! + base1.bestTestAcc! + base2.bestTestAcc!) / 3;
    assert.match(deltaRow[0], new RegExp(`ResNet-20/C10\\s+${baseMean.toFixed(2)}\\s+${rec.bestTestAcc!.toFixed(2)}\\s+\\+${(rec.bestTestAcc! - baseMean).toFixed(2)}`));
    c = await charts(page);
    for (const [name, datasets] of Object.entries(c).filter(([k]) => k.startsWith('compare-'))) {
      assert.deepEqual(datasets.map((d) => [d.runId, d.points.length]), [[base0.id, 5], [live.id, 5]], name);
    }
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-comparison.png'), fullPage: true });

    // ----- no CSP violation, no error -----
    assert.deepEqual(await violations(page), []);
    assert.deepEqual(errors, []);

    // ----- reload: the stored state comes back through getState -----
    const stored = (await lastState(page)) as { selected: string[]; hidden: string[]; view: string; comparePair: unknown };
    assert.deepEqual(stored, { selected: [base0.id, live.id], hidden: [base1.id], view: 'compare', comparePair: { a: base0.id, b: live.id } });
    await page.close();
    server.nextState = stored;
    const again = await openDashboard(context, server, errors);
    assert.deepEqual(await posted(again), [{ type: 'ready', payload: {} }]);
    await send(again, { type: 'snapshot', payload: { runs: all.map(toRunSummary), epochs: { ...fx.epochs, [live.id]: [...fx.epochs[live.id], ...fx.liveEpochs] }, selected: [] } });
    await settle(again);
    // The comparison itself is not page state: the page asks the host for it again.
    assert.deepEqual((await posted(again)).slice(1), [{ type: 'compare', payload: { a: base0.id, b: live.id } }]);
    assert.equal(await again.locator('.compare-view').isVisible(), true);
    const selectedRows = await again.locator('tr.run.selected').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')));
    assert.deepEqual(selectedRows.sort(), [base0.id, live.id].sort());
    const restored = await charts(again);
    assert.equal(restored['main-testAcc'].length, 4);
    assert.ok(!restored['main-testAcc'].some((d) => d.runId === base1.id), 'hidden run stays hidden');
    assert.equal(await row(again, base1.id).locator('vscode-checkbox').evaluate((el) => (el as HTMLElement & { checked: boolean }).checked), false);
    assert.deepEqual(await violations(again), []);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
    await server.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
