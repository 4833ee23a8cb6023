/**
 * The editor's race process (src/races/race-process.ts) against stand-in CLIs: the race id comes
 * from the first line; Cancel stops a race within seconds (SIGINT, which the CLI answers by
 * stopping its runs; SIGKILL when it does not end in time); a race that never starts gives the
 * CLI's one-line reason.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import { RaceProcess } from '../src/races/race-process';

function standIn(script: string, killAfterMs = 5000): { proc: RaceProcess; lines: string[]; ids: string[] } {
  const lines: string[] = [];
  const ids: string[] = [];
  const proc = new RaceProcess({
    command: process.execPath,
    args: ['-e', script],
    cwd: os.tmpdir(),
    env: process.env,
    killAfterMs,
    onLine: (l) => lines.push(l),
    onRaceId: (id) => ids.push(id),
  });
  return { proc, lines, ids };
}

const waitFor = async (cond: () => boolean, ms = 10_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

test('cancel: SIGINT stops a race that answers it, within seconds', async () => {
  const { proc, ids, lines } = standIn(`
    process.on('SIGINT', () => { console.log('stopping: runs checkpoint'); setTimeout(() => process.exit(1), 300); });
    console.log('race 20261207-2200-ab12'); console.log('rung 1/2: 2 candidates');
    setInterval(() => {}, 1000);`);
  await waitFor(() => ids.length === 1);
  assert.deepEqual(ids, ['20261207-2200-ab12']);
  const t0 = Date.now();
  proc.cancel();
  const code = await proc.exited;
  const seconds = (Date.now() - t0) / 1000;
  assert.equal(code, 1);
  assert.ok(seconds < 3, `stopped after ${seconds} s`);
  assert.ok(lines.includes('stopping: runs checkpoint'), 'the CLI saw SIGINT');
});

test('cancel: a race that ignores SIGINT is killed after the grace time', async () => {
  const { proc, ids } = standIn(`process.on('SIGINT', () => {}); console.log('race r-2'); setInterval(() => {}, 1000);`, 800);
  await waitFor(() => ids.length === 1);
  const t0 = Date.now();
  proc.cancel();
  proc.cancel(); // a second press changes nothing
  assert.equal(await proc.exited, null);
  assert.equal(proc.child.signalCode, 'SIGKILL');
  const seconds = (Date.now() - t0) / 1000;
  assert.ok(seconds >= 0.7 && seconds < 5, `killed after ${seconds} s`);
});

test('a race that never starts: no id, the CLI one line', async () => {
  const { proc, ids } = standIn(`process.stderr.write("regbench race: --bench: 'resnet9' is not a benchmark\\n"); process.exit(2);`);
  const code = await proc.exited;
  assert.equal(code, 2);
  assert.deepEqual(ids, []);
  assert.equal(proc.failure(code), "race: --bench: 'resnet9' is not a benchmark");
});
