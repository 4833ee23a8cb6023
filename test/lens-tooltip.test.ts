import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparisonLine, groupLine, lensTooltipText, LENS_TOOLTIP_HEAD } from '../src/present/lens-tooltip';
import { BASELINES, BLANK, record, VARIANT } from './research-records';

test('the group line has the mean, std, n and the 95% CI; n=1 has no interval', () => {
  assert.match(groupLine([71.0, 71.4, 71.2]), /^71\.2 ± 0\.2 \(n=3\), 95% CI \[70\.7, 71\.7\]$/);
  assert.equal(groupLine([71.0]), '71.0 (n=1)');
});

const seeded = (values: number[], seeds = values.map((_, i) => i)) => ({ values, seeds });

test('the comparison line: paired where the seeds match (paired t, sign-flip p, the paired CI), Welch and permutation where they differ', () => {
  // scipy: ttest_rel -> p = 0.00881, t.interval of the differences [0.554, 1.313]; all three positive: sign-flip p = 2/8.
  const paired = comparisonLine(seeded([70.1, 70.5, 70.3]), seeded([71.0, 71.6, 71.1]));
  assert.match(
    paired,
    /^vs baseline 70\.3 ± 0\.2 \(n=3\): \+0\.9 \[\+0\.6, \+1\.3\], paired t p=0\.009, sign-flip p=0\.25, P\(B>A\) 1\.00 \[\d\.\d\d, 1\.00\]; paired, n=3 seeds$/,
  );
  // Seeds 0, 1, 5 against 0, 1, 2: ttest_ind(equal_var=False) -> p = 0.0189.
  const unpaired = comparisonLine(seeded([70.1, 70.5, 70.3]), seeded([71.0, 71.6, 71.1], [0, 1, 5]));
  assert.match(
    unpaired,
    /^vs baseline 70\.3 ± 0\.2 \(n=3\): \+0\.9 \[\+\d\.\d, \+\d\.\d\], Welch p=0\.02, permutation p=0\.10, P\(B>A\) 1\.00 \[\d\.\d\d, 1\.00\]; unpaired: seeds differ$/,
  );
  assert.match(comparisonLine(seeded([70.1]), seeded([71.0])), /: \+0\.9, P\(B>A\) 1\.00, no test possible with n=1; paired, n=1 seed$/);
});

test('the tooltip lists each benchmark with completed runs; held-out ones only after a final evaluation', () => {
  const base = [70.1, 70.5, 70.3].map((best, seed) => record({ path: BLANK, hash: 'blank', seed, best }));
  const mine = [71.0, 71.6, 71.1].map((best, seed) => record({ seed, best }));
  const hidden = record({ bench: 'mobilenetv2-fmnist', best: 94.0 });
  const text = lensTooltipText([...base, ...mine, hidden], VARIANT, ['resnet56-cifar100', 'mobilenetv2-fmnist'], BASELINES);
  const lines = text.split('\n');
  assert.equal(lines[0], LENS_TOOLTIP_HEAD);
  assert.match(lines[1], /^ResNet-56\/C100: 71\.2 ± 0\.3 \(n=3\)/);
  assert.match(lines[2], /^ {2}vs baseline 70\.3 .*paired t p=0\.009, .*; paired, n=3 seeds$/);
  assert.equal(lines.length, 3, 'the held-out benchmark stays out');
  const shown = lensTooltipText([...mine, hidden, record({ bench: 'mobilenetv2-fmnist', best: 94.2, final: true })], VARIANT, ['resnet56-cifar100'], BASELINES);
  assert.match(shown, /MobileNetV2\/FMNIST: 94\.1 ± 0\.1 \(n=2\)/);
  assert.match(shown, /no baseline runs with the same budget/);
});

test('a variant without runs gets the plain explanation', () => {
  assert.equal(lensTooltipText([], VARIANT, ['resnet56-cifar100'], BASELINES), LENS_TOOLTIP_HEAD);
});
