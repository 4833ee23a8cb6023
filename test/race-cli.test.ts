/**
 * `regbench race` end to end through the CLI on synthetic data: bad input refused in one line
 * with exit 2 and nothing started; a small race (a sweep point, label smoothing and a candidate
 * with a syntax error) stopped with SIGTERM in its first rung and resumed, with every run made
 * once (counted in the store) and the broken candidate out as failed; a second identical race
 * reuses every run.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RaceRecord } from '../src/protocol/race';
import type { RunEvent } from '../src/protocol/events';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-race-cli-'));
const ws = path.join(tmp, 'ws');
const data = path.join(tmp, 'data');
const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'cache'), REGBENCH_OFFLINE: '1', REGBENCH_DATA: '' };
const cp = path.join(root, 'templates', 'regularizers', 'confidence-penalty.ts');
const ls = path.join(root, 'templates', 'regularizers', 'label-smoothing.ts');
const broken = path.join(tmp, 'broken.ts');
const LADDER = 'smoke:train=128:test=64,smoke:epochs=2:train=128:test=64';
const RACE = [
  `${cp}:BETA=0.3`,
  ls,
  broken,
  '--bench',
  'resnet20-cifar10',
  '--ladder',
  LADDER,
  '--seeds',
  '0,1',
  '--data-dir',
  data,
  '--concurrency',
  '2',
  '--workspace',
  ws,
];

function regbench(args: string[]) {
  return spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', env, timeout: 600_000 });
}

function runDirs(): string[] {
  try {
    return fs.readdirSync(path.join(ws, '.regbench', 'runs'));
  } catch {
    return [];
  }
}

function race(id: string): RaceRecord {
  return JSON.parse(fs.readFileSync(path.join(ws, '.regbench', 'races', id, 'race.json'), 'utf8')) as RaceRecord;
}

function events(runId: string): RunEvent[] {
  const text = fs.readFileSync(path.join(ws, '.regbench', 'runs', runId, 'events.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunEvent);
}

before(() => {
  fs.mkdirSync(ws, { recursive: true });
  fs.writeFileSync(
    broken,
    "import * as tf from '@tensorflow/tfjs-core';\nexport function computeRegularization(model: unknown): tf.Scalar {\n  return tf.scalar(0) +* ;\n}\n",
  );
  const s = regbench(['data', 'synth', '--dataset', 'cifar10', '--out', data, '--train', '256', '--test', '128']);
  assert.equal(s.status, 0, s.stderr);
});

test('bad input: one line, exit 2, nothing started', () => {
  const cases: Array<[string[], RegExp]> = [
    [['nope.ts', '--bench', 'resnet20-cifar10'], /nope\.ts: variant file not found/],
    [[cp, '--bench', 'resnet21-cifar10'], /unknown benchmark 'resnet21-cifar10'/],
    [[cp, '--bench', 'resnet20-cifar10', '--ladder', 'smoke,medium'], /unknown budget 'medium'/],
    [[cp, '--bench', 'resnet20-cifar10', '--ladder', 'quick,smoke'], /--ladder does not grow from quick/],
    [[cp, '--bench', 'mobilenetv2-fmnist'], /mobilenetv2-fmnist is the held-out benchmark of regularizers/],
    [[cp, '--bench', 'resnet20-cifar10', '--baseline', 'no-such-template'], /--baseline: no template 'no-such-template'/],
    [[cp, '--bench', 'resnet20-cifar10', '--set', 'BETA=0.1,lots'], /confidence-penalty\.ts:16: BETA is a number \(0\.1\); 'lots' is not a number/],
    [[cp, '--bench', 'resnet20-cifar10', '--set', 'GAMMA=1'], /'GAMMA' is not a top-level constant of this file; its top-level constants are BETA/],
  ];
  for (const [args, re] of cases) {
    const r = regbench(['race', ...args, '--workspace', ws]);
    assert.equal(r.status, 2, `${args.join(' ')}: exit ${r.status}, ${r.stderr}`);
    assert.equal(r.stdout, '');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
  }
  const sweep = regbench(['sweep', cp, '--set', 'BETA=true', '--workspace', ws]);
  assert.equal(sweep.status, 2);
  assert.match(sweep.stderr.trim(), /^regbench sweep: .*BETA is a number \(0\.1\); 'true' is not a number$/);
  assert.deepEqual(runDirs(), []);
  assert.ok(!fs.existsSync(path.join(ws, '.regbench', 'races')));
});

test('a small race, stopped mid-rung and resumed: no run repeated, the broken candidate failed, the report complete', { timeout: 900_000 }, async () => {
  const child = spawn(process.execPath, [cli, 'race', ...RACE], { env });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
  // Stop it once two runs of rung 1 have completed (the rung has 8).
  const id = await new Promise<string>((resolve, reject) => {
    const timer = setInterval(() => {
      const m = /^race (\S+)\n/.exec(out);
      if (!m) return;
      let r: RaceRecord;
      try {
        r = race(m[1]);
      } catch {
        return;
      }
      const completed = r.rungs[0].cells.filter((c) => c.status === 'completed').length;
      if (completed >= 2) {
        clearInterval(timer);
        child.kill('SIGTERM');
        resolve(m[1]);
      }
    }, 300);
    child.on('exit', () => {
      clearInterval(timer);
      reject(new Error(`the race ended before it was stopped:\n${out}`));
    });
  });
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  assert.equal(code, 1, out);
  assert.match(out, /^race \S+\n/);
  const stopped = race(id);
  assert.equal(stopped.status, 'interrupted');
  assert.equal(stopped.rungs[0].status, 'running');
  const before = runDirs();
  const finishedBefore = stopped.rungs[0].cells.filter((c) => c.status === 'completed').map((c) => c.runId as string);
  assert.ok(finishedBefore.length >= 2);

  const resumed = regbench(['race', '--resume', id, '--workspace', ws]);
  assert.equal(resumed.status, 0, resumed.stdout + resumed.stderr);
  assert.equal(resumed.stdout.split('\n')[0], `race ${id}`);
  const done = race(id);
  assert.equal(done.status, 'completed');
  // Every cell of the race has its own run, and the store holds exactly those runs.
  const cells = done.rungs.flatMap((r) => r.cells);
  const ids = new Set(cells.map((c) => c.runId));
  assert.equal(cells.length, 8 + 6, 'rung 1: 4 entrants x 2 seeds; rung 2: 3 entrants x 2 seeds');
  assert.equal(ids.size, cells.length);
  assert.deepEqual(runDirs().sort(), [...ids].sort());
  for (const runId of before) assert.ok(ids.has(runId), `run ${runId} made before the stop is not in the race`);
  // A run that had completed before the stop was not run again: one run-start, one run-end.
  for (const runId of finishedBefore) {
    const ev = events(runId);
    assert.equal(ev.filter((e) => e.type === 'run-start').length, 1, runId);
    assert.equal(ev.filter((e) => e.type === 'run-end').length, 1, runId);
  }
  const c3 = done.candidates.find((c) => c.id === 'c3');
  assert.equal(c3?.status, 'failed');
  assert.equal(c3?.rung, 0);
  assert.match(c3?.error ?? '', /broken\.ts/);
  assert.deepEqual(done.ranking?.map((r) => r.candidate).sort(), ['c1', 'c2']);
  const c1Run = JSON.parse(
    fs.readFileSync(path.join(ws, '.regbench', 'runs', cells.find((c) => c.entrant === 'c1')?.runId as string, 'record.json'), 'utf8'),
  ) as { displayName?: string };
  assert.equal(c1Run.displayName, 'confidence-penalty BETA=0.3');
  assert.match(resumed.stdout, /ranking \(each survivor against the baseline on its deepest rung\):\n {2}1\. /);
  assert.match(resumed.stdout, /broken: failed at rung 1: resnet20-cifar10 seed \d: .*broken\.ts/);
  assert.match(resumed.stdout, /rank stability \(Kendall tau between consecutive rungs\): 1->2: /);
  assert.match(resumed.stdout, /compute: \d+ runs trained, [\d.]+ h; every candidate and the baseline at the last rung: 8 runs, [\d.]+ h/);
  const list = regbench(['list', '--workspace', ws]);
  assert.equal(list.stdout.trim().split('\n').length, cells.length, 'the race runs are ordinary runs');
});

test('the same race again reuses every finished run and trains none', { timeout: 300_000 }, () => {
  const n = runDirs().length;
  const r = regbench(['race', ...RACE]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /rung 1\/2: 3 candidates and the baseline, 8 cells: 2 to run, 6 done already \(6 reused from the store\)/);
  // The broken candidate's runs failed: they are not reused (only completed runs are), so they run again and fail again.
  assert.equal(runDirs().length, n + 2);
  assert.match(r.stdout, /compute: 2 runs trained/);
});
