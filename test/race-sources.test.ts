/**
 * A race compares the sources it began with (src/races/store-world.ts): a changed variant file
 * runs from the copy kept beside the race; when that copy is missing or damaged (truncated, a bit
 * flipped) as well, the race never runs a different source: it stops as interrupted with a
 * message naming both files, and a resume rewrites a damaged copy while the user's file still
 * has the race's hash. Seeded damage over every entrant of a race.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RaceRecord } from '../src/protocol/race';
import { variantHash } from '../src/runs/run-request';
import { RunStore } from '../src/runs/run-store';
import { LocalWorld } from '../src/races/local-world';
import { keepEntrantSources } from '../src/races/store-world';
import { runRace } from '../src/races/race-runner';
import { raceFixture } from './fixtures/race-record';
import { FakeWorld, fakeRace, rng } from './race-fake-world';

function setup(): { root: string; race: RaceRecord; world: LocalWorld; files: string[] } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-race-sources-'));
  const store = new RunStore(path.join(root, '.regbench'));
  const race: RaceRecord = structuredClone(raceFixture('live'));
  const files = [race.baseline, ...race.candidates].map((e) => {
    const file = path.join(root, `${e.id}.ts`);
    const source = `// ${e.label}\nexport function computeRegularization(): number {\n  return ${e.id.length};\n}\n`;
    fs.writeFileSync(file, source);
    e.variantPath = file;
    e.variantHash = variantHash(source);
    return file;
  });
  keepEntrantSources(store.root, race);
  const world = new LocalWorld(store, race, () => undefined, { concurrency: 1, runner: {} });
  return { root, race, world, files };
}

const order = (race: RaceRecord, i: number) => ({
  entrant: i === 0 ? race.baseline : race.candidates[i - 1],
  rung: race.rungs[0],
  bench: race.rungs[0].benches[0],
  seed: 0,
});

function copyOf(root: string, race: RaceRecord, i: number): string {
  const e = i === 0 ? race.baseline : race.candidates[i - 1];
  return path.join(root, '.regbench', 'races', race.id, 'entrants', e.id, path.basename(e.variantPath));
}

test("a changed variant runs from the race's copy; with the copy damaged too, an error names both files and the resume command", () => {
  const random = rng(4242);
  const { root, race, world, files } = setup();
  files.forEach((file, i) => {
    assert.equal(world.request(order(race, i)).variantPath, file, 'unchanged: the user file');
    fs.appendFileSync(file, '// edited after the race began\n');
    const copy = copyOf(root, race, i);
    assert.equal(world.request(order(race, i)).variantPath, copy, 'changed: the kept copy');
    const text = fs.readFileSync(copy);
    const how = ['truncate', 'flip', 'delete'][i % 3];
    if (how === 'truncate') fs.writeFileSync(copy, text.subarray(0, Math.floor(random() * text.length)));
    if (how === 'flip') {
      const at = Math.floor(random() * text.length);
      text[at] ^= 1 << Math.floor(random() * 7);
      fs.writeFileSync(copy, text);
    }
    if (how === 'delete') fs.rmSync(copy);
    assert.throws(
      () => world.request(order(race, i)),
      (e: Error) =>
        e.message.includes(file) &&
        e.message.includes(copy) &&
        e.message.includes(how === 'delete' ? 'missing' : 'damaged') &&
        e.message.includes(`regbench race --resume ${race.id}`),
      `${how}: the message names ${file} and ${copy}`,
    );
  });
});

test('on resume a damaged copy is written again from the user file while it still has the race hash, never from a changed one', () => {
  const { root, race, files } = setup();
  const copy0 = copyOf(root, race, 0);
  const copy1 = copyOf(root, race, 1);
  const good0 = fs.readFileSync(copy0, 'utf8');
  fs.writeFileSync(copy0, good0.slice(0, 10));
  fs.writeFileSync(copy1, 'damaged');
  fs.appendFileSync(files[1], '// changed\n');
  keepEntrantSources(path.join(root, '.regbench'), race);
  assert.equal(fs.readFileSync(copy0, 'utf8'), good0, 'rewritten from the unchanged file');
  assert.equal(fs.readFileSync(copy1, 'utf8'), 'damaged', 'left as it is: the user file changed, the race source is gone');
});

test('an error of the world itself ends the race as interrupted with that reason, never left running', async () => {
  const race = fakeRace(3, { alpha: 0.05 });
  const saved: string[] = [];
  const world = new FakeWorld({ effects: {}, seedSd: 1, noiseSd: 0.5, seed: 1, save: (r) => saved.push(r.status) });
  world.execute = async () => {
    throw new Error('c2: /x/c2.ts is not the source race r began with');
  };
  const done = await runRace(race, world);
  assert.equal(done.status, 'interrupted');
  assert.match(done.reason ?? '', /not the source race r began with/);
  assert.equal(saved.at(-1), 'interrupted', 'the last save is the interrupted state');
});
