/**
 * The dashboard's Race view in headless Chromium (test/dashboard-page.ts), fed with messages the
 * host's model builds from a fixture race record: the Races tab appears with the first race; rungs
 * are columns and entrants rows with their state; a drop names its rule and p; the leader is
 * starred; a `race` message updates the view live (rung 2 ends: a drop against the leader, the
 * final ranking, taus, compute); Cancel posts cancelRace; `reveal` switches to a new race; an
 * unreadable race.json is listed.
 * Screenshot: test-results/screenshots/dashboard-race.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { dashboardContext, snapshotMessage } from '../src/present/dashboard-model';
import { raceView } from '../src/present/race-view-model';
import { launchDashboard, posted, send, settle, SHOTS, violations } from './dashboard-page';
import { raceFixture } from './fixtures/race-record';

const cellState = (page: Page, entrant: string, rung: number) =>
  page.locator(`table.race-rungs tr[data-entrant="${entrant}"] td[data-rung="${rung}"]`).getAttribute('data-state');
const cellText = (page: Page, entrant: string, rung: number) =>
  page.locator(`table.race-rungs tr[data-entrant="${entrant}"] td[data-rung="${rung}"]`).innerText();

test(
  'race view: rungs x entrants, drops with rule and p, leader, live update to the final ranking, cancel, reveal, unreadable race.json listed',
  { timeout: 90_000 },
  async () => {
    const browser = await launchDashboard();
    const errors: string[] = [];
    try {
      const page = await browser.open(errors);
      const empty = snapshotMessage([], () => [], [], undefined, dashboardContext([]));
      await send(page, { ...empty, payload: { ...empty.payload, races: [] } });
      await settle(page);
      const racesTab = page.locator('vscode-button', { hasText: 'Races' });
      assert.equal(await racesTab.isVisible(), false, 'no Races tab without races');

      // ----- a live race arrives in the snapshot -----
      const live = raceFixture('live');
      await send(page, { ...empty, payload: { ...empty.payload, races: [raceView(live)] } });
      await settle(page);
      assert.equal(await racesTab.isVisible(), true);
      await racesTab.click();
      await settle(page);
      assert.equal(await page.locator('.races-view').isVisible(), true);
      const heads = await page.locator('table.race-rungs thead th').allInnerTexts();
      assert.equal(heads.length, 4);
      assert.match(heads[1], /^Rung 1 · smoke · 1 epoch · seeds 0,1 · ResNet-20\/C10/);
      assert.deepEqual(await page.locator('table.race-rungs tbody th').allInnerTexts(), ['blank (baseline)', 'conf', 'ortho', 'bad-idea', 'broken']);
      assert.deepEqual(
        await Promise.all(
          ['c1', 'c2', 'c3', 'c4'].map(async (id) => [await cellState(page, id, 0), await cellState(page, id, 1), await cellState(page, id, 2)].join(' ')),
        ),
        ['advanced running pending', 'advanced running pending', 'dropped out out', 'failed out out'],
      );
      assert.match(
        await cellText(page, 'c3', 0),
        /dropped[\s\S]*37\.25 \(2\/2\)[\s\S]*Δ −2\.75 · p = 0\.004[\s\S]*worse than the baseline \(p = 0\.004, level 0\.025\)/,
      );
      assert.match(await cellText(page, 'c4', 0), /failed: variants\/broken\.ts:3: syntax error/);
      assert.match(await cellText(page, 'c1', 0), /^★ advanced/);
      assert.match(await cellText(page, 'c1', 1), /running[\s\S]*— \(0\/3\)/);
      assert.match(await page.locator('.race-header').innerText(), /running · leader: conf/);
      assert.match(await page.locator('.race-ranking-section').innerText(), /When the race completes/);

      // ----- cancel posts cancelRace -----
      await page.locator('button.race-cancel').click();
      assert.deepEqual((await posted(page)).pop(), { type: 'cancelRace', payload: { raceId: live.id } });

      // ----- race.json changed: rung 2 and 3 done, the race completed -----
      const done = raceFixture('done');
      await send(page, { type: 'race', payload: { race: raceView(done) } });
      await settle(page);
      assert.deepEqual([await cellState(page, 'c2', 1), await cellState(page, 'c2', 2), await cellState(page, 'c1', 2)], ['dropped', 'out', 'advanced']);
      assert.match(await cellText(page, 'c2', 1), /worse than the leader conf \(p = 0\.020, level 0\.0125\)/);
      assert.equal(await page.locator('button.race-cancel').isVisible(), false, 'no cancel on a finished race');
      const ranking = await page.locator('table.race-ranking tbody tr').allInnerTexts();
      assert.equal(ranking.length, 1);
      assert.match(ranking[0], /^1\s+conf\s+rung 3\s+6\s+\+1\.55\s+\[\+0\.90, \+2\.20\]\s+p = 0\.970$/);
      assert.deepEqual(await page.locator('ul.race-taus li').allInnerTexts(), ['rung 1 → 2: τ = 1.00 (n = 2)', 'rung 2 → 3: τ = — (n = 1)']);
      assert.equal(await page.locator('.race-compute').innerText(), '27 runs (+2 reused), 0.9 h; exhaustive: 30 runs, 2.4 h; the race used 38% of it');
      await page.screenshot({ path: path.join(SHOTS, 'dashboard-race.png'), fullPage: true });

      // ----- a new race started from the editor is revealed, from any view -----
      await page.locator('vscode-button', { hasText: 'Charts' }).click();
      await settle(page);
      const second = { ...raceFixture('live'), id: 'race-20261207-2', created: '2026-12-07T22:00:00Z' };
      await send(page, { type: 'race', payload: { race: raceView(second), reveal: true } });
      await settle(page);
      assert.equal(await page.locator('.races-view').isVisible(), true);
      assert.equal(await page.locator('.race-header').getAttribute('data-race'), second.id);
      assert.equal(await page.locator('select.race-pick option').count(), 2);
      await page.locator('select.race-pick').selectOption(done.id);
      await settle(page);
      assert.equal(await page.locator('.race-header').getAttribute('data-race'), done.id);

      // ----- a damaged race.json is shown, not hidden -----
      const damaged = '/ws/.regbench/races/r9/race.json is damaged (not valid JSON: Unexpected end of JSON input); it is left as it is';
      await send(page, { ...empty, payload: { ...empty.payload, races: [raceView(done)], raceProblems: [damaged] } });
      await settle(page);
      assert.deepEqual(await page.locator('ul.race-problems li').allInnerTexts(), [damaged]);

      assert.deepEqual(await violations(page), []);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  },
);
