/**
 * The dashboard page in headless Chromium for tests (not a test file itself): served the way the
 * host serves it (a CSP with a nonce, an `acquireVsCodeApi` stub that records what the page posts,
 * Dark+ theme variables), messages delivered as VS Code delivers them (a window `message` event).
 * test/dashboard.test.ts has the full theme tables; this is the smaller harness the race view and
 * the within-epoch loss tests share. Needs media/dashboard.js (node scripts/build.mjs) and
 * Chromium at /usr/bin/chromium.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import type { HostToWebviewMessage, WebviewToHostMessage } from '../src/protocol/webview';

export const CHROMIUM = '/usr/bin/chromium';

function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'scripts', 'build.mjs'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}
export const ROOT = repoRoot();
export const SHOTS = path.join(ROOT, 'test-results', 'screenshots');

const VARS: Record<string, string> = {
  '--vscode-font-family': 'sans-serif',
  '--vscode-font-size': '13px',
  '--vscode-editor-font-family': 'monospace',
  '--vscode-foreground': '#cccccc',
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
  '--vscode-button-background': '#0e639c',
  '--vscode-button-foreground': '#ffffff',
  '--vscode-button-secondaryBackground': '#3a3d41',
  '--vscode-button-secondaryForeground': '#ffffff',
};

function pageHtml(origin: string, nonce: string): string {
  const csp = `default-src 'none'; img-src ${origin}; style-src ${origin} 'nonce-${nonce}'; font-src ${origin}; script-src 'nonce-${nonce}';`;
  return `<!DOCTYPE html>
<html lang="en"><head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta property="csp-nonce" content="${nonce}">
<script nonce="${nonce}">
  window.__test = { posted: [], violations: [] };
  document.addEventListener('securitypolicyviolation', (e) => window.__test.violations.push(e.violatedDirective + ' ' + e.blockedURI));
  let state = null;
  window.acquireVsCodeApi = () => ({
    postMessage: (m) => window.__test.posted.push(JSON.parse(JSON.stringify(m))),
    getState: () => state,
    setState: (s) => { state = s; },
  });
</script>
<link rel="stylesheet" href="${origin}/media/dashboard.css">
<title>Regbench</title>
</head>
<body class="vscode-dark" data-vscode-theme-kind="vscode-dark">
<script nonce="${nonce}">for (const [k, v] of Object.entries(${JSON.stringify(VARS)})) document.body.style.setProperty(k, v);</script>
<script nonce="${nonce}" src="${origin}/media/dashboard.js"></script>
</body></html>`;
}

export interface DashboardBrowser {
  context: BrowserContext;
  open(errors: string[]): Promise<Page>;
  close(): Promise<void>;
}

export async function launchDashboard(): Promise<DashboardBrowser> {
  assert.ok(fs.existsSync(path.join(ROOT, 'media', 'dashboard.js')), 'media/dashboard.js is missing: run node scripts/build.mjs first');
  assert.ok(fs.existsSync(CHROMIUM), `Chromium not found at ${CHROMIUM}`);
  fs.mkdirSync(SHOTS, { recursive: true });
  const server = http.createServer();
  let origin = '';
  server.on('request', (req, res) => {
    const url = req.url ?? '/';
    if (url === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(pageHtml(origin, randomBytes(16).toString('base64')));
    } else if (url === '/media/dashboard.js' || url === '/media/dashboard.css') {
      res.writeHead(200, { 'content-type': url.endsWith('.js') ? 'text/javascript' : 'text/css' });
      res.end(fs.readFileSync(path.join(ROOT, url)));
    } else res.writeHead(url === '/favicon.ico' ? 204 : 404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-dashboard-page-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-component-update', '--disable-sync'],
  });
  return {
    context,
    async open(errors) {
      const page = await context.newPage();
      page.on('console', (m) => m.type() === 'error' && errors.push(`console: ${m.text()}`));
      page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
      await page.goto(origin + '/');
      await page.waitForFunction(() => (window as unknown as { __test: { posted: Array<{ type: string }> } }).__test.posted.some((m) => m.type === 'ready'));
      return page;
    },
    async close() {
      await context.close();
      await new Promise<void>((r) => server.close(() => r()));
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function send(page: Page, msg: HostToWebviewMessage): Promise<void> {
  await page.evaluate((data) => window.dispatchEvent(new MessageEvent('message', { data })), msg);
}

/** Two animation frames: the page renders once per frame. */
export async function settle(page: Page): Promise<void> {
  await page.evaluate(() => new Promise<void>((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
}

export interface DrawnDataset {
  id: string;
  group: string;
  role: 'mean' | 'run';
  points: Array<[number, number | null]>;
  band: Array<[number, number, number]> | null;
}

/** The page's read-only test hook (webview/main.ts): plain copies of the chart data. */
export async function charts(page: Page): Promise<Record<string, DrawnDataset[]>> {
  return page.evaluate(() => (window as unknown as { __regbenchCharts: { describe(): Record<string, DrawnDataset[]> } }).__regbenchCharts.describe());
}

export async function posted(page: Page): Promise<WebviewToHostMessage[]> {
  return page.evaluate(() => (window as unknown as { __test: { posted: WebviewToHostMessage[] } }).__test.posted);
}

export async function violations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __test: { violations: string[] } }).__test.violations);
}
