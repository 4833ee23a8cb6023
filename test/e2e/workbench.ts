/**
 * Driving the VS Code workbench in a Chromium page the way a user does: the command palette
 * (F1), quick picks, editor tabs, code lenses and a webview's content (two frames deep).
 * Selectors are VS Code's own DOM classes, as of VS Code 1.139.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type BrowserContext, type FrameLocator, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A browser profile of its own (Playwright refuses --user-data-dir in args), XDG dirs included. */
export async function openBrowser(profileDir: string): Promise<BrowserContext> {
  fs.mkdirSync(profileDir, { recursive: true });
  return chromium.launchPersistentContext(path.join(profileDir, 'chromium'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1600, height: 1000 },
    env: {
      ...process.env,
      XDG_CONFIG_HOME: path.join(profileDir, 'config'),
      XDG_CACHE_HOME: path.join(profileDir, 'cache'),
    } as Record<string, string>,
  });
}

const QUICK_INPUT = '.quick-input-widget';

function quickInputBox(page: Page): Locator {
  return page.locator(`${QUICK_INPUT} .quick-input-box input`);
}

/** A visible row of the open quick pick whose label is exactly `label`. */
export function quickPickRow(page: Page, label: string | RegExp): Locator {
  const exact = typeof label === 'string' ? new RegExp(`^${escapeRegExp(label)}$`) : label;
  return page.locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row`).filter({ has: page.locator('.label-name', { hasText: exact }) });
}

/** The open quick pick's title (empty when it has none). */
export function quickPickTitle(page: Page): Locator {
  return page.locator(`${QUICK_INPUT} .quick-input-title`);
}

/** Runs a command from the palette by its full label ("Regbench: Open Dashboard"). */
export async function runCommand(page: Page, label: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = quickInputBox(page);
  await input.waitFor({ state: 'visible' });
  await input.fill(`>${label}`);
  const row = quickPickRow(page, label);
  await row.first().waitFor({ state: 'visible', timeout: 20_000 });
  await row.first().click();
  await closedOrNext(page);
}

/** Answers an open quick pick whose title matches `title` by clicking the row labelled `label`. */
export async function answerQuickPick(page: Page, title: RegExp, label: string | RegExp): Promise<void> {
  await quickPickTitle(page).filter({ hasText: title }).waitFor({ state: 'visible', timeout: 20_000 });
  const row = quickPickRow(page, label);
  await row.first().waitFor({ state: 'visible' });
  await row.first().click();
  await closedOrNext(page);
}

/** The labels of the open quick pick's rows, top to bottom. */
export async function quickPickLabels(page: Page): Promise<string[]> {
  return page.locator(`${QUICK_INPUT} .quick-input-list .monaco-list-row .label-name`).allInnerTexts();
}

/** A click in a quick pick either closes it or replaces it (the next step): give it a beat. */
async function closedOrNext(page: Page): Promise<void> {
  await page.waitForTimeout(300);
}

/** Opens a workspace file with Quick Open (F1, then a file name instead of ">command"). */
export async function openFile(page: Page, relativePath: string): Promise<void> {
  await page.keyboard.press('F1');
  const input = quickInputBox(page);
  await input.waitFor({ state: 'visible' });
  await input.fill(relativePath);
  const name = path.basename(relativePath);
  const row = quickPickRow(page, name);
  await row.first().waitFor({ state: 'visible', timeout: 20_000 });
  await row.first().click();
  await editorTab(page, name).waitFor({ state: 'visible' });
}

/** An editor tab by the start of its title (its aria-label: the label shows name and suffix apart). */
export function editorTab(page: Page, title: string): Locator {
  return page.locator(`.tabs-container .tab[aria-label^="${title.replace(/["\\]/g, '\\$&')}"]`).first();
}

/** The visible webview's page (VS Code nests it: a host iframe, then the content frame). */
export function webview(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview.ready >> visible=true').frameLocator('#active-frame');
}

/** The text of every code lens currently rendered. */
export async function codeLensTexts(page: Page): Promise<string[]> {
  return page.locator('.codelens-decoration').allInnerTexts();
}

/** Waits until a code lens's text matches `pattern`; returns that text. */
export async function waitForCodeLens(page: Page, pattern: RegExp, timeoutMs: number): Promise<string> {
  const lens = page.locator('.codelens-decoration').filter({ hasText: pattern }).first();
  await lens.waitFor({ state: 'visible', timeout: timeoutMs });
  return lens.innerText();
}

/** The notification toasts' messages. */
export async function notificationTexts(page: Page): Promise<string[]> {
  return page.locator('.notification-toast .notification-list-item-message').allInnerTexts();
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
