/**
 * The editor's side of a real race, without the editor: the command line "Race Variants…" builds
 * (race-form.ts) started the way it starts it (race-process.ts) on synthetic CIFAR-10, followed
 * through race.json by the race index the store watcher refreshes (polled here), with the rung
 * notification and the Race view payload built from the real record; and the within-epoch loss of
 * the race's runs (their progress events) as the dashboard receives it. One smoke rung (1,024
 * training images: several steps per epoch), a sweep of BETA over two values against the blank
 * baseline, seeds 0 and 1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RaceRecord } from '../src/protocol/race';
import { isHostToWebviewMessage } from '../src/protocol/webview';
import { finishedRungs, raceEndNotification, raceView, rungNotification } from '../src/present/race-view-model';
import { stepLossOf } from '../src/present/step-loss';
import { RunStore } from '../src/runs/run-store';
import { raceArgs, sweepCandidate } from '../src/races/race-form';
import { RaceIndex } from '../src/races/race-index';
import { RaceProcess } from '../src/races/race-process';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli.js');

test('a race started as the editor starts it: id, live race.json, one notification per rung, the view, within-epoch loss', { timeout: 600_000 }, async () => {
  assert.ok(fs.existsSync(cli), `${cli} is missing: run npm run build`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-race-editor-'));
  const ws = path.join(tmp, 'ws');
  const data = path.join(tmp, 'data');
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'cache'), REGBENCH_OFFLINE: '1', REGBENCH_DATA: '' };
  try {
    fs.mkdirSync(ws);
    const synth = spawnSync(process.execPath, [cli, 'data', 'synth', '--dataset', 'cifar10', '--out', data, '--train', '1024', '--test', '128'], {
      encoding: 'utf8',
      env,
    });
    assert.equal(synth.status, 0, synth.stderr);
    const file = path.join(root, 'templates', 'regularizers', 'confidence-penalty.ts');
    const args = raceArgs(
      {
        candidates: [sweepCandidate(file, 'BETA', ['0.1', '0.3'])],
        benches: ['resnet20-cifar10'],
        ladder: 'smoke:train=1024:test=128',
        seeds: [0, 1],
        slurm: false,
        concurrency: 2,
        dataDir: data,
      },
      ws,
    );
    const races = new RaceIndex(path.join(ws, '.regbench'));
    const notifications: string[] = [];
    const changes: RaceRecord[] = [];
    races.onChange((c) => {
      changes.push(c.race);
      for (const r of finishedRungs(c.before, c.race)) notifications.push(rungNotification(c.race, r));
    });
    let poll: NodeJS.Timeout | undefined;
    const proc = new RaceProcess({
      command: process.execPath,
      args: [cli, ...args],
      cwd: ws,
      env,
      killAfterMs: 15_000,
      onLine: () => undefined,
      onRaceId: (id) => (poll = setInterval(() => races.refresh(id), 300)),
    });
    const code = await proc.exited;
    clearInterval(poll);
    assert.ok(proc.id, `a race id from the first line (${proc.failure(code)})`);
    races.refresh(proc.id);
    const race = races.get(proc.id);
    assert.ok(race);
    assert.equal(code, 0, `${race.status}: ${race.reason ?? ''}`);
    assert.equal(race.status, 'completed');
    assert.ok(
      changes.some((r) => r.status === 'running'),
      'the race was seen while running',
    );
    assert.equal(notifications.length, 1, 'one notification for the one rung');
    assert.match(notifications[0], new RegExp(`^Race ${proc.id}, rung 1 done: `));
    assert.match(raceEndNotification(race), new RegExp(`^Race ${proc.id} completed: `));

    const view = raceView(race);
    assert.ok(isHostToWebviewMessage({ type: 'race', payload: { race: view } }));
    assert.deepEqual(
      view.entrants.map((e) => e.label),
      ['blank (baseline)', ...race.candidates.map((c) => c.label)],
    );
    assert.equal(view.entrants.length, 3);
    for (const e of view.entrants) {
      assert.equal(e.cells.length, 1);
      assert.equal(e.cells[0].total, 2, `${e.label}: two seeds`);
      if (e.cells[0].state !== 'failed') assert.equal(e.cells[0].done, 2, `${e.label}: both runs finished`);
    }
    assert.equal(view.ranking.length, race.candidates.filter((c) => c.status === 'advanced').length);

    // The race's runs as the dashboard draws them: a one-epoch run's loss inside its epoch.
    const store = new RunStore(path.join(ws, '.regbench'));
    const runId = race.rungs[0].cells.find((c) => c.status === 'completed')?.runId;
    assert.ok(runId);
    const loss = stepLossOf(store.events(runId));
    assert.ok(loss.x.length >= 2, `${loss.x.length} within-epoch points`);
    assert.equal(loss.x[loss.x.length - 1], 1, 'the last at the end of the epoch');
    assert.ok(loss.x.every((x) => x > 0 && x <= 1));
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
