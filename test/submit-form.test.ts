import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkTimeText, defaultSeedText, parseSeedList, slurmOptionsOf } from '../src/runs/slurm/submit-form';

test('seed lists: commas and ranges; bad, backwards or repeated seeds are refused', () => {
  assert.deepEqual(parseSeedList('0, 1,2'), { ok: true, value: [0, 1, 2] });
  assert.deepEqual(parseSeedList('0-2,5'), { ok: true, value: [0, 1, 2, 5] });
  assert.equal(parseSeedList('').ok, false);
  assert.equal(parseSeedList('a').ok, false);
  assert.equal(parseSeedList('3-1').ok, false);
  assert.equal(parseSeedList('1,1').ok, false);
  assert.equal(parseSeedList('0-100000').ok, false);
  assert.equal(defaultSeedText(3), '0,1,2');
  assert.equal(defaultSeedText(0), '0');
});

test('Slurm options: empty answers are not given; times and gres are checked', () => {
  assert.deepEqual(slurmOptionsOf({ partition: ' ', time: '', cpusPerTask: 0, gres: '', extraArgs: [' '] }), {
    ok: true,
    value: { partition: undefined, time: undefined, cpusPerTask: undefined, gres: undefined, sbatchArgs: undefined },
  });
  assert.deepEqual(slurmOptionsOf({ partition: 'gpu', time: '2:00:00', cpusPerTask: 4, gres: 'gpu:1', extraArgs: ['--qos=long'] }), {
    ok: true,
    value: { partition: 'gpu', time: '2:00:00', cpusPerTask: 4, gres: 'gpu:1', sbatchArgs: ['--qos=long'] },
  });
  assert.equal(checkTimeText('30'), undefined);
  assert.match(checkTimeText('ten') ?? '', /minutes/);
  assert.equal(slurmOptionsOf({ time: 'soon' }).ok, false);
  assert.equal(slurmOptionsOf({ gres: 'gpu' }).ok, false);
  assert.equal(slurmOptionsOf({ cpusPerTask: 1.5 }).ok, false);
});
