/**
 * The train-loss chart draws the loss inside each epoch (headless Chromium, test/dashboard-page.ts):
 * a one-epoch smoke run is a curve at fractional epochs, not one dot, while the other metrics keep
 * one point per epoch; a seed group's mean is taken over the seeds' curves, with its band; live
 * `stepLoss` messages extend a running run's curve and the page keeps at most STEP_LOSS_LIMIT
 * points of it. Screenshot: test-results/screenshots/dashboard-step-loss.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import type { EpochEvent, ProgressEvent, RunEvent } from '../src/protocol/events';
import { STEP_LOSS_LIMIT } from '../src/protocol/webview';
import { dashboardContext, snapshotMessage } from '../src/present/dashboard-model';
import { stepLossOf, stepX } from '../src/present/step-loss';
import { charts, launchDashboard, send, settle, SHOTS, violations } from './dashboard-page';
import { fixtureRecord } from './fixtures/run-records';

const T = '2026-12-07T10:00:00Z';
const STEPS = 40;

function progress(runId: string, epoch: number, step: number, loss: number): ProgressEvent {
  return { type: 'progress', runId, time: T, epoch, step, steps: STEPS, loss, imagesPerSec: 100 };
}

function epochEvent(runId: string, epoch: number, trainLoss: number): EpochEvent {
  return {
    type: 'epoch',
    runId,
    time: T,
    epoch,
    totalEpochs: 1,
    trainLoss,
    trainCe: trainLoss,
    regTerm: 0,
    trainAcc: 20,
    testLoss: 2.1,
    testAcc: 18 + epoch,
    lr: 0.1,
    seconds: 3,
    trainImagesPerSec: 100,
    bestTestAcc: 18,
  };
}

/** A smoke run's events: progress every 5 steps of its one epoch (a falling running mean), the epoch. */
function smokeEvents(runId: string, offset: number): RunEvent[] {
  const out: RunEvent[] = [];
  for (let s = 5; s <= STEPS; s += 5) out.push(progress(runId, 0, s, 2.4 - s / 80 + offset));
  out.push(epochEvent(runId, 0, 2.4 - STEPS / 80 + offset));
  return out;
}

test('train loss inside the epoch: a smoke run is a curve; seed means; live points stay bounded', { timeout: 90_000 }, async () => {
  const smoke = { bench: 'resnet20-cifar10' as const, budget: 'smoke' as const, epochs: 1 };
  const a0 = fixtureRecord('run-a0', '2026-12-07T10:00:00Z', { ...smoke, variantHash: 'aaaa', seed: 0 }, { bestTestAcc: 18, finalTestAcc: 18 });
  const a1 = fixtureRecord('run-a1', '2026-12-07T10:01:00Z', { ...smoke, variantHash: 'aaaa', seed: 1 }, { bestTestAcc: 19, finalTestAcc: 19 });
  const b = fixtureRecord(
    'run-b',
    '2026-12-07T10:02:00Z',
    { ...smoke, variantHash: 'bbbb', budget: 'quick', epochs: 3 },
    { status: 'running', epochsCompleted: 0, totalEpochs: 3, bestTestAcc: null, finalTestAcc: null },
  );
  const events: Record<string, RunEvent[]> = {
    'run-a0': smokeEvents('run-a0', 0),
    'run-a1': smokeEvents('run-a1', 0.1),
    'run-b': [progress('run-b', 0, 5, 2.5)],
  };
  const records = [a0, a1, b];
  const ctx = dashboardContext(records);
  const snapshot = snapshotMessage(
    records,
    (id) => (events[id] ?? []).filter((e): e is EpochEvent => e.type === 'epoch'),
    [],
    undefined,
    ctx,
    (id) => stepLossOf(events[id] ?? []),
  );

  const browser = await launchDashboard();
  const errors: string[] = [];
  try {
    const page = await browser.open(errors);
    await send(page, snapshot);
    await settle(page);
    // Seeds shown: each smoke seed's train loss is 8 points at x = 5/40 ... 1; its test accuracy one point.
    await page.locator('#show-seeds').check();
    await settle(page);
    let c = await charts(page);
    const seed0 = c['main-trainLoss'].find((d) => d.id === 'run-a0');
    assert.ok(seed0, 'seed 0 drawn');
    assert.deepEqual(
      seed0.points.map((p) => p[0]),
      [0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1],
    );
    assert.equal(seed0.points[7][1], 1.9, 'the epoch point at x = 1');
    assert.deepEqual(c['main-testAcc'].find((d) => d.id === 'run-a0')?.points, [[1, 18]]);
    // The seed group's mean over the two curves, with its band.
    await page.locator('#show-seeds').uncheck();
    await settle(page);
    c = await charts(page);
    const mean = c['main-trainLoss'].find((d) => d.group.startsWith('aaaa') && d.role === 'mean');
    assert.ok(mean?.band, 'mean with a band');
    assert.equal(mean.points.length, 8);
    assert.ok(Math.abs((mean.points[0][1] ?? 0) - (2.4 - 5 / 80 + 0.05)) < 1e-9, 'mean of the two seeds at x = 0.125');
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-step-loss.png'), fullPage: true });

    // ----- the running run: live points, bounded -----
    const running = () => charts(page).then((x) => x['main-trainLoss'].find((d) => d.id === 'run-b' || d.group.startsWith('bbbb')));
    assert.deepEqual((await running())?.points, [[0.125, 2.5]]);
    const live: ProgressEvent[] = [];
    for (let e = 0; e < 3; e++) for (let s = 1; s <= 200; s++) live.push(progress('run-b', e, s, 2.4 - e * 0.3 - s / 1000));
    for (let i = 0; i < live.length; i += 50) {
      const chunk = live.slice(i, i + 50);
      await send(page, {
        type: 'stepLoss',
        payload: { runId: 'run-b', points: { x: chunk.map((e) => stepX({ ...e, steps: 200 })), loss: chunk.map((e) => e.loss) } },
      });
    }
    await settle(page);
    const drawn = await running();
    assert.ok(drawn && drawn.points.length <= STEP_LOSS_LIMIT, `${drawn?.points.length} points drawn`);
    assert.ok(drawn.points.length >= STEP_LOSS_LIMIT / 2, 'thinned, not emptied');
    assert.deepEqual(drawn.points[drawn.points.length - 1], [3, 2.4 - 2 * 0.3 - 200 / 1000]);
    assert.ok(
      drawn.points.every((p, i) => i === 0 || p[0] > drawn.points[i - 1][0]),
      'in x order',
    );
    // Points of an unknown run are ignored.
    await send(page, { type: 'stepLoss', payload: { runId: 'run-nobody', points: { x: [0.5], loss: [1] } } });
    await settle(page);
    assert.deepEqual(await violations(page), []);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
