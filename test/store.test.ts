import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { RunStore } from '../src/runs/run-store';
import { RECIPE, type RunSpec } from '../src/protocol/benchmarks';
import type { RunEvent } from '../src/protocol/events';

function tmpStore(): RunStore {
  return new RunStore(fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-store-')));
}

function spec(store: RunStore, id: string): RunSpec {
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
    seed: 0,
    recipe: RECIPE,
    engine: 'tfjs',
    variantPath: '/w/variants/my-reg.ts',
    variantHash: 'abc',
    variantKind: { regularizer: true, norm: false },
    runDir: store.runDir(id),
  };
}

const t = '2026-11-23T10:00:00.000Z';
function epochEvent(id: string, epoch: number, acc: number): RunEvent {
  return {
    type: 'epoch',
    runId: id,
    time: t,
    epoch,
    totalEpochs: 3,
    trainLoss: 1,
    trainCe: 1,
    regTerm: 0,
    trainAcc: 50,
    testLoss: 1,
    testAcc: acc,
    lr: 0.1,
    seconds: 2,
    trainImagesPerSec: 10,
    bestTestAcc: acc,
  };
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
  assert.deepEqual(
    store.list().map((x) => x.id),
    [id],
  );
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
  store.append(id, {
    type: 'run-start',
    runId: id,
    time: t,
    spec: spec(store, id),
    env: { engine: 'tfjs', backend: 'wasm', versions: {}, platform: 'linux', cpus: 2, hostname: 'h' },
    stepsPerEpoch: 4,
    trainImages: 512,
    testImages: 256,
  });
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

test('records written in a loop leave no temporary files and whole JSON behind', () => {
  const store = tmpStore();
  const { id } = store.allocate('resnet20-cifar10');
  store.create(spec(store, id), 'x');
  for (let i = 0; i < 20; i++) store.append(id, epochEvent(id, i % 3, i));
  const files = fs.readdirSync(store.runDir(id));
  assert.deepEqual(files.sort(), ['events.jsonl', 'record.json', 'variant.ts']);
  assert.doesNotThrow(() => JSON.parse(fs.readFileSync(path.join(store.runDir(id), 'record.json'), 'utf8')));
});

/** Two names of 64 KB each, so a half record is easy to tell from a whole one. */
const OLD_NAME = 'a'.repeat(1 << 16);
const NEW_NAME = 'b'.repeat(1 << 16);

/**
 * The writer child: replaces the record again and again (old, new, old, ...) through the store, on
 * a slow disk: every file write prints 'w', writes half its data, waits 20 ms, then the rest. A kill
 * shortly after a 'w' lands inside a write; only the rename keeps record.json whole.
 */
function atomicWriter(root: string, id: string): never {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, which the mock patches
  const nodeFs = require('node:fs') as typeof fs;
  const write = nodeFs.writeFileSync;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  nodeFs.writeFileSync = ((file: fs.PathOrFileDescriptor, data: string | NodeJS.ArrayBufferView) => {
    const text = String(data);
    process.stdout.write('w');
    write(file, text.slice(0, text.length >> 1));
    Atomics.wait(pause, 0, 0, 20);
    nodeFs.appendFileSync(file, text.slice(text.length >> 1));
  }) as typeof fs.writeFileSync;
  const store = new RunStore(root);
  for (let i = 0; ; i++) store.update(id, (r) => ({ ...r, displayName: i % 2 ? NEW_NAME : OLD_NAME }));
}

if (process.env.REGBENCH_ATOMIC_WRITER) {
  const [root, id] = JSON.parse(process.env.REGBENCH_ATOMIC_WRITER) as [string, string];
  atomicWriter(root, id);
}

test('records are replaced atomically: a writer killed (SIGKILL) at a random moment leaves the old or the new record, whole', async () => {
  const store = tmpStore();
  const { id } = store.allocate('resnet20-cifar10');
  store.create(spec(store, id), 'x');
  store.update(id, (r) => ({ ...r, displayName: OLD_NAME }));
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let round = 0; round < 8; round++) {
    const child = spawn(process.execPath, [__filename], {
      env: { ...process.env, REGBENCH_ATOMIC_WRITER: JSON.stringify([store.root, id]) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    // Killed during a random write (the 2nd to the 5th), at a random moment of it.
    const writes = 2 + Math.floor(random() * 4);
    await new Promise<void>((resolve) => {
      let seen = 0;
      child.stdout.on('data', (d: Buffer) => {
        seen += d.length;
        if (seen >= writes) setTimeout(() => child.kill('SIGKILL'), random() * 20);
      });
      child.on('exit', () => resolve());
    });
    const read = store.read(id);
    assert.ok(read.ok, `round ${round}: the record is damaged after the kill: ${!read.ok && 'damaged' in read ? read.damaged.damage.reason : 'absent'}`);
    assert.ok(read.record.displayName === OLD_NAME || read.record.displayName === NEW_NAME, `round ${round}: the record is neither the old nor the new one`);
  }
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
  return {
    type: 'run-start',
    runId: id,
    time: t,
    spec: spec(store, id),
    env: { engine: 'tfjs', backend: 'wasm', versions: {}, platform: 'linux', cpus: 2, hostname: 'node-1' },
    stepsPerEpoch: 4,
    trainImages: 512,
    testImages: 256,
    resumedFrom,
  };
}

test('a resumed run keeps every segment and reports each epoch once', () => {
  const store = tmpStore();
  const { id } = store.allocate('resnet20-cifar10');
  store.create(spec(store, id), 'x');
  store.append(id, runStart(store, id));
  store.append(id, epochEvent(id, 0, 30));
  store.append(id, epochEvent(id, 1, 35));
  store.append(id, {
    type: 'run-end',
    runId: id,
    time: t,
    status: 'interrupted',
    bestTestAcc: 35,
    finalTestAcc: 35,
    epochsCompleted: 2,
    seconds: 1,
    reason: 'stopped by SIGUSR1',
  });
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
  assert.deepEqual(
    r.segments?.map((s) => [s.status, s.resumedFrom?.epoch ?? null, s.host]),
    [
      ['interrupted', null, 'node-1'],
      ['completed', 1, 'node-1'],
    ],
  );
  const epochs = store
    .events(id)
    .filter((e) => e.type === 'epoch')
    .map((e) => (e.type === 'epoch' ? [e.epoch, e.testAcc] : []));
  assert.deepEqual(epochs, [
    [0, 30],
    [1, 36],
    [2, 40],
  ]);
});

test('appending events does not re-read record.json', (tc) => {
  const store = tmpStore();
  const { id } = store.allocate('resnet20-cifar10');
  store.create(spec(store, id), 'x');
  store.append(id, runStart(store, id));
  // The module object itself (the bundle's namespace import forwards to it), so the mock is seen.
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module object itself, which the mock patches
  const nodeFs = require('node:fs') as typeof fs;
  const reads = tc.mock.method(nodeFs, 'readFileSync');
  for (let i = 0; i < 5; i++) store.append(id, epochEvent(id, i, 10 + i));
  const recordReads = reads.mock.calls.filter((c) => String(c.arguments[0]).endsWith('record.json'));
  assert.equal(recordReads.length, 0);
  reads.mock.restore();
  assert.equal(store.get(id)!.epochsCompleted, 5);
});
