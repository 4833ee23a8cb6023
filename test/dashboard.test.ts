/**
 * The dashboard page in headless Chromium, served the way the host serves it: the same CSP with a
 * nonce, an `acquireVsCodeApi` stub that records posted messages and keeps getState/setState, and
 * the Dark+ theme variables. Messages arrive as VS Code delivers them (a window `message` event).
 * Needs the bundle media/dashboard.js (node scripts/build.mjs) and Chromium at /usr/bin/chromium.
 * Screenshots go to test-results/screenshots/dashboard-*.png. The second test measures the page
 * with 500 runs of 200 epochs (first render, one epoch's update, JS heap) and prints the figures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { requireTool } from './requirements';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { BENCHMARKS, getBenchmark, RECIPE, type BenchId, type RunSpec } from '../src/protocol/benchmarks';
import type { EpochEvent, RunEndEvent } from '../src/protocol/events';
import type { HostToWebviewMessage, WebviewToHostMessage } from '../src/protocol/webview';
import { appendMessage, buildComparison, dashboardContext, snapshotMessage, type DashboardContext, type SignificanceOf } from '../src/present/dashboard-model';
import { applyEvent, type RunRecord } from '../src/runs/run-record';
import { meanCurve, runCurve, seedGroups } from '../webview/series';
import { queryRuns } from '../webview/table-query';
import { INITIAL_VIEW_STATE, NO_FILTERS } from '../webview/view-state';

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
// Fixtures: records built through the store's own applyEvent, messages through the host's model
// ---------------------------------------------------------------------------------------------

const T0 = Date.parse('2026-11-23T10:00:00Z');
const HELD_OUT: BenchId = 'resnet56-cifar100';

function makeSpec(id: string, bench: BenchId, seed: number, variant: string, hash: string, epochs: number): RunSpec {
  const b = getBenchmark(bench);
  return {
    runId: id,
    bench,
    arch: b.arch,
    dataset: b.dataset,
    numClasses: b.numClasses,
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

function start(r: RunRecord): RunRecord {
  return applyEvent(r, {
    type: 'run-start',
    runId: r.id,
    time: r.createdAt,
    spec: r.spec,
    stepsPerEpoch: 79,
    trainImages: 10000,
    testImages: 2000,
    env: { engine: 'tfjs', backend: 'wasm', versions: { tfjs: '4.22.0' }, platform: 'linux', cpus: 2, hostname: 'ci', threads: 2 },
  });
}

function end(r: RunRecord, status: RunEndEvent['status'], reason?: string): RunRecord {
  return applyEvent(r, {
    type: 'run-end',
    runId: r.id,
    time: r.createdAt,
    status,
    bestTestAcc: r.bestTestAcc,
    finalTestAcc: r.finalTestAcc,
    epochsCompleted: r.epochsCompleted,
    seconds: 60,
    reason,
  });
}

interface Fixture {
  records: RunRecord[];
  epochs: Record<string, EpochEvent[]>;
}

/** Trains a record through `n` epochs of the curve, keeping the events in `fx.epochs`. */
function train(fx: Fixture, r: RunRecord, n: number, skill: number): RunRecord {
  fx.epochs[r.id] = [];
  for (let i = 0; i < n; i++) {
    const e = epochEvent(r, i, skill);
    fx.epochs[r.id].push(e);
    r = applyEvent(r, e);
  }
  return r;
}

function completed(fx: Fixture, id: string, bench: BenchId, seed: number, variant: string, hash: string, minute: number, skill: number, epochs = 5): RunRecord {
  return end(train(fx, start(newRecord(id, makeSpec(id, bench, seed, variant, hash, epochs), minute)), epochs, skill), 'completed');
}

/**
 * Three seeds of a baseline (one more on the held-out benchmark), a failed run, a live run of a
 * variant and a second version of the same file (edited), finished.
 */
function fixture(): Fixture & { live: RunRecord; liveEpochs: EpochEvent[] } {
  const fx: Fixture = { records: [], epochs: {} };
  [0.4, 1.9, -0.8].forEach((skill, seed) =>
    fx.records.push(completed(fx, `run-baseline-${seed}`, 'resnet20-cifar10', seed, 'baseline', 'b0b0b0b0b0b0b0b0', seed, skill)),
  );
  fx.records.push(completed(fx, 'run-baseline-heldout', HELD_OUT, 0, 'baseline', 'b0b0b0b0b0b0b0b0', 3, 9.1));
  const failedId = 'run-groupnorm-0';
  let failed = start(newRecord(failedId, makeSpec(failedId, 'mobilenetv2-fmnist', 0, 'group-norm', '9n9n9n9n9n9n9n9n', 3), 4));
  failed = applyEvent(failed, {
    type: 'error',
    runId: failedId,
    time: failed.createdAt,
    kind: 'variant',
    message: 'CustomNorm.forward returned shape [128,8] for input [128,16,32,32]',
  });
  fx.records.push(end(failed, 'failed'));
  fx.epochs[failedId] = [];
  // A live run: 2 of 5 epochs in the snapshot, the rest arrive as `append` messages.
  const liveId = 'run-confidence-0';
  const live = train(fx, start(newRecord(liveId, makeSpec(liveId, 'resnet20-cifar10', 0, 'confidence-penalty', 'c0c0c0c0c0c0c0c0', 5), 6)), 2, 2.5);
  fx.records.push(live);
  fx.records.push(completed(fx, 'run-confidence-edited', 'resnet20-cifar10', 0, 'confidence-penalty', 'c1c1c1c1c1c1c1c1', 8, 3.3));
  const liveEpochs = [2, 3, 4].map((i) => epochEvent(live, i, 2.5));
  return { ...fx, live, liveEpochs };
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

interface DatasetDescription {
  id: string;
  runId: string | null;
  group: string;
  role: 'mean' | 'run';
  label: string;
  color: string;
  drawnPointColor: string | null;
  points: Array<[number, number | null]>;
  band: Array<[number, number, number]> | null;
}
type ChartDescription = Record<string, DatasetDescription[]>;

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
const shownRows = (page: Page) => page.locator('tr.run').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')));
const groupKey = (r: RunRecord) => `${r.spec.variantHash}|${r.spec.budget}|${r.spec.engine}|${r.spec.bench}`;
const roles = (datasets: DatasetDescription[]) => datasets.map((d) => `${d.group.split('|')[0].slice(0, 4)}:${d.role}${d.band ? '+band' : ''}`);

function meanAndStd(xs: number[]): { m: number; sd: number } {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return { m, sd: Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1)) };
}

function meanStd(xs: number[]): string {
  const { m, sd } = meanAndStd(xs);
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

async function launch(): Promise<{ context: BrowserContext; server: Server; close(): Promise<void> }> {
  const bundle = path.join(ROOT, 'media', 'dashboard.js');
  assert.ok(fs.existsSync(bundle), `${bundle} is missing: run node scripts/build.mjs first`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const server = await serve();
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-dashboard-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    server,
    close: async () => {
      await context.close();
      await server.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// The tests
// ---------------------------------------------------------------------------------------------

test('page model (no browser): seed groups, mean ± std curves, filtering and sorting', () => {
  const fx = fixture();
  const ctx = dashboardContext(fx.records, new Set([HELD_OUT]));
  const runs = snapshotMessage(fx.records, (id) => fx.epochs[id] ?? [], [], undefined, ctx).payload.runs;
  const cols = snapshotMessage(fx.records, (id) => fx.epochs[id] ?? [], [], undefined, ctx).payload.epochs;
  // Groups: same hash, budget, engine and benchmark; oldest first; seeds in order.
  const groups = seedGroups(runs);
  assert.deepEqual(
    groups.map((g) => g.runs.map((r) => r.id)),
    [['run-baseline-0', 'run-baseline-1', 'run-baseline-2'], ['run-baseline-heldout'], ['run-groupnorm-0'], ['run-confidence-0'], ['run-confidence-edited']],
  );
  // A live seed that is behind counts only where it got to; one value has std 0.
  const short = { ...cols['run-baseline-0'], epoch: [0, 1], testAcc: [70, 72] };
  const curve = meanCurve([short, { ...short, testAcc: [74, null] }, { ...short, epoch: [0, 1, 2], testAcc: [72, 74, 80] }], 'testAcc');
  assert.deepEqual(
    curve.map((p) => [p.x, p.y, Number(p.s?.toFixed(6))]),
    [
      [1, 72, 2],
      [2, 73, Number(Math.SQRT2.toFixed(6))],
      [3, 80, 0],
    ],
  );
  assert.deepEqual(
    runCurve({ ...short, testAcc: [70, null] }, 'testAcc').map((p) => p.y),
    [70, NaN],
  );
  // Filters combine; text matches label, name, id and hash; sorting keeps nulls last.
  const ids = (f: Partial<typeof NO_FILTERS>, sort = INITIAL_VIEW_STATE.sort) => queryRuns(runs, { ...NO_FILTERS, ...f }, sort).map((r) => r.id);
  assert.deepEqual(ids({ variant: 'confidence-penalty', status: 'running' }), ['run-confidence-0']);
  assert.deepEqual(ids({ text: '#2 (C1C1' }), ['run-confidence-edited']);
  assert.deepEqual(ids({ engine: 'pytorch' }), []);
  assert.deepEqual(ids({ budget: 'quick', bench: 'mobilenetv2-fmnist' }), ['run-groupnorm-0']);
  assert.deepEqual(ids({}).slice(0, 2), ['run-confidence-edited', 'run-confidence-0'], 'newest first by default');
  const byBest = ids({}, { key: 'best', desc: false });
  assert.deepEqual(byBest.slice(-2).sort(), ['run-baseline-heldout', 'run-groupnorm-0'], 'no accuracy: last');
  assert.equal(byBest[0], 'run-confidence-0', 'the live run, 2 epochs in');
});

/** The host's side: builds messages with the model and keeps every one it sent. */
class FakeHost {
  readonly sent: HostToWebviewMessage[] = [];
  records: RunRecord[];
  readonly ctx: DashboardContext;

  constructor(
    private readonly fx: Fixture,
    heldOut: ReadonlySet<BenchId>,
    significance?: SignificanceOf,
  ) {
    this.records = [...fx.records];
    this.ctx = dashboardContext(this.records, heldOut, significance);
  }

  async post(page: Page, msg: HostToWebviewMessage): Promise<void> {
    this.sent.push(msg);
    await send(page, msg);
  }

  snapshot(extraEpochs: Record<string, EpochEvent[]> = {}): Extract<HostToWebviewMessage, { type: 'snapshot' }> {
    const epochs = { ...this.fx.epochs, ...extraEpochs };
    return snapshotMessage(this.records, (id) => epochs[id] ?? [], [], undefined, this.ctx);
  }

  /** A record moved on: replace it and build its `append`. */
  append(r: RunRecord, event?: EpochEvent): HostToWebviewMessage {
    this.records = this.records.map((x) => (x.id === r.id ? r : x));
    return appendMessage(r, this.records, this.ctx, event);
  }
}

test('dashboard: labels, per-benchmark bands, seeds, filters, leaderboard, held-out, comparison, themes, CSP, reload', { timeout: 90_000 }, async (ctx) => {
  if (!requireTool(ctx, 'chromium', fs.existsSync(CHROMIUM), `no ${CHROMIUM}`)) return;
  const browser = await launch();
  const errors: string[] = [];
  try {
    const fx = fixture();
    // The statistics module's hook: it marks the edited variant's cell (its figures are made up).
    const significance: SignificanceOf = (group, bench) =>
      group[0].variantHash.startsWith('c1c1') && bench === 'resnet20-cifar10' ? { p: 0.03, diff: 1.2 } : undefined;
    const host = new FakeHost(fx, new Set([HELD_OUT]), significance);
    const [base0, base1, base2, heldOut, failed, live, edited] = fx.records;

    // ----- handshake: `ready` comes first and alone -----
    const page = await openDashboard(browser.context, browser.server, errors);
    assert.deepEqual(await posted(page), [{ type: 'ready', payload: {} }]);

    // ----- snapshot -----
    await host.post(page, host.snapshot());
    await settle(page);
    assert.equal(await page.locator('tr.run').count(), 7);
    // Benchmark tabs in the benchmarks' order; the first one with curves is shown.
    assert.deepEqual(await page.locator('.bench-tab').allInnerTexts(), ['ResNet-56/C100', 'MobileNetV2/FMNIST', 'ResNet-20/C10']);
    assert.equal(await page.locator('.bench-tab.active').innerText(), 'MobileNetV2/FMNIST');
    let c = await charts(page);
    assert.deepEqual(
      Object.keys(c)
        .filter((k) => k.startsWith('main-'))
        .sort(),
      ['main-lr', 'main-regTerm', 'main-testAcc', 'main-testLoss', 'main-trainAcc', 'main-trainLoss'],
    );
    assert.deepEqual(roles(c['main-testAcc']), ['9n9n:run'], 'only MobileNetV2 runs on its tab');

    // ----- one benchmark per view: the seed group is a mean with a ± std band -----
    await page.locator('.bench-tab[data-bench="resnet20-cifar10"]').click();
    await settle(page);
    c = await charts(page);
    for (const [name, datasets] of Object.entries(c).filter(([k]) => k.startsWith('main-'))) {
      assert.deepEqual(roles(datasets), ['b0b0:mean+band', 'c0c0:run', 'c1c1:run'], name);
    }
    const baseMean = c['main-testAcc'].find((d) => d.group === groupKey(base0));
    const seedAccs = (epoch: number) => [base0, base1, base2].map((r) => fx.epochs[r.id][epoch].testAcc);
    for (let epoch = 0; epoch < 5; epoch++) {
      const { m, sd } = meanAndStd(seedAccs(epoch));
      assert.ok(Math.abs((baseMean?.points[epoch][1] ?? NaN) - m) < 1e-9, `mean at epoch ${epoch + 1}`);
      const [x, low, high] = baseMean?.band?.[epoch] ?? [NaN, NaN, NaN];
      assert.ok(x === epoch + 1 && Math.abs(low - (m - sd)) < 1e-9 && Math.abs(high - (m + sd)) < 1e-9, `band at epoch ${epoch + 1}`);
    }
    assert.equal(c['main-testAcc'].find((d) => d.runId === live.id)?.points.length, 2, 'a group of one run is that run');

    // ----- labels tell the two versions of confidence-penalty apart -----
    const liveLabel = await row(page, live.id).locator('button.run-name').innerText();
    const editedLabel = await row(page, edited.id).locator('button.run-name').innerText();
    assert.match(liveLabel, /^confidence-penalty #1 \(c0c0c0\) · ResNet-20\/C10 · s0 · \d+\.\d%$/);
    assert.match(editedLabel, /^confidence-penalty #2 \(c1c1c1\) · ResNet-20\/C10 · s0 · 82\.1%$/);
    assert.match(await page.locator('.legend').innerText(), /baseline #1 \(b0b0b0\) · 3 seeds · \d+\.\d\d ± \d+\.\d\d%/);

    // ----- live epochs: one `append` each, then the status change -----
    let rec = live;
    for (const e of fx.liveEpochs) {
      rec = applyEvent(rec, e);
      await host.post(page, host.append(rec, e));
    }
    rec = end(rec, 'completed');
    await host.post(page, host.append(rec));
    await settle(page);
    c = await charts(page);
    const liveTest = c['main-testAcc'].find((d) => d.id === live.id);
    assert.deepEqual(
      liveTest?.points.map((p) => p[0]),
      [1, 2, 3, 4, 5],
    );
    assert.equal(liveTest?.points[4][1], fx.liveEpochs[2].testAcc);
    assert.equal(liveTest?.label, `confidence-penalty #1 (c0c0c0) · s0 · ${rec.bestTestAcc?.toFixed(1)}%`);
    assert.equal(new Set(c['main-testAcc'].map((d) => d.color)).size, 3, 'one color per seed group');
    assert.equal(c['main-testAcc'][0].color, '#3794ff', 'colors come from --vscode-charts-*');
    assert.equal(await row(page, live.id).locator('td.best').innerText(), rec.bestTestAcc?.toFixed(2));
    assert.equal(await row(page, live.id).locator('td.epoch').innerText(), '5/5');
    assert.match(await row(page, failed.id).innerText(), /CustomNorm\.forward returned shape/);
    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-dark.png'), fullPage: true });

    // ----- seeds on request -----
    await page.locator('#show-seeds').check();
    await settle(page);
    assert.deepEqual(roles((await charts(page))['main-testAcc']), ['b0b0:run', 'b0b0:run', 'b0b0:run', 'b0b0:mean', 'c0c0:run', 'c1c1:run']);
    await page.locator('#show-seeds').uncheck();

    // ----- the legend hides a whole seed group; the table's checkboxes follow -----
    await page.locator(`.legend-item[data-group="${groupKey(base0)}"]`).click();
    await settle(page);
    assert.deepEqual(roles((await charts(page))['main-testAcc']), ['c0c0:run', 'c1c1:run']);
    assert.equal(await row(page, base1.id).locator('input.show-run').isChecked(), false);
    await page.locator(`.legend-item[data-group="${groupKey(base0)}"]`).click();
    await row(page, base1.id).locator('input.show-run').click();
    await settle(page);
    assert.deepEqual(roles((await charts(page))['main-testAcc']), ['b0b0:mean+band', 'c0c0:run', 'c1c1:run'], 'a band over the two seeds left');
    assert.deepEqual(((await lastState(page)) as { hidden: string[] }).hidden, [base1.id]);

    // ----- buttons post their messages -----
    await row(page, live.id).locator('button.run-name').click();
    await row(page, failed.id).locator('td.actions button', { hasText: 'Log' }).click();
    await row(page, failed.id).locator('td.actions button', { hasText: 'Rerun cmd' }).click();
    assert.deepEqual((await posted(page)).slice(-3), [
      { type: 'openRun', payload: { runId: live.id } },
      { type: 'showLog', payload: { runId: failed.id } },
      { type: 'copyRerunCommand', payload: { runId: failed.id } },
    ]);
    // Resume is offered for interrupted runs only (a failed one is resumed from the tree, where its checkpoint is checked).
    assert.equal(await row(page, failed.id).locator('td.actions button', { hasText: 'Resume' }).isHidden(), true);

    // ----- filters and sorting -----
    await page.locator('select[data-filter="status"]').selectOption('failed');
    await settle(page);
    assert.deepEqual(await shownRows(page), [failed.id]);
    assert.equal(await page.locator('.run-count').innerText(), '1 of 7 runs');
    await page.locator('select[data-filter="status"]').selectOption('');
    await page.locator('select[data-filter="bench"]').selectOption('resnet20-cifar10');
    await page.locator('input.filter-text').fill('c1c1');
    await settle(page);
    assert.deepEqual(await shownRows(page), [edited.id], 'text matches the hash');
    await page.locator('input.filter-text').fill('');
    await page.locator('button[data-sort="best"]').click();
    await settle(page);
    const byBest = [edited, rec, base1, base0, base2].sort((x, y) => (y.bestTestAcc ?? 0) - (x.bestTestAcc ?? 0)).map((r) => r.id);
    assert.deepEqual(await shownRows(page), byBest);
    await page.locator('button[data-sort="best"]').click();
    await settle(page);
    assert.deepEqual(await shownRows(page), [...byBest].reverse());
    await page.locator('select[data-filter="bench"]').selectOption('');
    await settle(page);
    assert.deepEqual((await shownRows(page)).slice(-2).sort(), [failed.id, heldOut.id].sort(), 'no accuracy: last either way');

    // ----- leaderboard -----
    await page.locator('vscode-button', { hasText: 'Leaderboard' }).click();
    await settle(page);
    const heads = await page.locator('table.leaderboard thead th').allInnerTexts();
    assert.deepEqual(
      heads.map((x) => x.trim()),
      ['Variant', 'ResNet-56/C100 (held out)', 'MobileNetV2/FMNIST', 'ResNet-20/C10'],
    );
    const baseRow = page.locator(`table.leaderboard tr[data-row="b0b0b0b0b0b0b0b0|quick|tfjs"]`);
    assert.match(
      await baseRow.locator('td[data-bench="resnet20-cifar10"]').innerText(),
      new RegExp(`^${meanStd([base0, base1, base2].map((r) => r.bestTestAcc as number)).replace(/[.+]/g, '\\$&')} \\(3\\)$`),
    );
    assert.equal(await baseRow.locator(`td[data-bench="${HELD_OUT}"]`).innerText(), '1 run');
    const editedTd = page.locator(`table.leaderboard tr[data-row="c1c1c1c1c1c1c1c1|quick|tfjs"] td[data-bench="resnet20-cifar10"]`);
    assert.match(await editedTd.innerText(), /^★ 82\.06 \(1\)\s*\*$/, 'best in its column, significant');
    assert.equal(await page.locator('table.leaderboard .best').count(), 1, 'one best per column with means (failed MobileNet run has none)');
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-leaderboard.png'), fullPage: true });
    // A click on a cell shows its curves: that benchmark, that group, its seeds.
    await baseRow.locator('td[data-bench="resnet20-cifar10"] button').click();
    await settle(page);
    assert.equal(await page.locator('.charts-view').isVisible(), true);
    assert.deepEqual(roles((await charts(page))['main-testAcc']), ['b0b0:run', 'b0b0:run', 'b0b0:run', 'b0b0:mean'], 'the hidden seed is shown again');
    await page.locator('.focus-chip').click();
    await page.locator('#show-seeds').uncheck();
    await row(page, base1.id).locator('input.show-run').click();
    await settle(page);
    assert.equal((await charts(page))['main-testAcc'].length, 3);

    // ----- light theme: colors are read again from the variables -----
    await setTheme(page, 'vscode-light', LIGHT_VARS);
    c = await charts(page);
    for (const [name, datasets] of Object.entries(c).filter(([k]) => k.startsWith('main-'))) {
      const d = datasets.find((x) => x.role === 'mean');
      assert.equal(d?.color, '#1a85ff', name);
      assert.equal(d?.drawnPointColor, '#1a85ff', `${name}: points redrawn in the new color`);
    }
    await page.mouse.move(0, 0); // no hover highlight in the picture
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-light.png'), fullPage: true });
    await setTheme(page, 'vscode-dark', DARK_VARS);

    // ----- comparison of the two versions of one file: A/B labels differ -----
    await row(page, live.id).locator('td.num').first().click();
    await row(page, edited.id)
      .locator('td.num')
      .first()
      .click({ modifiers: ['Control'] });
    await page.locator('vscode-button', { hasText: 'Compare selected' }).click();
    const sent = await posted(page);
    assert.deepEqual(sent.filter((m) => m.type === 'selectRuns').pop(), { type: 'selectRuns', payload: { runIds: [live.id, edited.id] } });
    assert.deepEqual(sent[sent.length - 1], { type: 'compare', payload: { a: live.id, b: edited.id } });
    const comparison = buildComparison(rec, edited, host.records, host.ctx);
    await host.post(page, { type: 'compare', payload: { comparison } });
    await settle(page);
    assert.equal(await page.locator('.compare-view').isVisible(), true);
    const names = await page.locator('.compare-name').allInnerTexts();
    assert.deepEqual(
      names.map((n) => n.split(' · ')[0]),
      ['confidence-penalty #1 (c0c0c0)', 'confidence-penalty #2 (c1c1c1)'],
    );
    assert.deepEqual(await page.locator('table.settings-diff tbody td.key').allInnerTexts(), ['variantHash']);
    const deltaRow = await page.locator('table.accuracy-deltas tbody tr').allInnerTexts();
    assert.match(
      deltaRow[0],
      new RegExp(
        `ResNet-20/C10\\s+${rec.bestTestAcc!.toFixed(2)}\\s+${edited.bestTestAcc!.toFixed(2)}\\s+\\+${(edited.bestTestAcc! - rec.bestTestAcc!).toFixed(2)}`,
      ),
    );
    c = await charts(page);
    for (const [name, datasets] of Object.entries(c).filter(([k]) => k.startsWith('compare-'))) {
      assert.deepEqual(
        datasets.map((d) => [d.id, d.points.length]),
        [
          [live.id, 5],
          [edited.id, 5],
        ],
        name,
      );
      assert.notEqual(datasets[0].color, datasets[1].color, `${name}: A and B differ in color`);
    }
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-comparison.png'), fullPage: true });

    // ----- no cap on compared runs: a third one, against the same baseline -----
    await row(page, base0.id)
      .locator('td.num')
      .first()
      .click({ modifiers: ['Control'] });
    await page.locator('vscode-button', { hasText: 'Compare selected' }).click();
    assert.deepEqual((await posted(page)).pop(), { type: 'compare', payload: { a: live.id, b: edited.id, more: [base0.id] } });
    await host.post(page, { type: 'compare', payload: { comparison: buildComparison(rec, edited, host.records, host.ctx, [base0]) } });
    await settle(page);
    assert.deepEqual(await page.locator('.compare-tag').allInnerTexts(), ['A', 'B', 'C']);
    assert.deepEqual(await page.locator('table.settings-diff thead th').allInnerTexts(), ['Setting', 'A', 'B', 'C']);
    assert.deepEqual(await page.locator('table.accuracy-deltas thead th').allInnerTexts(), ['Benchmark', 'A', 'B', 'Δ (B − A)', 'C', 'Δ (C − A)']);
    const three = (await charts(page))['compare-testAcc'];
    assert.deepEqual(
      three.map((d) => d.id),
      [live.id, edited.id, base0.id],
    );
    assert.equal(new Set(three.map((d) => d.color)).size, 3);

    // ----- held out: no number of the held-out benchmark reached the page -----
    const heldNumbers = [heldOut.bestTestAcc, heldOut.finalTestAcc, ...fx.epochs[heldOut.id].flatMap((e) => [e.testAcc, e.trainAcc, e.testLoss])].map(String);
    const wire = JSON.stringify(host.sent);
    for (const n of heldNumbers) assert.ok(!wire.includes(n), `${n} (held out) was sent`);
    assert.ok(wire.includes(String(base0.bestTestAcc)), 'the check would see a number that was sent');
    const text = await page.locator('body').innerText();
    for (const n of [heldOut.bestTestAcc!.toFixed(2), heldOut.bestTestAcc!.toFixed(1)]) assert.ok(!text.includes(n), `${n} shown`);
    assert.match(await row(page, heldOut.id).locator('td.best').innerText(), /held out/);

    // ----- no CSP violation, no error -----
    assert.deepEqual(await violations(page), []);
    assert.deepEqual(errors, []);

    // ----- reload: the stored state comes back through getState -----
    const stored = (await lastState(page)) as { selected: string[]; hidden: string[]; view: string; comparePair: unknown; bench: string };
    assert.deepEqual(
      { selected: stored.selected, hidden: stored.hidden, view: stored.view, comparePair: stored.comparePair, bench: stored.bench },
      {
        selected: [live.id, edited.id, base0.id],
        hidden: [base1.id],
        view: 'compare',
        comparePair: { a: live.id, b: edited.id, more: [base0.id] },
        bench: 'resnet20-cifar10',
      },
    );
    await page.close();
    browser.server.nextState = stored;
    const again = await openDashboard(browser.context, browser.server, errors);
    assert.deepEqual(await posted(again), [{ type: 'ready', payload: {} }]);
    await send(again, host.snapshot({ [live.id]: [...fx.epochs[live.id], ...fx.liveEpochs] }));
    await settle(again);
    // The comparison itself is not page state: the page asks the host for it again.
    assert.deepEqual((await posted(again)).slice(1), [{ type: 'compare', payload: { a: live.id, b: edited.id, more: [base0.id] } }]);
    assert.equal(await again.locator('.compare-view').isVisible(), true);
    const selectedRows = await again.locator('tr.run.selected').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-run-id')));
    assert.deepEqual(selectedRows.sort(), [live.id, edited.id, base0.id].sort());
    await again.locator('vscode-button', { hasText: 'Charts' }).click();
    await settle(again);
    assert.equal(await again.locator('.bench-tab.active').innerText(), 'ResNet-20/C10');
    assert.deepEqual(roles((await charts(again))['main-testAcc']), ['b0b0:mean+band', 'c0c0:run', 'c1c1:run']);
    assert.equal(await row(again, base1.id).locator('input.show-run').isChecked(), false);
    assert.deepEqual(await violations(again), []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

/**
 * 500 runs of 200 epochs: variants x 5 benchmarks x 3 seeds, in that order, cut at 500. The last
 * run is live (150 of 200 epochs) on the benchmark the page shows first.
 */
function largeFixture(): Fixture & { live: RunRecord; next: EpochEvent[] } {
  const fx: Fixture = { records: [], epochs: {} };
  const benches = BENCHMARKS.map((b) => b.id);
  let live: RunRecord | undefined;
  for (let v = 0; fx.records.length < 500; v++) {
    const hash = `${String(v).padStart(4, '0')}aaaabbbbcccc`;
    for (const bench of benches) {
      for (let seed = 0; seed < 3 && fx.records.length < 500; seed++) {
        const id = `v${v}-${bench}-s${seed}`;
        const skill = ((v * 7 + seed * 3) % 11) / 2 - 2;
        const minute = fx.records.length;
        if (v === 0 && bench === benches[0] && seed === 0) {
          live = train(fx, start(newRecord(id, makeSpec(id, bench, seed, `variant-${v}`, hash, 200), minute)), 150, skill);
          fx.records.push(live);
        } else {
          fx.records.push(completed(fx, id, bench, seed, `variant-${v}`, hash, minute, skill, 200));
        }
      }
    }
  }
  assert.ok(live);
  const next = [150, 151, 152, 153, 154, 155, 156].map((i) => epochEvent(live as RunRecord, i, 0));
  return { ...fx, live, next };
}

interface Timing {
  /** Wall-clock ms from posting the message to the second frame after it was handled. */
  wall: number;
  /** CPU ms of the page's main thread over the same span (what a loaded machine does not inflate). */
  cpu: number;
}

async function threadTime(cdp: CDPSession): Promise<number> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const t = metrics.find((m) => m.name === 'ThreadTime');
  assert.ok(t, 'Chromium reports the main thread time (Performance.getMetrics ThreadTime)');
  return t.value * 1000;
}

/** Posts `msg` as VS Code delivers it (structured-cloned) and times it until drawn. */
async function timeMessage(page: Page, cdp: CDPSession, msg: HostToWebviewMessage): Promise<Timing> {
  // A string crosses to the page far faster than a large object (Playwright walks every value);
  // it is parsed before the clock starts.
  await page.evaluate((json) => {
    (window as unknown as { __pending: unknown }).__pending = JSON.parse(json);
  }, JSON.stringify(msg));
  const cpu0 = await threadTime(cdp);
  const wall = await page.evaluate(async () => {
    const w = window as unknown as { __pending: unknown };
    const m = w.__pending;
    w.__pending = undefined;
    const frame = () => new Promise<void>((r) => requestAnimationFrame(() => r()));
    await frame();
    // Registered after the page's own listener, so it runs once the page has handled the message.
    const handled = new Promise<void>((r) => window.addEventListener('message', () => r(), { once: true }));
    const t0 = performance.now();
    window.postMessage(m, '*');
    await handled;
    await frame();
    await frame();
    return performance.now() - t0;
  });
  return { wall, cpu: (await threadTime(cdp)) - cpu0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('dashboard at scale: 500 runs of 200 epochs (first render, epoch update, heap)', { timeout: 120_000 }, async (ctx) => {
  if (!requireTool(ctx, 'chromium', fs.existsSync(CHROMIUM), `no ${CHROMIUM}`)) return;
  const browser = await launch();
  const errors: string[] = [];
  try {
    const fx = largeFixture();
    const host = new FakeHost(fx, new Set());
    const page = await openDashboard(browser.context, browser.server, errors);
    const cdp = await browser.context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const snapshot = host.snapshot();
    const megabytes = JSON.stringify(snapshot).length / 1e6;
    const first = await timeMessage(page, cdp, snapshot);
    assert.equal(await page.locator('tr.run').count(), 100, 'the table shows its first page');
    assert.equal(await page.locator('.run-count').innerText(), '500 runs');
    const shown = (await charts(page))['main-testAcc'];
    assert.equal(new Set(shown.map((d) => d.group)).size, 34, 'one mean per seed group of the first benchmark');

    let rec = fx.live;
    const updates: Timing[] = [];
    for (const e of fx.next) {
      rec = applyEvent(rec, e);
      updates.push(await timeMessage(page, cdp, host.append(rec, e)));
    }
    const liveMean = (await charts(page))['main-testAcc'].find((d) => d.group === groupKey(fx.live) && d.role === 'mean');
    assert.equal(liveMean?.points.length, 200, 'the live seed reached 157 epochs, the others 200');

    await cdp.send('HeapProfiler.collectGarbage');
    const heap = (await cdp.send('Runtime.getHeapUsage')).usedSize / 1e6;
    const update = { wall: median(updates.map((u) => u.wall)), cpu: median(updates.map((u) => u.cpu)) };
    const load = os.loadavg()[0].toFixed(1);
    console.log(
      `dashboard, 500 runs x 200 epochs (snapshot ${megabytes.toFixed(1)} MB; load ${load} on ${os.cpus().length} cores): ` +
        `first render ${first.wall.toFixed(0)} ms (main thread ${first.cpu.toFixed(0)} ms), ` +
        `update after an epoch ${update.wall.toFixed(0)} ms (main thread ${update.cpu.toFixed(0)} ms; medians of ${updates.length}), JS heap ${heap.toFixed(1)} MB`,
    );
    // Goals: first render < 1 s, update < 100 ms. The bounds allow 3x, on the main thread's CPU
    // time: on a shared CI machine the wall clock mostly measures the other jobs.
    assert.ok(first.cpu < 3000, `first render took ${first.cpu.toFixed(0)} ms of main thread`);
    assert.ok(update.cpu < 300, `an epoch update took ${update.cpu.toFixed(0)} ms of main thread`);
    assert.ok(heap < 150, `JS heap ${heap.toFixed(1)} MB`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
