/**
 * The runner against scripted workers (a few lines of Node standing in for dist/worker.js): what
 * it does with lines that break the event protocol, stray prints, stderr, a worker killed with or
 * without a checkpoint, and resuming a run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunStore } from '../src/runs/run-store';
import { RunHandle, prepareRun, resumeRun } from '../src/runs/runner';
import type { RunRecord } from '../src/runs/run-record';

const VARIANT = 'export function computeRegularization() { return 0; }\n';

/** A worker that reads the spec, says hello and run-start, then runs `body` (JS with `spec`, `say`). */
function scriptedWorker(body: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-fake-dist-'));
  fs.writeFileSync(
    path.join(dir, 'worker.js'),
    `let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const spec = JSON.parse(input);
  const now = () => new Date().toISOString();
  const say = (e) => process.stdout.write(JSON.stringify({ runId: spec.runId, time: now(), ...e }) + '\\n');
  say({ type: 'hello', protocol: 1, pid: process.pid });
  const env = { engine: 'tfjs', backend: 'wasm', versions: {}, platform: 'linux', cpus: 2, hostname: 'h' };
  say({ type: 'run-start', spec, env, stepsPerEpoch: 2, trainImages: 256, testImages: 64, ...(spec.resume ? { resumedFrom: { epoch: 1, step: 0 } } : {}) });
  const epoch = (i, acc) => ({ type: 'epoch', epoch: i, totalEpochs: 2, trainLoss: 1, trainCe: 1, regTerm: 0, trainAcc: 50, testLoss: 1, testAcc: acc, lr: 0.1, seconds: 1, trainImagesPerSec: 10, bestTestAcc: acc });
  ${body}
});
`,
  );
  return dir;
}

function setUp(): { store: RunStore; record: RunRecord; variant: string } {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-runner-'));
  const variant = path.join(ws, 'my-reg.ts');
  fs.writeFileSync(variant, VARIANT);
  const store = RunStore.forWorkspace(ws);
  const record = prepareRun({ variantPath: variant, bench: 'resnet20-cifar10', budget: 'smoke' }, store);
  return { store, record, variant };
}

async function runWith(body: string, extra: Partial<ConstructorParameters<typeof RunHandle>[1]> = {}) {
  const { store, record, variant } = setUp();
  const handle = new RunHandle(record.spec, { store, distDir: scriptedWorker(body), ...extra });
  await handle.start();
  const ended = await handle.done;
  return { store, ended, variant };
}

test('an event that breaks the schema (an epoch with a null test loss) stops the run as a protocol error', async () => {
  const { ended, store } = await runWith(
    `say({ ...epoch(0, 40), testLoss: null }); setTimeout(() => { say(epoch(1, 50)); say({ type: 'run-end', status: 'completed', bestTestAcc: 50, finalTestAcc: 50, epochsCompleted: 2, seconds: 1 }); }, 3000);`,
  );
  assert.equal(ended.status, 'failed');
  assert.match(ended.error?.message ?? '', /breaks the event protocol \(invalid 'epoch' event: field 'testLoss' must be number, got null\)/);
  assert.equal(ended.epochsCompleted, 0);
  assert.ok(!store.events(ended.id).some((e) => e.type === 'epoch'), 'no later epoch sneaks in after the protocol error');
});

test('stray prints and stderr land in stderr.log whoever started the run; the run completes', async () => {
  const { ended, store } = await runWith(
    `console.log('debug print from a variant'); console.error('a warning on stderr'); say(epoch(0, 40)); say({ type: 'run-end', status: 'completed', bestTestAcc: 40, finalTestAcc: 40, epochsCompleted: 1, seconds: 1 });`,
  );
  assert.equal(ended.status, 'completed');
  const log = fs.readFileSync(path.join(store.runDir(ended.id), 'stderr.log'), 'utf8');
  assert.match(log, /debug print from a variant/);
  assert.match(log, /a warning on stderr/);
});

test('a worker killed after writing a checkpoint leaves the run interrupted; without one, failed', async () => {
  const killWithCheckpoint = `say(epoch(0, 40));
    const dir = require('path').join(spec.runDir, 'checkpoint');
    require('fs').mkdirSync(dir, { recursive: true });
    require('fs').writeFileSync(require('path').join(dir, 'last.json'), JSON.stringify({ engine: 'tfjs', epoch: 1, step: 0, file: 'ckpt-e1-s0.bin', bytes: 10 }));
    setTimeout(() => process.kill(process.pid, 'SIGKILL'), 100);`;
  const a = await runWith(killWithCheckpoint);
  assert.equal(a.ended.status, 'interrupted');
  assert.match(a.ended.reason ?? '', /killed by SIGKILL; `regbench resume .*` continues from the start of epoch 2/);
  const b = await runWith(`say(epoch(0, 40)); setTimeout(() => process.kill(process.pid, 'SIGKILL'), 100);`);
  assert.equal(b.ended.status, 'failed');
  assert.match(b.ended.error?.message ?? '', /killed by SIGKILL before the run ended/);
});

test('resume continues the same run (resume:true to the worker, a second segment) and uses the snapshot when the file changed', async () => {
  const body = `if (!spec.resume) { say(epoch(0, 40)); say({ type: 'run-end', status: 'interrupted', bestTestAcc: 40, finalTestAcc: 40, epochsCompleted: 1, seconds: 1, reason: 'stopped by SIGUSR1' }); return; }
    console.error('loading ' + spec.variantPath);
    say(epoch(1, 45)); say({ type: 'run-end', status: 'completed', bestTestAcc: 45, finalTestAcc: 45, epochsCompleted: 2, seconds: 1 });`;
  const distDir = scriptedWorker(body);
  const { store, record, variant } = setUp();
  const first = new RunHandle(record.spec, { store, distDir });
  await first.start();
  assert.equal((await first.done).status, 'interrupted');
  fs.writeFileSync(variant, VARIANT + '// edited after the run started\n');
  const said: string[] = [];
  const second = await resumeRun(record.id, { store, distDir, onStderr: (l) => said.push(l) });
  const ended = await second.done;
  assert.equal(ended.status, 'completed');
  assert.equal(ended.bestTestAcc, 45);
  assert.equal(ended.segments?.length, 2);
  assert.deepEqual(ended.segments?.[1].resumedFrom, { epoch: 1, step: 0 });
  assert.ok(
    said.some((l) => /has changed since run .* continues with the source it started with/.test(l)),
    said.join('\n'),
  );
  assert.ok(
    said.some((l) => l.includes(path.join(store.runDir(record.id), 'variant.ts'))),
    'the worker loaded the snapshot',
  );
  await assert.rejects(resumeRun(record.id, { store, distDir }), /cannot be resumed: it has completed/);
});
