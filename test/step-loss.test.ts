/**
 * The training loss inside an epoch (src/present/step-loss.ts and the page's curve helpers in
 * webview/series.ts): points at fractional epochs from progress events, bounded per run, carried
 * by the snapshot (never for held-out runs), merged with the epoch points on the train-loss curve.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EpochEvent, ProgressEvent, RunEvent } from '../src/protocol/events';
import { isHostToWebviewMessage, STEP_LOSS_LIMIT, type EpochColumns } from '../src/protocol/webview';
import { dashboardContext, snapshotMessage, toEpochColumns } from '../src/present/dashboard-model';
import { mergeStepLoss, stepLossOf, stepX, thinPoints } from '../src/present/step-loss';
import { meanOfCurves, runCurveWithSteps } from '../webview/series';
import { fixtureRecord } from './fixtures/run-records';

const T = '2026-12-07T10:00:00Z';

function progress(epoch: number, step: number, steps: number, loss: number): ProgressEvent {
  return { type: 'progress', runId: 'r', time: T, epoch, step, steps, loss, imagesPerSec: 100 };
}

function epochEvent(epoch: number, trainLoss: number): EpochEvent {
  return {
    type: 'epoch',
    runId: 'r',
    time: T,
    epoch,
    totalEpochs: 1,
    trainLoss,
    trainCe: trainLoss,
    regTerm: 0,
    trainAcc: 10,
    testLoss: 2,
    testAcc: 12,
    lr: 0.1,
    seconds: 1,
    trainImagesPerSec: 100,
    bestTestAcc: 12,
  };
}

test('step x: 0-based epoch plus the fraction of its steps (the end of epoch e is e + 1)', () => {
  assert.equal(stepX({ epoch: 0, step: 10, steps: 40 }), 0.25);
  assert.equal(stepX({ epoch: 2, step: 40, steps: 40 }), 3);
});

test('a one-epoch run with progress every 5 of 40 steps is a curve of 8 points', () => {
  const events: RunEvent[] = [];
  for (let s = 5; s <= 40; s += 5) events.push(progress(0, s, 40, 2.3 - s / 40));
  const loss = stepLossOf(events);
  assert.deepEqual(loss.x, [0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1]);
  assert.equal(loss.loss[0], 2.3 - 5 / 40);
  // Drawn with the epoch point at x = 1 (the epoch's own value wins there).
  const cols = toEpochColumns([epochEvent(0, 1.25)]);
  const curve = runCurveWithSteps(cols, 'trainLoss', loss);
  assert.equal(curve.length, 8);
  assert.deepEqual(curve[curve.length - 1], { x: 1, y: 1.25 });
  // Other metrics keep one point per epoch.
  assert.deepEqual(runCurveWithSteps(cols, 'testAcc', loss), [{ x: 1, y: 12 }]);
});

test('points per run are bounded: 5,000 progress events become STEP_LOSS_LIMIT, first and last kept', () => {
  const events = Array.from({ length: 5000 }, (_, i) => progress(Math.floor(i / 100), (i % 100) + 1, 100, 3 - i / 5000));
  const loss = stepLossOf(events);
  assert.equal(loss.x.length, STEP_LOSS_LIMIT);
  assert.equal(loss.x[0], 0.01);
  assert.equal(loss.x[loss.x.length - 1], 50);
  assert.ok(
    loss.x.every((x, i) => i === 0 || x > loss.x[i - 1]),
    'sorted, no repeats',
  );
  // Live merging stays bounded too.
  let held = { x: [] as number[], loss: [] as number[] };
  for (const e of events) held = mergeStepLoss(held, { x: [stepX(e)], loss: [e.loss] });
  assert.ok(held.x.length <= STEP_LOSS_LIMIT);
  assert.equal(held.x[held.x.length - 1], 50);
  assert.deepEqual(thinPoints({ x: [1, 2, 3], loss: [1, 2, 3] }, 2), { x: [1, 3], loss: [1, 3] });
});

test('a resumed segment that repeats steps replaces them; non-finite losses are dropped', () => {
  const loss = stepLossOf([progress(0, 10, 20, 2), progress(0, 20, 20, 1.8), progress(0, 10, 20, 2.1), progress(1, 10, 20, Number.NaN)]);
  assert.deepEqual(loss, { x: [0.5, 1], loss: [2.1, 1.8] });
});

test("the snapshot carries each run's step loss, never a held-out run's, and validates", () => {
  const a = fixtureRecord('run-a', T, { bench: 'resnet20-cifar10', epochs: 1 });
  const held = fixtureRecord('run-held', T, { bench: 'mobilenetv2-fmnist', epochs: 1 });
  const events: Record<string, RunEvent[]> = {
    'run-a': [progress(0, 5, 10, 2.2), progress(0, 10, 10, 2.0), epochEvent(0, 2.0)],
    'run-held': [progress(0, 5, 10, 9.876), epochEvent(0, 9.5)],
  };
  const ctx = dashboardContext([a, held], new Set(['mobilenetv2-fmnist']));
  const epochsOf = (id: string) => (events[id] ?? []).filter((e): e is EpochEvent => e.type === 'epoch');
  const msg = snapshotMessage([a, held], epochsOf, [], undefined, ctx, (id) => stepLossOf(events[id] ?? []));
  assert.deepEqual(msg.payload.stepLoss, { 'run-a': { x: [0.5, 1], loss: [2.2, 2.0] } });
  assert.ok(!JSON.stringify(msg).includes('9.876'), 'no held-out loss was sent');
  assert.ok(isHostToWebviewMessage(msg));
  assert.ok(isHostToWebviewMessage({ type: 'stepLoss', payload: { runId: 'run-a', points: { x: [0.5], loss: [2] } } }));
  assert.ok(!isHostToWebviewMessage({ type: 'stepLoss', payload: { runId: 'run-a', points: { x: [0.5, 1], loss: [2] } } }), 'columns of unequal length');
});

test('the mean of seeds with unaligned step points interpolates each seed, with the sample std', () => {
  const s0 = [
    { x: 0.5, y: 2 },
    { x: 1, y: 1 },
  ];
  const s1 = [
    { x: 0.25, y: 3 },
    { x: 0.75, y: 2 },
    { x: 1, y: 1.5 },
  ];
  const m = meanOfCurves([s0, s1]);
  assert.deepEqual(
    m.map((p) => p.x),
    [0.25, 0.5, 0.75, 1],
  );
  // x = 0.25: only s1 reaches it; 0.5: s0 = 2, s1 = 2.5 (interpolated); 1: 1 and 1.5.
  assert.deepEqual(m[0], { x: 0.25, y: 3, s: 0 });
  assert.equal(m[1].y, 2.25);
  assert.ok(Math.abs((m[1].s ?? 0) - Math.SQRT1_2 * 0.5) < 1e-12);
  assert.equal(m[3].y, 1.25);
  const empty: EpochColumns = toEpochColumns([]);
  assert.deepEqual(runCurveWithSteps(empty, 'trainLoss', undefined), []);
});
