/** Run labels (src/present/run-label.ts): what tells two runs of one variant file apart. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { editNumbers, formatBestAcc, runLabel, shortHash, variantLabel, type EditSource } from '../src/present/run-label';

const parts = { variantName: 'my-reg', variantHash: 'a1b2c3d4e5f60718', edit: 3, bench: 'resnet20-cifar10', seed: 0, bestTestAcc: 91.234 };

test('runLabel: variant, edit number, short hash, benchmark, seed and best accuracy', () => {
  assert.equal(runLabel(parts), 'my-reg #3 (a1b2c3) · ResNet-20/C10 · s0 · 91.2%');
  // No accuracy yet (queued, first epoch running, or a held-out benchmark): the part is left out.
  assert.equal(runLabel({ ...parts, bestTestAcc: null }), 'my-reg #3 (a1b2c3) · ResNet-20/C10 · s0');
  // Without an edit number the hash alone tells versions apart.
  assert.equal(runLabel({ ...parts, edit: null, seed: 2 }), 'my-reg (a1b2c3) · ResNet-20/C10 · s2 · 91.2%');
  // A user-given name replaces variant, edit and hash; blank names do not count.
  assert.equal(runLabel({ ...parts, displayName: 'wide margin' }), 'wide margin · ResNet-20/C10 · s0 · 91.2%');
  assert.equal(variantLabel({ ...parts, displayName: '  ' }), 'my-reg #3 (a1b2c3)');
  // An unknown benchmark id is shown as it is.
  assert.equal(runLabel({ ...parts, bench: 'new-bench', bestTestAcc: 100 }), 'my-reg #3 (a1b2c3) · new-bench · s0 · 100.0%');
  assert.equal(shortHash('abc'), 'abc');
  assert.equal(formatBestAcc(NaN), '');
});

test('editNumbers: the n-th distinct source hash of the same file, by creation time', () => {
  const run = (id: string, minute: number, file: string, hash: string): EditSource => ({
    id,
    createdAt: new Date(Date.UTC(2026, 10, 23, 10, minute)).toISOString(),
    spec: { variantPath: file, variantHash: hash },
  });
  const runs = [
    run('r5', 50, '/ws/variants/my-reg.ts', 'aaaa'), // changed back to the first version
    run('r1', 10, '/ws/variants/my-reg.ts', 'aaaa'),
    run('r2', 11, '/ws/variants/my-reg.ts', 'aaaa'), // another seed of the same code
    run('r3', 20, '/ws/variants/my-reg.ts', 'bbbb'),
    run('r4', 30, 'C:\\ws\\other.py', 'cccc'),
    run('r6', 40, 'C:/ws/other.py', 'dddd'), // the same file, written with the other slash
    run('r7', 45, '/ws/variants/my-reg.ts', 'eeee'),
  ];
  const n = editNumbers(runs);
  assert.deepEqual(Object.fromEntries([...n].sort()), { r1: 1, r2: 1, r3: 2, r4: 1, r5: 1, r6: 2, r7: 3 });
  assert.equal(editNumbers([]).size, 0);
  // Two runs before and after an edit get different labels.
  const before = runLabel({ ...parts, variantHash: 'aaaa', edit: n.get('r1') });
  const after = runLabel({ ...parts, variantHash: 'bbbb', edit: n.get('r3') });
  assert.notEqual(before, after);
});
