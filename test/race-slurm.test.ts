/**
 * A race on a REAL one-node Slurm cluster (scripts/slurm-local.sh, as test/slurm.test.ts starts
 * and stops it): each rung is one job array of that rung's runs; the runs are the store's ordinary
 * Slurm-task runs; a candidate with a syntax error fails in the array and the race goes on.
 * Skipped, with the reason printed, when not root or when the Slurm packages are missing.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RaceRecord } from '../src/protocol/race';
import type { RunRecord } from '../src/runs/run-record';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const script = path.join(root, 'scripts', 'slurm-local.sh');
const cp = path.join(root, 'templates', 'regularizers', 'confidence-penalty.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-race-slurm-'));
const clusterDir = path.join(tmp, 'cluster');
const data = path.join(tmp, 'data');
const ws = path.join(tmp, 'ws');
const broken = path.join(tmp, 'broken.ts');
let env: NodeJS.ProcessEnv = {
  ...process.env,
  XDG_CACHE_HOME: path.join(tmp, 'cache'),
  REGBENCH_OFFLINE: '1',
  REGBENCH_DATA: '',
  REGBENCH_SLURM_STATE: path.join(tmp, 'state'),
};
let skipReason: string | undefined;
let started = false;

function missingDaemons(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: the test cluster runs slurmctld/slurmd as root';
  for (const bin of ['slurmctld', 'slurmd', 'sbatch', 'munged']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0)
      return `${bin} not installed (apt-get install slurmctld slurmd slurm-client slurm-wlm-basic-plugins munge)`;
  }
  return undefined;
}

before(() => {
  skipReason = missingDaemons();
  if (skipReason) {
    process.stdout.write(`# slurm race test skipped: ${skipReason}\n`);
    return;
  }
  const r = spawnSync('bash', [script, 'start', clusterDir], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(r.status, 0, `slurm-local.sh start failed: ${r.stderr}`);
  started = true;
  const conf = /export SLURM_CONF=(\S+)/.exec(r.stdout)?.[1];
  assert.ok(conf, r.stdout);
  env = { ...env, SLURM_CONF: conf };
  const s = spawnSync(process.execPath, [cli, 'data', 'synth', '--dataset', 'cifar10', '--out', data, '--train', '256', '--test', '128'], {
    encoding: 'utf8',
    env,
  });
  assert.equal(s.status, 0, s.stderr);
  fs.writeFileSync(
    broken,
    "import * as tf from '@tensorflow/tfjs-core';\nexport function computeRegularization(): tf.Scalar {\n  return tf.scalar(0) +* ;\n}\n",
  );
});

after(() => {
  if (!started) return;
  const r = spawnSync('bash', [script, 'stop', clusterDir], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
});

test('a race on Slurm: one job array per rung, ordinary Slurm runs, a failing candidate out as failed', { timeout: 900_000 }, async (t) => {
  if (skipReason) return t.skip(skipReason);
  const args = [
    cli,
    'race',
    `${cp}:BETA=0.3`,
    broken,
    '--bench',
    'resnet20-cifar10',
    '--ladder',
    'smoke:train=128:test=64,smoke:epochs=2:train=128:test=64',
    '--seeds',
    '0,1',
    '--data-dir',
    data,
    '--slurm',
    '--cpus-per-task',
    '1',
    '--time',
    '10',
    '--poll-seconds',
    '1',
    '--workspace',
    ws,
  ];
  const result = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn(process.execPath, args, { env });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.on('close', (code) => resolve({ code, out }));
  });
  assert.equal(result.code, 0, result.out);
  const id = /^race (\S+)\n/.exec(result.out)?.[1] as string;
  assert.ok(id, result.out);
  const race = JSON.parse(fs.readFileSync(path.join(ws, '.regbench', 'races', id, 'race.json'), 'utf8')) as RaceRecord;
  assert.equal(race.status, 'completed');
  assert.equal(race.rungs.length, 2);
  const matrices = fs.readdirSync(path.join(ws, '.regbench', 'matrices'));
  assert.equal(matrices.length, 2, 'one job array per rung');
  for (const rung of race.rungs) {
    assert.ok(rung.slurm?.jobId, `rung ${rung.index + 1} has no job`);
    const tasks = JSON.parse(fs.readFileSync(path.join(ws, '.regbench', 'matrices', rung.slurm?.matrixId as string, 'tasks.json'), 'utf8')) as string[];
    assert.deepEqual([...tasks].sort(), rung.cells.map((c) => c.runId as string).sort());
    for (const c of rung.cells) {
      const r = JSON.parse(fs.readFileSync(path.join(ws, '.regbench', 'runs', c.runId as string, 'record.json'), 'utf8')) as RunRecord;
      assert.equal(r.executor?.kind, 'slurm');
      assert.equal(r.executor?.matrixId, rung.slurm?.matrixId);
      assert.equal(r.status, c.entrant === 'c2' ? 'failed' : 'completed', `${c.entrant} ${r.id}: ${r.reason}`);
    }
  }
  assert.equal(race.rungs[0].cells.length, 6);
  assert.equal(race.rungs[1].cells.length, 4, 'the failed candidate does not climb');
  assert.equal(race.candidates.find((c) => c.id === 'c2')?.status, 'failed');
  assert.match(race.candidates.find((c) => c.id === 'c2')?.error ?? '', /broken\.ts/);
  assert.match(result.out, /rung 1: Slurm job array \d+ \(6 tasks\)/);
  const jobs = spawnSync(process.execPath, [cli, 'jobs', '--workspace', ws], { encoding: 'utf8', env });
  assert.equal((jobs.stdout.match(/ completed /g) ?? []).length, 8, jobs.stdout);
});
