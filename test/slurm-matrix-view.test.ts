/**
 * The editor's Slurm path on a REAL one-node Slurm cluster (scripts/slurm-local.sh), no mock: a
 * matrix submitted with the options the editor uses (the compute node's `node`, the CLI bundle),
 * then followed by the matrices view's poller until every task has completed, after which no
 * timer is left. Skipped, with the reason, when not root or without the Debian packages.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunStore } from '../src/runs/run-store';
import { matrixTasks } from '../src/runs/slurm/jobs';
import { submitMatrix } from '../src/runs/slurm/matrix';
import { MatrixPoller } from '../src/runs/slurm/matrix-poller';

const root = path.resolve(__dirname, '..', '..');
const cli = path.join(root, 'dist', 'cli.js');
const script = path.join(root, 'scripts', 'slurm-local.sh');
const blank = path.join(root, 'templates', 'regularizers', 'blank.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-slurm-view-'));
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

function missing(): string | undefined {
  if (process.getuid?.() !== 0) return 'not root: the test cluster runs slurmctld/slurmd as root';
  for (const bin of ['slurmctld', 'slurmd', 'sbatch', 'munged', 'node']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} not installed`;
  }
  return undefined;
}

before(() => {
  skipReason = missing();
  if (skipReason) return void process.stdout.write(`# slurm view tests skipped: ${skipReason}\n`);
  const r = spawnSync('bash', [script, 'start', clusterDir], { encoding: 'utf8', env, timeout: 60_000 });
  assert.equal(r.status, 0, `slurm-local.sh start failed: ${r.stderr}`);
  started = true;
  env = { ...env, SLURM_CONF: /export SLURM_CONF=(\S+)/.exec(r.stdout)?.[1] };
  const s = spawnSync(process.execPath, [cli, 'data', 'synth', '--dataset', 'cifar10', '--out', data, '--train', '256', '--test', '128'], {
    encoding: 'utf8',
    env,
  });
  assert.equal(s.status, 0, s.stderr);
});

after(() => {
  if (started) spawnSync('bash', [script, 'stop', clusterDir], { encoding: 'utf8', env, timeout: 60_000 });
});

test('the poller follows a submitted matrix to its end, then sets no more timers', { timeout: 240_000 }, async (t) => {
  if (skipReason) return t.skip(skipReason);
  const ws = fs.mkdtempSync(path.join(tmp, 'ws-'));
  const store = RunStore.forWorkspace(ws);
  const req = {
    variantPath: blank,
    benches: ['resnet20-cifar10' as const],
    seeds: [0, 1],
    budget: 'smoke' as const,
    trainSubset: 128,
    testSubset: 64,
    dataDir: data,
  };
  const { matrix } = await submitMatrix(req, { store, workspace: ws, slurm: { time: '10', cpusPerTask: 1 }, node: 'node', cli, env });
  const seen = new Set<string>();
  const delays: number[] = [];
  let resolveEnd: () => void = () => undefined;
  const ended = new Promise<void>((r) => (resolveEnd = r));
  const poller: MatrixPoller = new MatrixPoller({
    store,
    visible: () => true,
    changed: () => {
      poller.matrices.flatMap((m) => m.rows).forEach((r) => seen.add(r.state));
      if (!poller.scheduled) setImmediate(() => !poller.scheduled && resolveEnd());
    },
    // Real squeue; the back-off's delays are recorded, but the test waits 300 ms instead.
    clock: { now: Date.now, setTimer: (fn, ms) => (delays.push(ms), setTimeout(fn, 300)), clearTimer: (h) => clearTimeout(h as NodeJS.Timeout) },
    tasks: (s, m) => matrixTasks(s, m, { env }),
  });
  poller.kick();
  await ended;
  const rows = poller.matrices.find((m) => m.matrix.id === matrix.id)?.rows ?? [];
  assert.deepEqual(
    rows.map((r) => r.state),
    ['completed', 'completed'],
    JSON.stringify(rows),
  );
  assert.ok(rows.every((r) => r.lastEpoch === r.totalEpochs && r.bestTestAcc !== null));
  assert.ok(seen.has('pending') || seen.has('running'), [...seen].join(','));
  assert.equal(delays[0], 5_000);
  assert.equal(poller.scheduled, false);
});
