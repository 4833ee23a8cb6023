/**
 * The editor's race index (src/races/race-index.ts) on a real store folder: it reads nothing until
 * asked, tells listeners a race's record before and after a change (what the rung notifications
 * compare), stays quiet when race.json did not change, and keeps a damaged race.json as a one-line
 * problem naming the file instead of dropping it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { raceFile, writeRace } from '../src/races/race-store';
import { RaceIndex, type RaceChange } from '../src/races/race-index';
import { raceFixture } from './fixtures/race-record';

test('race index: changes with the record before, no change no event, damaged files listed', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-race-index-'));
  try {
    const live = raceFixture('live');
    writeRace(root, live);
    const index = new RaceIndex(root);
    const changes: RaceChange[] = [];
    index.onChange((c) => changes.push(c));
    assert.deepEqual(
      index.all().map((r) => r.id),
      [live.id],
    );
    index.refresh(live.id);
    assert.equal(changes.length, 0, 'race.json did not change');
    writeRace(root, raceFixture('done'));
    index.refresh(live.id);
    assert.equal(changes.length, 1);
    assert.equal(changes[0].before?.status, 'running');
    assert.equal(changes[0].race.status, 'completed');
    fs.mkdirSync(path.join(root, 'races', 'r9'));
    fs.writeFileSync(raceFile(root, 'r9'), '{"format": 1, "id": "r9"');
    index.refresh('r9');
    assert.match(index.problems.get('r9') ?? '', /races\/r9\/race\.json is damaged/);
    assert.equal(index.get('r9'), undefined);
    // A fresh index lists the same problem under the same key.
    const again = new RaceIndex(root);
    assert.equal(again.all().length, 1);
    assert.match(again.problems.get('r9') ?? '', /race\.json is damaged/);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});
