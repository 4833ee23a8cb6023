/**
 * Damaged store files (issue 19, point 2): every kind of file of a run folder and of a Slurm matrix
 * folder is truncated at a random point, has a random bit flipped, or is deleted (seeded, a few
 * hundred cases). Nothing may throw, no run or matrix may disappear, the damage must be reported
 * naming the file, and after `repair` the run's results count again wherever events.jsonl is intact.
 * Race folders get the same for their race.json: still listed (as damaged), named, kept as it is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { RunStore } from '../src/runs/run-store';
import { RunIndex } from '../src/runs/run-index';
import { RECIPE, type RunSpec } from '../src/protocol/benchmarks';
import type { RunEvent } from '../src/protocol/events';
import { variantHash } from '../src/runs/run-request';
import { inspectRun, recordFromEvents, repairRun, repairStore } from '../src/runs/run-repair';
import { damageText, readJsonFile, writeJsonFile } from '../src/runs/json-file';
import { matricesDir, scanMatrices, type MatrixInfo } from '../src/runs/slurm/matrix';
import { formatDamagedLine } from '../src/cli/output';
import { listRaces, raceFile, readRace, RaceFileError, writeRace } from '../src/races/race-store';
import { RaceIndex } from '../src/races/race-index';
import { raceFixture } from './fixtures/race-record';
import type { RaceRecord } from '../src/protocol/race';
import { seededRandom } from '../src/analysis/statistics';

const SOURCE = 'export function computeRegularization() {\n  return 0; // a blank regularizer\n}\n';
const T = '2026-11-23T10:00:00.000Z';

/** The statistics' seeded generator (mulberry32), so a failing case can be replayed from its number. */
const prng = seededRandom;

function spec(store: RunStore, id: string, seed: number): RunSpec {
  return {
    runId: id,
    bench: 'resnet20-cifar10',
    arch: 'resnet20',
    dataset: 'cifar10',
    numClasses: 10,
    budget: 'smoke',
    epochs: 3,
    trainSubset: 512,
    testSubset: 256,
    seed,
    recipe: RECIPE,
    engine: 'tfjs',
    variantPath: '/w/variants/my-reg.ts',
    variantHash: variantHash(SOURCE),
    variantKind: { regularizer: true, norm: false },
    runDir: store.runDir(id),
  };
}

const ENV = { engine: 'tfjs' as const, backend: 'wasm', versions: {}, platform: 'linux', cpus: 2, hostname: 'node-1' };

function epoch(id: string, e: number, acc: number): RunEvent {
  return {
    type: 'epoch',
    runId: id,
    time: T,
    epoch: e,
    totalEpochs: 3,
    trainLoss: 1.5 - e / 10,
    trainCe: 1.4,
    regTerm: 0.001,
    trainAcc: 40 + e,
    testLoss: 1.2,
    testAcc: acc,
    lr: 0.1,
    seconds: 2.5,
    trainImagesPerSec: 200,
    bestTestAcc: acc,
  };
}

const ACCS = [31.25, 44.5, 42.75];

/** A completed run with a checkpoint after its last epoch, a stderr.log and a second segment. */
function completedRun(store: RunStore, seed: number, end = true): string {
  const { id } = store.allocate('resnet20-cifar10');
  const s = spec(store, id, seed);
  store.create(s, SOURCE, process.pid);
  store.append(id, { type: 'run-start', runId: id, time: T, spec: s, env: ENV, stepsPerEpoch: 4, trainImages: 512, testImages: 256 });
  const data = Buffer.from(Array.from({ length: 300 }, (_, i) => (i * 37 + seed) & 0xff));
  fs.mkdirSync(path.join(store.runDir(id), 'checkpoint'));
  fs.writeFileSync(path.join(store.runDir(id), 'checkpoint', 'ckpt-e3-s0.bin'), data);
  const weights = createHash('sha256')
    .update('w' + seed)
    .digest('hex');
  ACCS.forEach((acc, e) => store.append(id, epoch(id, e, acc)));
  store.append(id, { type: 'checkpoint', runId: id, time: T, epoch: 3, step: 0, bytes: data.length, seconds: 0.1, weightsSha256: weights });
  const meta = {
    engine: 'tfjs',
    epoch: 3,
    step: 0,
    file: 'ckpt-e3-s0.bin',
    bytes: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    weightsSha256: weights,
    time: T,
  };
  fs.writeFileSync(path.join(store.runDir(id), 'checkpoint', 'last.json'), JSON.stringify(meta, null, 2));
  fs.writeFileSync(path.join(store.runDir(id), 'stderr.log'), 'loading data\nbackend wasm\n');
  if (end)
    store.append(id, { type: 'run-end', runId: id, time: T, status: 'completed', bestTestAcc: 44.5, finalTestAcc: 42.75, epochsCompleted: 3, seconds: 8 });
  return id;
}

/** A matrix folder as `regbench submit` leaves it, its runs knowing their array tasks. */
function matrixOf(store: RunStore, runIds: string[]): MatrixInfo {
  const id = '20261123-100000-ab12';
  const dir = path.join(matricesDir(store), id);
  fs.mkdirSync(dir, { recursive: true });
  const script = `#!/bin/bash\n#SBATCH --array=0-${runIds.length - 1}\nRUNS=(${runIds.join(' ')})\nexec node cli.js task "\${RUNS[$SLURM_ARRAY_TASK_ID]}"\n`;
  fs.writeFileSync(path.join(dir, 'job.sh'), script, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'tasks.json'), JSON.stringify(runIds, null, 2) + '\n');
  fs.writeFileSync(path.join(dir, 'task-0.out'), 'regbench task: epoch 1\n');
  runIds.forEach((r, i) => store.setExecutor(r, { kind: 'slurm', matrixId: id, arrayTaskId: i, jobId: '4242' }));
  const m: MatrixInfo = {
    id,
    jobId: '4242',
    createdAt: T,
    variantPath: '/w/variants/my-reg.ts',
    runIds,
    options: { time: '10' },
    scriptSha256: createHash('sha256').update(script).digest('hex'),
  };
  writeJsonFile(path.join(dir, 'matrix.json'), m);
  return m;
}

type Damage = 'truncate' | 'flip' | 'delete';

function damage(file: string, how: Damage, rnd: () => number): string {
  const bytes = fs.readFileSync(file);
  if (how === 'delete') {
    fs.rmSync(file);
    return 'deleted';
  }
  if (how === 'truncate') {
    const at = Math.floor(rnd() * bytes.length);
    fs.writeFileSync(file, bytes.subarray(0, at));
    return `truncated at ${at}/${bytes.length}`;
  }
  const bit = Math.floor(rnd() * bytes.length * 8);
  bytes[bit >> 3] ^= 1 << (bit & 7);
  fs.writeFileSync(file, bytes);
  return `bit ${bit} flipped`;
}

/** Files whose damage the store cannot tell (free text) or can tell only in part (see `detected`). */
const RUN_FILES = ['record.json', 'events.jsonl', 'variant.ts', 'checkpoint/last.json', 'checkpoint/ckpt-e3-s0.bin', 'stderr.log'];
const MATRIX_FILES = ['matrix.json', 'tasks.json', 'job.sh', 'task-0.out'];
const TEXT_ONLY = new Set(['stderr.log', 'task-0.out']);

/** Every message the store gives about a workspace: list (scan), show (inspect) of each run, matrices. */
function messages(store: RunStore, ids: readonly string[]): string[] {
  const { damaged } = store.scan();
  const out = damaged.map(formatDamagedLine);
  for (const id of ids) out.push(...inspectRun(store, id).problems.map(damageText));
  out.push(...scanMatrices(store).damaged.map((d) => damageText(d.damage)));
  return out;
}

function tmpStore(): RunStore {
  return new RunStore(path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-damage-')), '.regbench'));
}

test('fuzz: truncating, flipping a bit in or deleting any store file is reported naming the file, and repair brings the results back', () => {
  const started = Date.now();
  const kinds = [...RUN_FILES.map((f) => ({ where: 'run' as const, f })), ...MATRIX_FILES.map((f) => ({ where: 'matrix' as const, f }))];
  const hows: Damage[] = ['truncate', 'flip', 'delete'];
  let cases = 0;
  let named = 0;
  // One workspace made through the store, copied for each case.
  const template = tmpStore();
  const id = completedRun(template, 0);
  const other = completedRun(template, 1);
  const matrix = matrixOf(template, [id, other]);
  for (let n = 0; n < 300; n++) {
    const rnd = prng(1000 + n);
    const kind = kinds[n % kinds.length];
    const how = hows[Math.floor(n / kinds.length) % hows.length];
    const store = tmpStore();
    fs.cpSync(template.root, store.root, { recursive: true });
    const target = kind.where === 'run' ? path.join(store.runDir(id), kind.f) : path.join(matricesDir(store), matrix.id, kind.f);
    const eventsBefore = store.readEvents(id).events.length;
    const metaBefore = fs.readFileSync(path.join(store.runDir(id), 'checkpoint', 'last.json'), 'utf8');
    const what = damage(target, how, rnd);
    const label = `case ${n}: ${kind.f} ${what}`;
    cases++;

    // No exception escapes any reader, and both runs still appear (readable or damaged).
    const said = messages(store, [id, other]);
    const { records, damaged } = store.scan();
    const seen = [...records.map((r) => r.id), ...damaged.map((d) => d.id)];
    assert.ok(seen.includes(id) && seen.includes(other), `${label}: a run disappeared`);
    assert.ok(
      records.some((r) => r.id === other),
      `${label}: the undamaged run is not readable`,
    );
    if (kind.where === 'matrix') {
      const m = scanMatrices(store);
      assert.deepEqual([...new Set([...m.matrices, ...m.damaged].map((x) => x.id))], [matrix.id], `${label}: the matrix disappeared`);
    }

    // The damage is reported, naming the file (free-text logs excepted; see `detected`).
    const shown = kind.f.split('/').pop() as string;
    const reported = said.some((m) => m.includes(shown));
    if (detected(kind.f, how, store, id, eventsBefore, metaBefore)) {
      assert.ok(reported, `${label}: no message names ${kind.f}:\n${said.join('\n')}`);
      named++;
    }

    // Repair: the record is rebuilt wherever events.jsonl is intact; nothing is deleted.
    repairStore(store);
    const after = store.scan();
    assert.ok(
      after.records.some((r) => r.id === other),
      `${label}: repair lost the other run`,
    );
    if (kind.f !== 'events.jsonl') {
      const r = after.records.find((x) => x.id === id);
      assert.ok(r, `${label}: run not readable after repair: ${messages(store, [id]).join('; ')}`);
      assert.equal(r.status, 'completed', label);
      assert.equal(r.bestTestAcc, 44.5, label);
      assert.equal(r.finalTestAcc, 42.75, label);
      assert.equal(r.epochsCompleted, 3, label);
    }
    if (kind.where === 'matrix' && kind.f !== 'task-0.out') {
      const { matrices, damaged: still } = scanMatrices(store);
      assert.deepEqual(
        still.map((d) => damageText(d.damage)),
        [],
        label,
      );
      assert.deepEqual(matrices[0]?.runIds, [id, other], `${label}: matrix not rebuilt`);
      assert.equal(matrices[0]?.jobId, '4242', label);
    }
    if (how !== 'delete' && (kind.f === 'record.json' || kind.f === 'matrix.json' || kind.f === 'tasks.json')) {
      const dir = path.dirname(target);
      const kept = fs.readdirSync(dir).filter((x) => x.startsWith(`${path.basename(target)}.damaged-`));
      // A damaged file is kept aside, never overwritten (an intact one is left alone).
      if (!readJsonFile(target).ok || kept.length) assert.equal(kept.length, 1, `${label}: damaged file not kept aside`);
    }
  }
  assert.equal(cases, 300);
  assert.ok(named > 200, `only ${named} of ${cases} cases were checked for a message`);
  console.log(`# ${cases} cases, ${named} of them checked for a message naming the file, in ${Date.now() - started} ms`);
});

/**
 * Whether a store can tell this damage. Free-text logs: never. A bit flip that leaves events.jsonl
 * or last.json valid and describing the same thing (a digit of a loss, the engine's name) changes
 * no result: such a case only has to lose nothing (checked: every event still reads, and the
 * checkpoint's position and data are the same).
 */
function detected(file: string, how: Damage, store: RunStore, id: string, eventsBefore: number, metaBefore: string): boolean {
  if (TEXT_ONLY.has(file)) return false;
  if (how !== 'flip') return true;
  if (file === 'events.jsonl') {
    const read = store.readEvents(id);
    if (read.problems.length) return true;
    assert.equal(read.events.length, eventsBefore, 'a flipped bit lost an event without a word');
    // Then it is reported when the results the events give differ from the record's.
    const record = store.get(id);
    if (!record) return true;
    const fromEvents = recordFromEvents(record, read.events);
    return (['status', 'epochsCompleted', 'bestTestAcc', 'finalTestAcc'] as const).some((k) => fromEvents[k] !== record[k]);
  }
  if (file === 'checkpoint/last.json') {
    const now = readJsonFile<Record<string, unknown>>(path.join(store.runDir(id), 'checkpoint', 'last.json'));
    if (!now.ok) return true;
    const before = JSON.parse(metaBefore) as Record<string, unknown>;
    const keys = ['epoch', 'step', 'file', 'bytes', 'sha256', 'weightsSha256'];
    return keys.some((k) => now.value[k] !== before[k]);
  }
  return true;
}

test('a run left running in a damaged record whose worker is gone is listed as damaged, and repair ends it as interrupted', () => {
  const store = tmpStore();
  const id = completedRun(store, 0, false);
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  store.update(id, (r) => ({ ...r, ownerPid: Number(dead.stdout) }));
  const file = path.join(store.runDir(id), 'record.json');
  // Cut off after the owner's pid (a write that stopped there): the pid can still be read.
  const text = fs.readFileSync(file, 'utf8');
  fs.writeFileSync(file, text.slice(0, text.indexOf('"ownerPid"') + 30));
  const { records, damaged } = store.scan();
  assert.deepEqual(records, []);
  assert.equal(damaged[0].id, id);
  assert.equal(damaged[0].lastStatus, 'running');
  assert.match(formatDamagedLine(damaged[0]), /DAMAGED +\.regbench\/runs\/.*\/record\.json: is not valid JSON/);
  const report = repairRun(store, id);
  assert.ok(report.rebuilt, report.lines.join('\n'));
  const r = store.get(id);
  assert.equal(r?.status, 'interrupted');
  assert.equal(r?.bestTestAcc, 44.5);
  assert.match(report.lines.join('\n'), /was running and its process is gone: now interrupted/);
  assert.match(report.lines.join('\n'), /kept from the damaged record: .*ownerPid/);
  assert.equal(fs.readdirSync(store.runDir(id)).filter((f) => f.startsWith('record.json.damaged-')).length, 1);
});

test('a torn line in events.jsonl is skipped with a warning naming the file and line, and the next event does not glue onto it', () => {
  const store = tmpStore();
  const id = completedRun(store, 0, false);
  const file = path.join(store.runDir(id), 'events.jsonl');
  fs.appendFileSync(file, '{"type":"epoch","runId":"' + id + '","ti');
  const lines = fs.readFileSync(file, 'utf8').split('\n').length;
  assert.deepEqual(store.readEvents(id).problems.map(damageText), [
    `.regbench/runs/${id}/events.jsonl:${lines}: a torn last line (cut off mid-write) was skipped`,
  ]);
  // The next writer is another process (this one's own lines are whole): a resume, a reconcile.
  new RunStore(store.root).append(id, {
    type: 'run-end',
    runId: id,
    time: T,
    status: 'completed',
    bestTestAcc: 44.5,
    finalTestAcc: 42.75,
    epochsCompleted: 3,
    seconds: 8,
  });
  const read = store.readEvents(id);
  assert.equal(read.events[read.events.length - 1].type, 'run-end');
  assert.match(damageText(read.problems[0]), /events\.jsonl:\d+: a damaged line was skipped/);
});

test('a run whose record and events are both unreadable is kept as it is, with the reason', () => {
  const store = tmpStore();
  const id = completedRun(store, 0);
  fs.writeFileSync(path.join(store.runDir(id), 'record.json'), '{"id": "');
  fs.writeFileSync(path.join(store.runDir(id), 'events.jsonl'), '\u0000\u0000garbage\n');
  const before = fs.readdirSync(store.runDir(id)).sort();
  const report = repairRun(store, id);
  assert.equal(report.rebuilt, false);
  assert.match(report.lines[0], /record\.json: is not valid JSON .*cannot be rebuilt: events\.jsonl holds no readable event/);
  assert.deepEqual(fs.readdirSync(store.runDir(id)).sort(), before);
  assert.equal(store.scan().damaged[0].id, id);
});

test('the CLI on a damaged run: list marks it, show prints what it can, resume and table say so, repair rebuilds it and it counts again', () => {
  const cli = path.resolve(__dirname, '..', '..', 'bin', 'regbench.js');
  const store = tmpStore();
  const workspace = path.dirname(store.root);
  const id = completedRun(store, 0);
  const file = path.join(store.runDir(id), 'record.json');
  fs.writeFileSync(file, fs.readFileSync(file).subarray(0, 300));
  const regbench = (...args: string[]) =>
    spawnSync(process.execPath, [cli, ...args, '--workspace', workspace], { encoding: 'utf8', env: { ...process.env, REGBENCH_WORKSPACE: '' } });
  const shown = `.regbench/runs/${id}/record.json`;

  const list = regbench('list');
  assert.equal(list.status, 0, list.stderr);
  assert.ok(list.stdout.includes(`${id}  DAMAGED   ${shown}: is not valid JSON`), list.stdout);
  assert.match(list.stdout, /regbench repair .* rebuilds it \(my-reg\.ts on resnet20-cifar10, seed 0; events: completed, 3 epochs\)/);

  const show = regbench('show', id);
  assert.equal(show.status, 1);
  assert.match(show.stdout, new RegExp(`run ${id} is DAMAGED: ${shown.replace(/[.]/g, '\\.')}: is not valid JSON`));
  assert.match(show.stdout, /events {6}6 readable, ended completed/);
  assert.match(show.stdout, /checkpoint {2}tfjs, a resume continues at the start of epoch 4/);
  assert.match(show.stdout, /snapshot {4}variant\.ts \(the source the run recorded\)/);
  assert.match(show.stdout, /\n +3 +1\.3000 +42\.00% +1\.2000 +42\.75%/);

  const resume = regbench('resume', id);
  assert.equal(resume.status, 1);
  assert.match(resume.stderr, new RegExp(`cannot be resumed: ${shown.replace(/[.]/g, '\\.')}: is not valid JSON.*regbench repair ${id}`));

  const table = regbench('table', '--kind', 'reg');
  assert.match(
    table.stderr,
    new RegExp(`warning: run ${id} is not counted: ${shown.replace(/[.]/g, '\\.')}.*\\(its events say completed\\); \`regbench repair ${id}\` rebuilds it`),
  );
  assert.equal(table.status, 2, 'with the only run damaged there is nothing to table');

  const repair = regbench('repair');
  assert.equal(repair.status, 0, repair.stdout + repair.stderr);
  assert.match(
    repair.stdout,
    /rebuilt from events\.jsonl \(6 events: completed, 3\/3 epochs, best 44\.50%\); the damaged file is kept as record\.json\.damaged-/,
  );

  assert.match(regbench('list').stdout, new RegExp(`${id}  completed best  44\\.50%`));
  const after = regbench('table', '--kind', 'reg', '--format', 'csv');
  assert.equal(after.status, 0, after.stderr);
  assert.equal(after.stderr, '');
  assert.match(after.stdout, /44\.5/);
});

test("the editor's run index holds a run whose record gets damaged apart, with the reason, and takes it back once repaired", () => {
  const store = tmpStore();
  const id = completedRun(store, 0);
  const index = new RunIndex(store);
  const changes: string[] = [];
  index.onChange((c) => changes.push(`${c.kind}:${c.runId}`));
  assert.deepEqual(
    index.all().map((r) => r.id),
    [id],
  );
  fs.writeFileSync(path.join(store.runDir(id), 'record.json'), '');
  index.refresh(id);
  assert.deepEqual(index.all(), []);
  assert.deepEqual(
    index.damaged().map((d) => [d.id, damageText(d.damage)]),
    [[id, `.regbench/runs/${id}/record.json: is empty (cut off when it was written?)`]],
  );
  assert.deepEqual(changes, [`updated:${id}`]);
  repairRun(store, id);
  index.refresh(id);
  assert.deepEqual(index.damaged(), []);
  assert.equal(index.get(id)?.bestTestAcc, 44.5);
  index.dispose();
});

/** What readRace answers for one race: the record, or the RaceFileError's message. */
function raceRead(root: string, id: string): { race?: RaceRecord; message?: string } {
  try {
    return { race: readRace(root, id) };
  } catch (err) {
    assert.ok(err instanceof RaceFileError, `not a RaceFileError: ${String(err)}`);
    return { message: err.message };
  }
}

test('fuzz: truncating, flipping a bit in or deleting a race.json keeps the race listed as damaged, naming race.json, the file left as it is', () => {
  const template = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-race-damage-'));
  const target: RaceRecord = { ...raceFixture('done'), id: 'r-target' };
  writeRace(template, target);
  writeRace(template, { ...raceFixture('live'), id: 'r-other' });
  const intact = readRace(template, target.id);
  const hows: Damage[] = ['truncate', 'flip', 'delete'];
  let named = 0;
  let harmless = 0;
  const cases = 120;
  for (let n = 0; n < cases; n++) {
    const rnd = prng(5000 + n);
    const how = hows[n % hows.length];
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-race-damage-'));
    fs.cpSync(template, root, { recursive: true });
    const file = raceFile(root, target.id);
    const label = `race case ${n}: race.json ${damage(file, how, rnd)}`;
    const after = fs.existsSync(file) ? fs.readFileSync(file) : undefined;

    // No exception escapes the listing, the reader or the editor's index; both races still appear.
    const { races, problems } = listRaces(root);
    assert.ok(
      races.some((r) => r.id === 'r-other'),
      `${label}: the undamaged race is not readable`,
    );
    const read = raceRead(root, target.id);
    const index = new RaceIndex(root);
    assert.ok(index.get('r-other'), `${label}: the index lost the undamaged race`);
    if (read.race) {
      // A flip that leaves the same record (say 1e-7 -> 1E-7) loses nothing; anything else must be caught.
      assert.deepEqual(read.race, intact, `${label}: a changed race.json was read without a word`);
      assert.ok(
        races.some((r) => r.id === target.id),
        `${label}: a readable race is not listed`,
      );
      harmless++;
    } else {
      assert.match(read.message ?? '', /races\/r-target\/race\.json/, `${label}: the message does not name race.json`);
      assert.equal(read.message?.includes('\n'), false, `${label}: not one line`);
      const listed = problems.filter((p) => p.file === file);
      assert.equal(listed.length, 1, `${label}: the damaged race is not listed: ${problems.map((p) => p.message).join('; ')}`);
      assert.match(listed[0].message, /race\.json/, label);
      assert.match(index.problems.get(target.id) ?? '', /races\/r-target\/race\.json/, `${label}: the index does not hold the problem`);
      named++;
    }
    // Reading leaves the damaged file as it is (or absent, when it was deleted).
    if (after) assert.ok(fs.readFileSync(file).equals(after), `${label}: the damaged file was changed`);
    else assert.equal(fs.existsSync(file), false, `${label}: a deleted race.json was recreated`);
    assert.deepEqual(
      fs.readdirSync(path.dirname(file)).filter((f) => f !== 'race.json'),
      [],
      `${label}: stray files`,
    );
    fs.rmSync(root, { recursive: true, force: true });
  }
  assert.ok(named >= cases - 5, `only ${named} of ${cases} damaged race.json files were reported`);
  console.log(`# ${cases} race cases: ${named} reported naming race.json, ${harmless} bit flips that left the same record`);
});

test('regbench race --resume and --list on a damaged race.json: one line naming the file, exit 2, nothing started, the file kept', () => {
  const cli = path.resolve(__dirname, '..', '..', 'bin', 'regbench.js');
  for (const how of ['truncate', 'flip', 'delete'] as const) {
    const workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-race-damage-'));
    const root = path.join(workspace, '.regbench');
    writeRace(root, { ...raceFixture('live'), id: 'r-live', ownerPid: undefined, status: 'interrupted' });
    const file = raceFile(root, 'r-live');
    if (how === 'flip') {
      // A digit of an accuracy: still valid JSON, so only the checksum can tell.
      const text = fs.readFileSync(file, 'utf8');
      const at = text.search(/"bestTestAcc": \d/) + '"bestTestAcc": '.length;
      fs.writeFileSync(file, text.slice(0, at) + String((Number(text[at]) + 1) % 10) + text.slice(at + 1));
      assert.doesNotThrow(() => JSON.parse(fs.readFileSync(file, 'utf8')));
    } else damage(file, how, prng(7));
    const before = fs.existsSync(file) ? fs.readFileSync(file) : undefined;
    const regbench = (...args: string[]) =>
      spawnSync(process.execPath, [cli, 'race', ...args, '--workspace', workspace], { encoding: 'utf8', env: { ...process.env, REGBENCH_WORKSPACE: '' } });
    const resume = regbench('--resume', 'r-live');
    assert.equal(resume.status, 2, `${how}: ${resume.stdout}${resume.stderr}`);
    assert.equal(resume.stdout, '', `${how}: something was started`);
    assert.equal(resume.stderr.trim().split('\n').length, 1, `${how}: ${resume.stderr}`);
    assert.match(resume.stderr, /^regbench race: .*\.regbench\/races\/r-live\/race\.json (is damaged|is missing)/, how);
    if (how === 'flip') assert.match(resume.stderr, /does not match its checksum/);
    const list = regbench('--list');
    assert.equal(list.status, 0, list.stderr);
    assert.match(list.stdout, /^r-live {2}DAMAGED .*races\/r-live\/race\.json/m, `${how}: ${list.stdout}`);
    assert.equal(fs.existsSync(path.join(root, 'runs')), false, `${how}: a run was started`);
    if (before) assert.ok(fs.readFileSync(file).equals(before), `${how}: the file was changed`);
    else assert.equal(fs.existsSync(file), false);
    fs.rmSync(workspace, { recursive: true, force: true });
  }
});
