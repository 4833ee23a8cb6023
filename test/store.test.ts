import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { RunStore } from '../src/runs/run-store';
import { RECIPE, type RunSpec } from '../src/protocol/benchmarks';
import type { RunEvent } from '../src/protocol/events';

function tmpStore(): RunStore {
  return new RunStore(fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-store-')));
}

function spec(store: RunStore, id: string): RunSpec {
  return {
    runId: id, bench: 'resnet20-cifar10', arch: 'resnet20', dataset: 'cifar10', numClasses: 10, budget: 'smoke', epochs: 3,
    trainSubset: 512, testSubset: 256, seed: 0, recipe: RECIPE, engine: 'tfjs', variantPath: '/w/variants/my-reg.ts',
    variantHash: 'abc', variantKind: { regularizer: true, norm: false }, runDir: store.runDir(id),
  };
}

const t = '2026-11-23T10:00:00.000Z';
function epochEvent(id: string, epoch: number, acc: number): RunEvent {
  return { type: 'epoch', runId: id, time: t, epoch, totalEpochs: 3, trainLoss: 1, trainCe: 1, regTerm: 0, trainAcc: 50, testLoss: 1, testAcc: acc, lr: 0.1, seconds: 2, trainImagesPerSec: 10, bestTestAcc: acc };
}

test('a run is created with its snapshot, updated by events and listed', () => {
  const store = tmpStore();
  const { id } = store.allocate('resnet20-cifar10');
  store.create(spec(store, id), 'export function computeRegularization() {}');
  assert.equal(store.get(id)?.status, 'queued');
  assert.equal(store.variantSource(id), 'export function computeRegularization() {}');
  assert.match(store.get(id)!.name, /^my-reg · ResNet-20\/C10 · seed 0 · /);
  const changes: string[] = [];
  store.onChange((c) => changes.push(`${c.kind}:${c.event?.type ?? ''}`));
  store.append(id, epochEvent(id, 0, 40));
  store.append(id, epochEvent(id, 1, 55));
  store.append(id, epochEvent(id, 2, 50));
  const r = store.get(id)!;
  assert.equal(r.epochsCompleted, 3);
  assert.equal(r.bestTestAcc, 55);
  assert.equal(r.finalTestAcc, 50);
  assert.equal(r.epochSeconds, 2);
  assert.deepEqual(changes, ['updated:epoch', 'updated:epoch', 'updated:epoch']);
  assert.equal(store.events(id).length, 3);
  assert.deepEqual(store.list().map((x) => x.id), [id]);
});

test('a torn last line (crash mid-write) leaves every earlier epoch readable', () => {
  const store = tmpStore();
  const { id } = store.allocate('resnet20-cifar10');
  store.create(spec(store, id), 'x');
  store.append(id, epochEvent(id, 0, 40));
  store.append(id, epochEvent(id, 1, 45));
  fs.appendFileSync(path.join(store.runDir(id), 'events.jsonl'), '{"type":"epoch","runId":"' + id + '","ti');
  const events = store.events(id);
  assert.equal(events.length, 2);
  assert.equal(store.get(id)!.bestTestAcc, 45);
});

test('a run whose owner process died is marked interrupted (resumable), never left running', () => {
  const store = tmpStore();
  const { id } = store.allocate('resnet20-cifar10');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  store.create(spec(store, id), 'x', deadPid);
  store.append(id, { type: 'run-start', runId: id, time: t, spec: spec(store, id), env: { engine: 'tfjs', backend: 'wasm', versions: {}, platform: 'linux', cpus: 2, hostname: 'h' }, stepsPerEpoch: 4, trainImages: 512, testImages: 256 });
  store.append(id, epochEvent(id, 0, 33));
  const [r] = store.list();
  assert.equal(r.status, 'interrupted');
  assert.equal(r.bestTestAcc, 33);
  assert.match(r.reason ?? '', /exited before the run ended; resume/);
  assert.equal(r.segments?.length, 1);
  assert.equal(r.segments?.[0].status, 'interrupted');
  const alive = store.allocate('resnet20-cifar10').id;
  store.create(spec(store, alive), 'x', process.pid);
  assert.equal(store.get(alive)!.status, 'queued');
  assert.equal(store.list().find((x) => x.id === alive)!.status, 'queued');
});

test('records are replaced atomically: no temporary files remain and JSON is always whole', () => {
  const store = tmpStore();
  const { id } = store.allocate('resnet20-cifar10');
  store.create(spec(store, id), 'x');
  for (let i = 0; i < 20; i++) store.append(id, epochEvent(id, i % 3, i));
  const files = fs.readdirSync(store.runDir(id));
  assert.deepEqual(files.sort(), ['events.jsonl', 'record.json', 'variant.ts']);
  assert.doesNotThrow(() => JSON.parse(fs.readFileSync(path.join(store.runDir(id), 'record.json'), 'utf8')));
});

test('run ids are path-safe and delete removes the run', () => {
  const store = tmpStore();
  assert.throws(() => store.runDir('../etc'), /invalid run id/);
  const { id } = store.allocate('resnet20-cifar10');
  store.create(spec(store, id), 'x');
  store.delete(id);
  assert.equal(store.get(id), undefined);
  assert.deepEqual(store.list(), []);
});

function runStart(store: RunStore, id: string, resumedFrom?: { epoch: number; step: number }): RunEvent {
  return { type: 'run-start', runId: id, time: t, spec: spec(store, id), env: { engine: 'tfjs', backend: 'wasm', versions: {}, platform: 'linux', cpus: 2, hostname: 'node-1' }, stepsPerEpoch: 4, trainImages: 512, testImages: 256, resumedFrom };
}

test('a resumed run keeps every segment and reports each epoch once', () => {
  const store = tmpStore();
  const { id } = store.allocate('resnet20-cifar10');
  store.create(spec(store, id), 'x');
  store.append(id, runStart(store, id));
  store.append(id, epochEvent(id, 0, 30));
  store.append(id, epochEvent(id, 1, 35));
  store.append(id, { type: 'run-end', runId: id, time: t, status: 'interrupted', bestTestAcc: 35, finalTestAcc: 35, epochsCompleted: 2, seconds: 1, reason: 'stopped by SIGUSR1' });
  assert.equal(store.get(id)!.status, 'interrupted');
  // The checkpoint was from the end of epoch 1 (0-based 0): epoch 1 is trained again.
  store.append(id, runStart(store, id, { epoch: 1, step: 0 }));
  assert.equal(store.get(id)!.status, 'running');
  assert.equal(store.get(id)!.epochsCompleted, 1);
  store.append(id, epochEvent(id, 1, 36));
  store.append(id, epochEvent(id, 2, 40));
  store.append(id, { type: 'run-end', runId: id, time: t, status: 'completed', bestTestAcc: 40, finalTestAcc: 40, epochsCompleted: 3, seconds: 1 });
  const r = store.get(id)!;
  assert.equal(r.status, 'completed');
  assert.equal(r.epochsCompleted, 3);
  assert.deepEqual(r.segments?.map((s) => [s.status, s.resumedFrom?.epoch ?? null, s.host]), [['interrupted', null, 'node-1'], ['completed', 1, 'node-1']]);
  const epochs = store.events(id).filter((e) => e.type === 'epoch').map((e) => (e.type === 'epoch' ? [e.epoch, e.testAcc] : []));
  assert.deepEqual(epochs, [[0, 30], [1, 36], [2, 40]]);
});

test('appending events does not re-read record.json', (tc) => {
  const store = tmpStore();
  const { id } = store.allocate('resnet20-cifar10');
  store.create(spec(store, id), 'x');
  store.append(id, runStart(store, id));
  // The module object itself (the bundle's namespace import forwards to it), so the mock is seen.
  const nodeFs = require('node:fs') as typeof fs;
  const reads = tc.mock.method(nodeFs, 'readFileSync');
  for (let i = 0; i < 5; i++) store.append(id, epochEvent(id, i, 10 + i));
  const recordReads = reads.mock.calls.filter((c) => String(c.arguments[0]).endsWith('record.json'));
  assert.equal(recordReads.length, 0);
  reads.mock.restore();
  assert.equal(store.get(id)!.epochsCompleted, 5);
});
