import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { BenchId } from '../src/protocol/benchmarks';
import { activeText, finalPlan, repeatText, runFinalEvaluation, startedText, type FinalFlow } from '../src/analysis/final-evaluation';
import type { RunRecord } from '../src/runs/run-record';
import { record } from './research-records';

test('the plan names the held-out benchmark of each kind, prior final evaluations and the runs still going', () => {
  const prior = record({ bench: 'mobilenetv2-fmnist', final: true, budget: 'quick', best: 91.5 });
  const otherBudget = record({ bench: 'mobilenetv2-fmnist', final: true, budget: 'full' });
  const going = record({ status: 'running', budget: 'quick' });
  const plan = finalPlan([prior, otherBudget, going, record({ hash: 'h2', status: 'queued' })], 'h1', ['regularizer'], 'quick');
  assert.deepEqual(plan.benches, ['mobilenetv2-fmnist']);
  assert.deepEqual(
    plan.prior.map((r) => r.id),
    [prior.id],
  );
  assert.deepEqual(
    plan.active.map((r) => r.id),
    [going.id],
  );
  assert.deepEqual(finalPlan([], 'h1', ['regularizer', 'norm'], 'quick').benches, ['mobilenetv2-fmnist', 'resnet110-cifar100']);
});

test('the sentences say what is going, what exists already and what was queued', () => {
  const plan = finalPlan(
    [record({ bench: 'mobilenetv2-fmnist', final: true, budget: 'quick', best: 91.5 }), record({ status: 'running', budget: 'quick' })],
    'h1',
    ['regularizer'],
    'quick',
  );
  assert.match(activeText(plan, 'cp'), /^1 run of this source of cp is still going \(ResNet-56\/C100 seed 0, running\)/);
  assert.match(
    repeatText(plan, 'cp'),
    /already has a final evaluation on MobileNetV2\/FashionMNIST at budget quick \(91\.50%\)\. Another one is shown beside it/,
  );
  assert.match(startedText(plan, 'cp', 3), /3 runs queued at budget quick/);
});

/** A flow over an in-memory list of records, answering the questions as told and logging them. */
function flow(records: RunRecord[], answers: { wait?: boolean; repeat?: boolean; endActive?: boolean }) {
  const log: string[] = [];
  const f: FinalFlow = {
    records: () => records,
    waitForActive: async (text) => {
      log.push(`wait? ${text}`);
      if (answers.wait && answers.endActive !== false) records.forEach((r, i) => r.status === 'running' && (records[i] = { ...r, status: 'completed' }));
      return answers.wait === true;
    },
    confirmRepeat: async (text) => (log.push(`repeat? ${text}`), answers.repeat === true),
    startFinal: (bench: BenchId, seed: number) => {
      const r = record({ bench, seed, final: true, status: 'queued', budget: 'quick' });
      records.push(r);
      log.push(`start ${bench} ${seed}`);
      return r;
    },
  };
  return { f, log };
}

const TARGET = { hash: 'h1', name: 'cp.ts', kinds: ['regularizer' as const], budget: 'quick' as const, seeds: [0, 1] };

test('a first final evaluation queues one final run per seed on the held-out benchmark, asking nothing', async () => {
  const { f, log } = flow([], {});
  const { queued } = await runFinalEvaluation(f, TARGET);
  assert.equal(queued.length, 2);
  assert.deepEqual(log, ['start mobilenetv2-fmnist 0', 'start mobilenetv2-fmnist 1']);
});

test('a second one asks first; declined, nothing starts; accepted, both stay', async () => {
  const records = [record({ bench: 'mobilenetv2-fmnist', final: true, budget: 'quick', best: 91.5 })];
  const declined = flow([...records], { repeat: false });
  assert.equal((await runFinalEvaluation(declined.f, TARGET)).queued.length, 0);
  assert.match(declined.log[0], /^repeat\? cp\.ts \(source h1\) already has a final evaluation/);
  const accepted = flow([...records], { repeat: true });
  assert.equal((await runFinalEvaluation(accepted.f, TARGET)).queued.length, 2);
  assert.equal(accepted.f.records().filter((r) => r.final).length, 3);
});

test('runs of the same source still going: it says so and waits, or stops when declined', async () => {
  const going = () => [record({ status: 'running', budget: 'quick' })];
  const declined = flow(going(), { wait: false });
  assert.equal((await runFinalEvaluation(declined.f, TARGET)).queued.length, 0);
  assert.match(declined.log[0], /^wait\? 1 run of this source of cp\.ts is still going/);
  const waited = flow(going(), { wait: true });
  assert.equal((await runFinalEvaluation(waited.f, TARGET)).queued.length, 2);
});
