/** Run names and ids (src/runs/run-record.ts): readable, and ids that sort by creation time. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRunId, runName } from '../src/runs/run-record';

test('runName: variant file without folder and extension, benchmark, seed, local date', () => {
  const when = new Date(2026, 10, 23, 19, 58, 12);
  assert.equal(runName('/ws/variants/confidence-penalty.ts', 'ResNet-20/C10', 0, when), 'confidence-penalty · ResNet-20/C10 · seed 0 · 23 Nov 19:58');
  assert.equal(runName('C:\\ws\\variants\\group_norm.py', 'ResNet-56/C100', 3, when), 'group_norm · ResNet-56/C100 · seed 3 · 23 Nov 19:58');
  // Hours and minutes are zero-padded; the day is not.
  assert.equal(runName('v.mjs', 'VGG-16-BN/C100', 1, new Date(2026, 0, 5, 7, 4)), 'v · VGG-16-BN/C100 · seed 1 · 5 Jan 07:04');
  // Only source extensions are stripped.
  assert.equal(runName('/ws/my.variant.txt', 'B', 0, when), 'my.variant.txt · B · seed 0 · 23 Nov 19:58');
});

test('newRunId: local timestamp, benchmark, random suffix; ids sort by creation time', () => {
  const id = newRunId('resnet20-cifar10', new Date(2026, 10, 23, 19, 58, 12), 'a3f1');
  assert.equal(id, '20261123-195812-resnet20-cifar10-a3f1');
  assert.match(id, /^[\w.-]+$/, 'a run id must be a valid run directory name');
  const ids = [
    newRunId('vgg16bn-cifar100', new Date(2026, 10, 23, 19, 58, 13), '0000'),
    newRunId('resnet20-cifar10', new Date(2026, 10, 23, 19, 58, 12), 'ffff'),
    newRunId('resnet56-cifar100', new Date(2026, 8, 30, 23, 59, 59), 'aaaa'),
    newRunId('resnet56-cifar100', new Date(2027, 0, 1, 0, 0, 0), 'bbbb'),
  ];
  assert.deepEqual([...ids].sort(), [ids[2], ids[1], ids[0], ids[3]]);
});
