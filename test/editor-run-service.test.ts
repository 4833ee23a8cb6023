/**
 * RunService.resume: a stopped run is queued like a new run and continues as the same run (a
 * second segment); runs that cannot be resumed are refused at once. Workers are scripted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RunStore } from '../src/runs/run-store';
import { RunService, type RunServiceEvent } from '../src/runs/run-service';

/** A stand-in for dist/worker.js: one epoch then 'interrupted'; resumed, one more epoch then 'completed'. */
function fakeDist(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-editor-dist-'));
  const script = `let input = '';
process.stdin.on('data', (c) => (input += c));
process.stdin.on('end', () => {
  const spec = JSON.parse(input);
  const say = (e) => process.stdout.write(JSON.stringify({ runId: spec.runId, time: new Date().toISOString(), ...e }) + '\\n');
  const env = { engine: 'tfjs', backend: 'cpu', versions: {}, platform: 'linux', cpus: 2, hostname: 'h' };
  const epoch = (i, acc) => ({ type: 'epoch', epoch: i, totalEpochs: 2, trainLoss: 1, trainCe: 1, regTerm: 0, trainAcc: 50, testLoss: 1, testAcc: acc, lr: 0.1, seconds: 1, trainImagesPerSec: 10, bestTestAcc: acc });
  say({ type: 'hello', protocol: 1, pid: process.pid });
  say({ type: 'run-start', spec, env, stepsPerEpoch: 2, trainImages: 8, testImages: 8, ...(spec.resume ? { resumedFrom: { epoch: 1, step: 0 } } : {}) });
  if (!spec.resume) {
    say(epoch(0, 40));
    say({ type: 'run-end', status: 'interrupted', bestTestAcc: 40, finalTestAcc: 40, epochsCompleted: 1, seconds: 1, reason: 'stopped' });
  } else {
    say(epoch(1, 45));
    say({ type: 'run-end', status: 'completed', bestTestAcc: 45, finalTestAcc: 45, epochsCompleted: 2, seconds: 1 });
  }
});
`;
  fs.writeFileSync(path.join(dir, 'worker.js'), script);
  return dir;
}

test('resume queues a stopped run like a new one; it continues as the same run; a completed run is refused', async () => {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-editor-service-'));
  const variant = path.join(ws, 'my-reg.ts');
  fs.writeFileSync(variant, 'export function computeRegularization() { return 0; }\n');
  const store = RunStore.forWorkspace(ws);
  const service = new RunService({ store, concurrency: 1, distDir: fakeDist(), python: () => undefined });
  const events: string[] = [];
  service.onEvent((e: RunServiceEvent) => events.push(`${e.type}:${e.record.id}`));
  try {
    const first = service.submit({ variantPath: variant, bench: 'resnet20-cifar10', budget: 'smoke' });
    await service.whenEnded(first.id);
    await waitFor(() => !service.owns(first.id));
    assert.equal(store.get(first.id)?.status, 'interrupted');

    const resumed = service.resume(first.id);
    assert.equal(resumed.id, first.id);
    assert.ok(service.owns(first.id));
    assert.throws(() => service.resume(first.id), /already queued or running/);
    await waitFor(() => !service.owns(first.id));
    const ended = store.get(first.id);
    assert.equal(ended?.status, 'completed');
    assert.equal(ended?.bestTestAcc, 45);
    assert.equal(ended?.segments?.length, 2);
    assert.deepEqual(
      events.filter((e) => e.endsWith(first.id) && !e.startsWith('event')).map((e) => e.split(':')[0]),
      ['queued', 'started', 'ended', 'queued', 'started', 'ended'],
    );
    assert.throws(() => service.resume(first.id), /cannot be resumed: it is completed/);
    assert.throws(() => service.resume('no-such-run'), /no run 'no-such-run'/);
  } finally {
    service.dispose();
  }
});

async function waitFor(done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
