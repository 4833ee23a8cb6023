import { test } from 'node:test';
import assert from 'node:assert/strict';
import { activeText, finalPlan, repeatText, startedText } from '../src/runs/final-evaluation';
import { record } from './research-records';

test('the plan names the held-out benchmark of each kind, prior final evaluations and the runs still going', () => {
  const prior = record({ bench: 'mobilenetv2-fmnist', final: true, budget: 'quick', best: 91.5 });
  const otherBudget = record({ bench: 'mobilenetv2-fmnist', final: true, budget: 'full' });
  const going = record({ status: 'running', budget: 'quick' });
  const plan = finalPlan([prior, otherBudget, going, record({ hash: 'h2', status: 'queued' })], 'h1', ['regularizer'], 'quick');
  assert.deepEqual(plan.benches, ['mobilenetv2-fmnist']);
  assert.deepEqual(plan.prior.map((r) => r.id), [prior.id]);
  assert.deepEqual(plan.active.map((r) => r.id), [going.id]);
  assert.deepEqual(finalPlan([], 'h1', ['regularizer', 'norm'], 'quick').benches, ['mobilenetv2-fmnist', 'resnet110-cifar100']);
});

test('the sentences say what is going, what exists already and what was queued', () => {
  const plan = finalPlan([record({ bench: 'mobilenetv2-fmnist', final: true, budget: 'quick', best: 91.5 }), record({ status: 'running', budget: 'quick' })], 'h1', ['regularizer'], 'quick');
  assert.match(activeText(plan, 'cp'), /^1 run of this source of cp is still going \(ResNet-56\/C100 seed 0, running\)/);
  assert.match(repeatText(plan, 'cp'), /already has a final evaluation on MobileNetV2\/FashionMNIST at budget quick \(91\.50%\)\. Another one is shown beside it/);
  assert.match(startedText(plan, 'cp', 3), /3 runs queued at budget quick/);
});
