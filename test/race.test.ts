/**
 * Races without processes (a fake world, test/race-fake-world.ts): the climbing order, ladder
 * refusals, the drop rule, Kendall's tau against scipy, failed candidates, stop and resume with no
 * run repeated, the bookkeeping of 50 candidates in under a second per rung (race.json written
 * to disk each time), and a damaged race.json reported by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchId } from '../src/protocol/benchmarks';
import type { RaceRecord } from '../src/protocol/race';
import { parseLadder } from '../src/races/race-plan';
import { judgeRung } from '../src/races/race-rule';
import { runRace } from '../src/races/race-runner';
import { listRaces, readRace, writeRace, RaceFileError } from '../src/races/race-store';
import { kendallTauB } from '../src/analysis/kendall';
import { UsageError } from '../src/runs/run-request';
import { FakeWorld, fakeRace, normal, rng } from './race-fake-world';
import { runScipy } from './scipy';

const R20: BenchId = 'resnet20-cifar10';
const R56: BenchId = 'resnet56-cifar100';

test('climbing order: first budget on the first benchmark and seeds, then more seeds, then the next budget, then the remaining benchmarks', () => {
  const race = fakeRace(2);
  assert.deepEqual(
    race.rungs.map((r) => [r.step, r.ladder.budget, r.benches.join('+'), r.seeds.join(',')]),
    [
      ['start', 'smoke', R20, '0,1'],
      ['seeds', 'smoke', R20, '0,1,2'],
      ['budget', 'quick', R20, '0,1,2'],
      ['benchmarks', 'quick', `${R20}+${R56}`, '0,1,2'],
    ],
  );
  assert.match(race.order[0], /^rung 1 \(start\): smoke \(1 epoch, 512 training images\) · resnet20-cifar10 · seeds 0,1$/);
});

test('drop rule on two seeds: the variance pooled over every live entrant (block design) drops a 3 pp worse candidate a lone paired t (df 1) cannot', () => {
  const cells = (xs: number[]) => new Map(xs.map((x, i) => [`b/${i}`, x]));
  const base = cells([60, 63]);
  const others = [0.3, -0.2, 0.1, -0.4, 0.2].map((d, i) => [`c${i}`, cells([60 + d, 63 + d + (i % 2 ? 0.3 : -0.3)])] as const);
  const j = judgeRung(base, new Map([...others, ['bad', cells([56.6, 60.2])]]), { alpha: 0.05, rungs: 4 });
  const bad = j.tests.find((t) => t.candidate === 'bad');
  assert.equal(bad?.vsBaseline?.pooledOver, 7, 'pooled over the baseline and six candidates');
  assert.equal(bad?.vsBaseline?.df, 6);
  assert.deepEqual(
    j.drops.map((d) => [d.candidate, d.rule]),
    [['bad', 'worse-than-baseline']],
  );
  const alone = judgeRung(base, new Map([['bad', cells([56.6, 60.2])]]), { alpha: 0.05, rungs: 4 });
  assert.equal(alone.tests[0].vsBaseline?.pooledOver, undefined, 'one candidate: a plain paired t');
  assert.equal(alone.drops.length, 0, 'df 1 cannot reject at this level');
});

test('a ladder that does not grow, an unknown budget or a bad override is refused in one line', () => {
  const refuse = (text: string, re: RegExp) =>
    assert.throws(
      () => parseLadder(text, [R20]),
      (e: unknown) => e instanceof UsageError && re.test((e as Error).message) && !(e as Error).message.includes('\n'),
    );
  refuse('quick,smoke', /does not grow from quick .* to smoke/);
  refuse('smoke,smoke', /does not grow/);
  refuse('smoke,quick:epochs=1:train=256', /does not grow/);
  refuse('smoke,medium', /unknown budget 'medium'/);
  refuse('smoke:epochs=0', /is not epochs=N/);
  assert.deepEqual(
    parseLadder('smoke:train=128,smoke:epochs=2:train=128', [R20]).map((s) => [s.epochs, s.trainSubset]),
    [
      [undefined, 128],
      [2, 128],
    ],
  );
});

test('drop rule: a clearly worse candidate is dropped as worse than the baseline; one pair only is never enough', () => {
  const cells = (xs: number[]) => new Map(xs.map((x, i) => [`b/${i}`, x]));
  const base = cells([60, 62, 61, 63, 60, 62]);
  const j = judgeRung(
    base,
    new Map([
      ['good', cells([61, 63, 62, 64, 61, 63.2])],
      ['bad', cells([50, 51.5, 50.2, 52, 49, 51])],
    ]),
    { alpha: 0.05, rungs: 2 },
  );
  assert.deepEqual(j.ranking, ['good', 'bad']);
  assert.deepEqual(
    j.drops.map((d) => [d.candidate, d.rule]),
    [['bad', 'worse-than-baseline']],
  );
  const t = j.tests.find((x) => x.candidate === 'bad');
  assert.ok(t && t.adjustedP !== null && t.adjustedP <= 0.025 && t.level === 0.025);
  const one = judgeRung(cells([60]), new Map([['bad', cells([10])]]), { alpha: 0.05, rungs: 1 });
  assert.equal(one.drops.length, 0);
  const halving = judgeRung(
    base,
    new Map([
      ['a', cells([61, 63, 62, 64, 61, 63])],
      ['b', cells([60, 62, 61, 63, 60, 62.5])],
      ['c', cells([59, 61, 60, 62, 59, 61])],
    ]),
    { alpha: 0.05, rungs: 2, eta: 2 },
  );
  assert.deepEqual(
    halving.drops.map((d) => [d.candidate, d.rule]),
    [['c', 'halving']],
  );
});

test('Kendall tau-b agrees with scipy.stats.kendalltau, ties included', (t) => {
  const r = rng(5);
  const cases = [
    [
      [1, 2, 3, 4, 5],
      [1, 3, 2, 5, 4],
    ],
    [
      [1, 1, 2, 3, 3, 4],
      [2, 1, 2, 4, 3, 3],
    ],
    Array.from({ length: 2 }, () => Array.from({ length: 12 }, () => Math.round(normal(r) * 3))),
  ];
  const scipy = runScipy<number[]>(
    'import json,sys\nfrom scipy.stats import kendalltau\nprint(json.dumps([kendalltau(a,b)[0] for a,b in json.load(sys.stdin)]))',
    cases,
  );
  if (typeof scipy === 'string') return t.skip(scipy);
  cases.forEach(([a, b], i) => assert.ok(Math.abs((kendallTauB(a, b) as number) - scipy[i]) < 1e-12, `case ${i}: ${kendallTauB(a, b)} vs scipy ${scipy[i]}`));
  assert.equal(kendallTauB([1, 1], [2, 3]), null);
});

test('a failing candidate is dropped as failed with its error, and the race goes on', async () => {
  const race = fakeRace(3);
  const world = new FakeWorld({ effects: { c1: 1, c2: 0, c3: 1 }, seedSd: 1, noiseSd: 0.3, seed: 1, failing: ['c2'] });
  const done = await runRace(race, world);
  assert.equal(done.status, 'completed');
  const c2 = done.candidates.find((c) => c.id === 'c2');
  assert.equal(c2?.status, 'failed');
  assert.equal(c2?.rung, 0);
  assert.match(c2?.error ?? '', /SyntaxError: Unexpected token \(variant\.ts:3\)/);
  assert.equal(done.rungs[3].status, 'done');
  assert.deepEqual(done.ranking?.map((r) => r.candidate).sort(), ['c1', 'c3']);
  assert.equal(done.taus.length, 3);
});

test('stopped mid-rung and resumed: every cell ends with a run and no run is trained twice', async () => {
  const race = fakeRace(4);
  const world = new FakeWorld({ effects: { c1: -5, c2: 0, c3: 0.5, c4: -0.2 }, seedSd: 1, noiseSd: 0.3, seed: 2, stopAfterRuns: 13 });
  const first = await runRace(race, world);
  assert.equal(first.status, 'interrupted');
  assert.equal(world.trained.length, 13);
  const copy = JSON.parse(JSON.stringify(first)) as RaceRecord;
  world.resume();
  const done = await runRace(copy, world);
  assert.equal(done.status, 'completed');
  assert.equal(new Set(world.trained).size, world.trained.length, 'a run was trained twice');
  const cellRuns = done.rungs.flatMap((r) => r.cells.map((c) => c.runId));
  assert.ok(cellRuns.every((id) => id !== undefined && world.get(id)?.status === 'completed'));
  assert.equal(done.candidates.find((c) => c.id === 'c1')?.status, 'dropped');
  assert.equal(done.compute?.runs, new Set(cellRuns).size);
});

test('bookkeeping of a 50-candidate race takes under a second per rung, race.json written to disk at every change', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-race-'));
  const race = fakeRace(50);
  const effects: Record<string, number> = {};
  race.candidates.forEach((c, i) => (effects[c.id] = i % 5 === 0 ? -4 : (i % 7) * 0.1));
  let saves = 0;
  const world = new FakeWorld({ effects, seedSd: 1, noiseSd: 0.5, seed: 3, save: (r) => (writeRace(dir, r), saves++) });
  const stamps: number[] = [];
  world.rungDone = () => stamps.push(performance.now());
  const t0 = performance.now();
  const done = await runRace(race, world);
  const perRung = stamps.map((s, i) => s - (i ? stamps[i - 1] : t0));
  process.stdout.write(`# 50 candidates: ${world.trained.length} runs, ${saves} saves, ms per rung ${perRung.map((x) => x.toFixed(0)).join(', ')}\n`);
  assert.equal(done.status, 'completed');
  assert.equal(perRung.length, 4);
  for (const ms of perRung) assert.ok(ms < 1000, `a rung took ${ms.toFixed(0)} ms`);
  assert.ok(done.candidates.filter((c) => c.status === 'dropped').length >= 10, 'the -4 pp candidates should go');
  assert.equal(readRace(dir, 'test-race').candidates.length, 50);
});

test('a damaged race.json is reported naming the file, not a crash', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-race-'));
  writeRace(dir, fakeRace(1));
  const file = path.join(dir, 'races', 'test-race', 'race.json');
  fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 100));
  assert.throws(
    () => readRace(dir, 'test-race'),
    (e: unknown) => e instanceof RaceFileError && (e as Error).message.startsWith(`${file} is damaged (not valid JSON`),
  );
  const { races, problems } = listRaces(dir);
  assert.equal(races.length, 0);
  assert.equal(problems.length, 1);
  assert.ok(fs.existsSync(file), 'the damaged file is kept');
});

test('a rung where every entrant scored the same in each cell says it has no signal; a rung with differences does not', async () => {
  const { rungResultText, rungWithoutSignal } = await import('../src/races/race-report');
  const { raceFixture } = await import('./fixtures/race-record');
  const race = raceFixture('done');
  const rung = race.rungs[0];
  assert.equal(rungWithoutSignal(rung), false);
  assert.doesNotMatch(rungResultText(race, rung), /no signal/);
  const flat = { ...rung, cells: rung.cells.map((c) => ({ ...c, status: 'completed' as const, bestTestAcc: c.seed === 0 ? 10.16 : 7.81 })) };
  assert.equal(rungWithoutSignal(flat), true);
  assert.match(rungResultText(race, flat), /no signal: every entrant scored the same in each cell/);
});
