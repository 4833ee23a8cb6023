/**
 * Regbench on a REAL one-node Slurm 22.05 cluster (scripts/slurm-local.sh: munge, slurmctld and
 * slurmd on 127.0.0.1, everything under a temporary folder), no mock. `before` starts it, `after`
 * stops it by the pids the script wrote. Skipped, with the reason printed, when not root or when
 * the Debian packages are missing (.ci/run installs them).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunRecord } from '../src/runs/run-record';
import type { RunEvent } from '../src/protocol/events';
import { RunStore } from '../src/runs/run-store';
import { resolveRunSpec } from '../src/runs/run-request';
import { parseSqueue } from '../src/runs/slurm/job-state';
import { missingMessage, requireTool } from './requirements';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const script = path.join(root, 'scripts', 'slurm-local.sh');
const blank = path.join(root, 'templates', 'regularizers', 'blank.ts');
const throws = path.join(root, 'test', 'fixtures', 'variants', 'throws.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-slurm-test-'));
const clusterDir = path.join(tmp, 'cluster');
const data = path.join(tmp, 'data');
let env: NodeJS.ProcessEnv = {
  ...process.env,
  XDG_CACHE_HOME: path.join(tmp, 'cache'),
  REGBENCH_OFFLINE: '1',
  REGBENCH_DATA: '',
  REGBENCH_SLURM_STATE: path.join(tmp, 'state'),
};
let skipReason: string | undefined;
let started = false;

/** Small runs: one or a few epochs on 128 synthetic images, tested on 64. */
const SMALL = ['--budget', 'smoke', '--train-subset', '128', '--test-subset', '64', '--data-dir', data];

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
    process.stdout.write(`# ${missingMessage('slurm', skipReason)}\n`);
    return;
  }
  const r = spawnSync('bash', [script, 'start', clusterDir], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(r.status, 0, `slurm-local.sh start failed: ${r.stderr}`);
  started = true;
  const conf = /export SLURM_CONF=(\S+)/.exec(r.stdout)?.[1];
  assert.ok(conf, r.stdout);
  env = { ...env, SLURM_CONF: conf };
  for (const dataset of ['cifar10', 'cifar100']) {
    const s = spawnSync(process.execPath, [cli, 'data', 'synth', '--dataset', dataset, '--out', data, '--train', '256', '--test', '128'], {
      encoding: 'utf8',
      env,
    });
    assert.equal(s.status, 0, s.stderr);
  }
});

after(() => {
  if (!started) return;
  const r = spawnSync('bash', [script, 'stop', clusterDir], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(r.status, 0, r.stderr);
});

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the CLI asynchronously (so that local runs can train while Slurm tasks do). */
function regbench(args: string[], workspace: string, extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 120_000): Promise<Result> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args, '--workspace', workspace], { env: { ...env, ...extraEnv }, timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('close', (status) => resolve({ status, stdout, stderr, ms: Date.now() - t0 }));
  });
}

function slurm(command: string, args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', env, timeout: 15_000 });
  assert.equal(r.status, 0, `${command} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function records(workspace: string): RunRecord[] {
  const dir = path.join(workspace, '.regbench', 'runs');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .sort()
    .map((id) => JSON.parse(fs.readFileSync(path.join(dir, id, 'record.json'), 'utf8')) as RunRecord);
}

function events(workspace: string, id: string): RunEvent[] {
  const text = fs.readFileSync(path.join(workspace, '.regbench', 'runs', id, 'events.jsonl'), 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RunEvent);
}

/** True once the run's events (read while being written: a partial last line is skipped) hold a checkpoint. */
function checkpointWritten(workspace: string, id: string): boolean {
  const file = path.join(workspace, '.regbench', 'runs', id, 'events.jsonl');
  if (!fs.existsSync(file)) return false;
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .some((l) => {
      try {
        return (JSON.parse(l) as RunEvent).type === 'checkpoint';
      } catch {
        return false;
      }
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done(records)` holds; fails with the records and the task output after `ms`. */
async function waitFor(workspace: string, done: (rs: RunRecord[]) => boolean, ms: number): Promise<RunRecord[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const rs = records(workspace);
    if (rs.length && done(rs)) return rs;
    if (Date.now() > deadline) {
      const outs = path.join(workspace, '.regbench', 'matrices');
      const tails = fs.existsSync(outs) ? spawnSync('sh', ['-c', `tail -n 5 ${outs}/*/task-*.out`], { encoding: 'utf8' }).stdout : '';
      assert.fail(`timed out: ${JSON.stringify(rs.map((r) => [r.id, r.status, r.epochsCompleted]))}\n${tails}`);
    }
    await sleep(500);
  }
}

const ended = (rs: RunRecord[]) => rs.every((r) => ['completed', 'failed', 'diverged', 'cancelled'].includes(r.status));

function jobIdOf(submit: Result): string {
  const id = /submitted job (\d+)/.exec(submit.stdout)?.[1];
  assert.ok(id, submit.stdout + submit.stderr);
  return id;
}

test('a run owned by a Slurm task is not reconciled by a local pid; squeue lines parse (no cluster needed)', () => {
  const store = RunStore.forWorkspace(path.join(tmp, 'unit'));
  const make = () => {
    const { id, dir } = store.allocate('resnet20-cifar10');
    const { spec, source } = resolveRunSpec({ variantPath: blank, bench: 'resnet20-cifar10', budget: 'smoke' }, id, dir);
    return store.create(spec, source, 2 ** 22 + 12345);
  };
  const slurmRun = make();
  store.setExecutor(slurmRun.id, { kind: 'slurm', matrixId: 'm', arrayTaskId: 0, jobId: '7' });
  const localRun = make();
  const byId = new Map(store.list().map((r) => [r.id, r]));
  assert.equal(byId.get(slurmRun.id)?.status, 'queued');
  assert.equal(byId.get(localRun.id)?.status, 'cancelled'); // queued by a process that is gone: it never started
  const tasks = parseSqueue('7|1|8|PENDING|BeginTime|\n7|0|7|CANCELLED by 0|None|vm\n');
  assert.deepEqual(
    tasks.map((t) => [t.arrayTaskId, t.jobId, t.state]),
    [
      [0, '7', 'cancelled'],
      [1, '8', 'pending'],
    ],
  );
});

test('a 2 x 2 matrix completes through Slurm with the accuracies of the same runs made locally', async (t) => {
  if (!requireTool(t, 'slurm', !skipReason, skipReason)) return;
  const ws = path.join(tmp, 'matrix');
  const local = path.join(tmp, 'local');
  const benches = ['resnet20-cifar10', 'resnet56-cifar100'];
  const t0 = Date.now();
  const submit = await regbench(
    ['submit', blank, '--slurm', '--bench', benches.join(','), '--seeds', '0,1', ...SMALL, '--cpus-per-task', '1', '--time', '10'],
    ws,
  );
  assert.equal(submit.status, 0, submit.stderr);
  jobIdOf(submit);
  // The same four runs made locally, one after the other, while the Slurm tasks train.
  const localRuns = (async () => {
    for (const bench of benches)
      for (const seed of ['0', '1']) {
        const r = await regbench(['run', blank, '--bench', bench, '--seed', seed, ...SMALL], local);
        assert.equal(r.status, 0, r.stderr);
      }
  })();
  const rs = await waitFor(ws, ended, 150_000);
  const matrixSeconds = (Date.now() - t0) / 1000;
  await localRuns;
  process.stdout.write(`# 2x2 smoke matrix: submit to all four runs complete in ${matrixSeconds.toFixed(1)} s\n`);
  assert.equal(rs.length, 4);
  const key = (r: RunRecord) => `${r.spec.bench}/${r.spec.seed}`;
  const locals = new Map(records(local).map((r) => [key(r), r]));
  for (const r of rs) {
    assert.equal(r.status, 'completed', `${r.id}: ${r.reason}`);
    assert.equal(r.executor?.kind, 'slurm');
    assert.equal(r.executor?.segments?.length, 1);
    const l = locals.get(key(r));
    assert.ok(l, `no local run for ${key(r)}`);
    assert.equal(r.bestTestAcc, l.bestTestAcc, key(r));
    assert.equal(r.finalTestAcc, l.finalTestAcc, key(r));
    assert.ok(fs.readFileSync(path.join(ws, '.regbench', 'runs', r.id, 'slurm-output.txt'), 'utf8').includes('run-end: completed'));
  }
  const jobs = await regbench(['jobs'], ws);
  assert.equal(jobs.status, 0, jobs.stderr);
  assert.equal((jobs.stdout.match(/ completed /g) ?? []).length, 4, jobs.stdout);
});

test('regbench cancel mid-run leaves cancelled runs', async (t) => {
  if (!requireTool(t, 'slurm', !skipReason, skipReason)) return;
  const ws = path.join(tmp, 'cancel');
  const submit = await regbench(['submit', blank, '--slurm', '--bench', 'resnet20-cifar10', '--seeds', '0,1', ...SMALL, '--epochs', '20'], ws);
  assert.equal(submit.status, 0, submit.stderr);
  const job = jobIdOf(submit);
  await waitFor(ws, (rs) => rs.some((r) => r.status === 'running'), 60_000);
  const cancel = await regbench(['cancel', job], ws);
  assert.equal(cancel.status, 0, cancel.stderr);
  const rs = records(ws);
  assert.deepEqual(
    rs.map((r) => r.status),
    ['cancelled', 'cancelled'],
  );
  const states = slurm('squeue', ['-h', '-t', 'all', '-r', '-j', job, '-o', '%T']).trim().split('\n');
  assert.deepEqual([...new Set(states)], ['CANCELLED']);
  const jobs = await regbench(['jobs', job], ws);
  assert.equal((jobs.stdout.match(/ cancelled /g) ?? []).length, 2, jobs.stdout);
});

test("a failing variant's task is marked failed with the variant's error", async (t) => {
  if (!requireTool(t, 'slurm', !skipReason, skipReason)) return;
  const ws = path.join(tmp, 'throws');
  // Two steps: the fixture throws at step 1.
  const submit = await regbench(['submit', throws, '--slurm', '--bench', 'resnet20-cifar10', '--seeds', '0', ...SMALL, '--train-subset', '256'], ws);
  assert.equal(submit.status, 0, submit.stderr);
  const [r] = await waitFor(ws, ended, 60_000);
  assert.equal(r.status, 'failed');
  assert.match(r.error?.message ?? '', /throws\.ts:6: computeRegularization threw .*penalty weights not initialised/);
  const jobs = await regbench(['jobs'], ws);
  assert.match(jobs.stdout, / failed .*penalty weights not initialised/);
});

test('no sbatch, a bad partition, a bad time, an unreachable controller: one line within seconds, no run left', async (t) => {
  if (!requireTool(t, 'slurm', !skipReason, skipReason)) return;
  const ws = path.join(tmp, 'bad');
  const unreachable = path.join(tmp, 'unreachable.conf');
  const conf = fs.readFileSync(env.SLURM_CONF ?? '', 'utf8');
  fs.writeFileSync(unreachable, conf.replace(/^SlurmctldPort=\d+$/m, 'SlurmctldPort=1'));
  const cases: Array<[string, string[], NodeJS.ProcessEnv, RegExp]> = [
    ['no sbatch', [], { PATH: path.join(tmp, 'empty-path') }, /sbatch not found on PATH/],
    ['bad partition', ['--partition', 'nope'], {}, /invalid partition/i],
    ['bad time', ['--time', '3-00:00:00'], {}, /time limit/i],
    ['unreachable controller', [], { SLURM_CONF: unreachable }, /controller/i],
  ];
  for (const [name, extra, extraEnv, message] of cases) {
    const r = await regbench(['submit', blank, '--slurm', '--bench', 'resnet20-cifar10', '--seeds', '0,1', ...SMALL, ...extra], ws, extraEnv, 30_000);
    assert.equal(r.status, 1, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stderr, message, name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: ${r.stderr}`);
    assert.ok(r.ms < 16_000, `${name} took ${r.ms} ms`);
    assert.deepEqual(records(ws), [], `${name} left runs behind`);
    process.stdout.write(`# ${name}: ${r.ms} ms: ${r.stderr.trim()}\n`);
  }
});

test('USR1 before the time limit: the batch script forwards it and requeues only its own array task when the task is interrupted', async (t) => {
  if (!requireTool(t, 'slurm', !skipReason, skipReason)) return;
  // The real batch script (from --dry-run) with a stand-in for `regbench task`: task 0 waits and
  // exits 3 (interrupted) on USR1 in its first segment; task 1 completes at once.
  const dir = path.join(tmp, 'usr1');
  fs.mkdirSync(dir, { recursive: true });
  const fake = path.join(dir, 'task.sh');
  fs.writeFileSync(
    fake,
    [
      'echo "fake $1 restart=${SLURM_RESTART_COUNT:-0}"',
      '[ "$SLURM_ARRAY_TASK_ID" = 1 ] && exit 0',
      'if [ "${SLURM_RESTART_COUNT:-0}" != 0 ]; then echo resumed; exit 0; fi',
      "trap 'echo got USR1; exit 3' USR1",
      'while :; do sleep 0.2; done',
    ].join('\n') + '\n',
  );
  const dry = await regbench(
    ['submit', blank, '--slurm', '--bench', 'resnet20-cifar10', '--seeds', '0,1', ...SMALL, '--time', '1', '--signal-seconds', '55', '--dry-run'],
    path.join(tmp, 'usr1-ws'),
  );
  assert.equal(dry.status, 0, dry.stderr);
  const jobScript = dry.stdout
    .replace(/^NODE=.*$/m, 'NODE=/bin/bash')
    .replace(/^CLI=.*$/m, `CLI='${fake}'`)
    .replace(/^#SBATCH --output=.*$/m, `#SBATCH --output=${dir}/task-%a.out`)
    .replace(/^#SBATCH --chdir=.*$/m, `#SBATCH --chdir=${dir}`);
  const sub = spawnSync('sbatch', ['--parsable'], { input: jobScript, encoding: 'utf8', env, timeout: 15_000 });
  assert.equal(sub.status, 0, sub.stderr);
  const job = sub.stdout.trim();
  const deadline = Date.now() + 90_000;
  while (
    slurm('squeue', ['-h', '-t', 'all', '-r', '-j', job, '-o', '%T'])
      .trim()
      .split('\n')
      .some((s) => s !== 'COMPLETED')
  ) {
    if (Date.now() > deadline) assert.fail(`not completed in 90 s: ${spawnSync('sh', ['-c', `cat ${dir}/task-*.out`], { encoding: 'utf8' }).stdout}`);
    await sleep(500);
  }
  const out0 = fs.readFileSync(path.join(dir, 'task-0.out'), 'utf8');
  assert.match(out0, /got USR1[^]*exited with 3[^]*requeueing [0-9]+_0[^]*restart=1\nresumed/);
  assert.match(slurm('scontrol', ['-o', 'show', 'job', `${job}_1`]), /Restarts=0 /);
  assert.equal((fs.readFileSync(path.join(dir, 'task-1.out'), 'utf8').match(/fake/g) ?? []).length, 1);
});

test('a task killed mid-epoch and requeued resumes from its checkpoint and ends like an uninterrupted run', async (t) => {
  if (!requireTool(t, 'slurm', !skipReason, skipReason)) return;
  const ws = path.join(tmp, 'requeue');
  const local = path.join(tmp, 'requeue-local');
  const args = ['--bench', 'resnet20-cifar10', '--seed', '0', ...SMALL, '--train-subset', '256', '--epochs', '2'];
  const uninterrupted = regbench(['run', blank, ...args], local);
  const submit = await regbench(['submit', blank, '--slurm', ...args.map((a) => (a === '--seed' ? '--seeds' : a))], ws);
  assert.equal(submit.status, 0, submit.stderr);
  const job = jobIdOf(submit);
  // In the second epoch the task and its worker are killed with SIGKILL (as when a node dies: no
  // chance to checkpoint or to write anything), then the task is put back in the queue.
  // (`scancel --signal=KILL` is no SIGKILL in 22.05: it cancels the job, TERM first.)
  // Killed once epoch 1's checkpoint is on disk (its event follows the write), not at the epoch
  // event, which comes first: a kill between the two would leave nothing to resume from.
  const [running] = await waitFor(ws, (rs) => checkpointWritten(ws, rs[0].id), 90_000);
  const hello = events(ws, running.id).find((e) => e.type === 'hello');
  assert.ok(hello && hello.type === 'hello');
  const taskPid = Number(
    fs
      .readFileSync(`/proc/${hello.pid}/stat`, 'utf8')
      .replace(/^.*\) /, '')
      .split(' ')[1],
  );
  process.kill(taskPid, 'SIGKILL');
  process.kill(-hello.pid, 'SIGKILL');
  await waitFor(ws, () => !/RUNNING|COMPLETING/.test(slurm('squeue', ['-h', '-t', 'all', '-j', `${job}_0`, '-o', '%T'])), 20_000);
  slurm('scontrol', ['requeue', `${job}_0`]);
  const [r] = await waitFor(ws, ended, 120_000);
  const l = await uninterrupted;
  assert.equal(l.status, 0, l.stderr);
  const [lr] = records(local);
  assert.equal(r.status, 'completed', r.reason);
  assert.equal(r.executor?.segments?.length, 2, JSON.stringify(r.executor));
  assert.equal(r.bestTestAcc, lr.bestTestAcc);
  assert.equal(r.finalTestAcc, lr.finalTestAcc);
  const starts = events(ws, r.id).filter((e) => e.type === 'run-start');
  assert.equal(starts.length, 2);
  // Needs the engines' checkpoints (issue 10, point 1): the second segment continues, not restarts.
  assert.ok(starts[1].type === 'run-start' && starts[1].resumedFrom, 'the requeued task started from epoch 0: the worker wrote no checkpoint');
});
