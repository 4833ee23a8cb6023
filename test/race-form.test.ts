/**
 * "Race Variants…" and "Sweep…" without the editor: the sweep lens sits on the top-level constants
 * of the templates (src/present/sweep-lens-text.ts); the race form's benchmarks leave the held-out
 * ones out; the command line the editor starts; the race id read from the CLI's first line; sweep
 * values checked with one line naming the file, line, constant and type (src/races/race-form.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sweepLenses } from '../src/present/sweep-lens-text';
import { findTopLevelConsts } from '../src/variants/sweep';
import { devBenchmarks, exampleValues, parseSweepValues, raceArgs, raceIdOf, sweepCandidate } from '../src/races/race-form';

function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'templates'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}
const TEMPLATES = path.join(repoRoot(), 'templates');
const read = (rel: string) => fs.readFileSync(path.join(TEMPLATES, rel), 'utf8');

test('the sweep lens sits on each top-level constant of a template (TypeScript and Python)', () => {
  const ts = path.join(TEMPLATES, 'regularizers/confidence-penalty.ts');
  const lenses = sweepLenses(ts, read('regularizers/confidence-penalty.ts'));
  assert.deepEqual(
    lenses.map((l) => [l.constant.name, l.constant.line + 1, l.title]),
    [['BETA', 16, 'Sweep BETA (0.1)…']],
  );
  const line = read('regularizers/confidence-penalty.ts').split('\n')[15];
  assert.equal(line.slice(lenses[0].constant.valueStart, lenses[0].constant.valueEnd), '0.1', 'the lens range is the literal');
  const py = sweepLenses(path.join(TEMPLATES, 'regularizers/dropblock_penalty.py'), read('regularizers/dropblock_penalty.py'));
  assert.deepEqual(
    py.map((l) => l.constant.name),
    ['BLOCK_SIZE', 'LAMBDA', 'EPS'],
  );
  // Not on constants inside functions, nor in files that are not variants.
  assert.deepEqual(sweepLenses('/ws/variants/x.ts', 'export function computeRegularization() {\n  const INNER = 3;\n  return 0;\n}\n'), []);
  assert.deepEqual(sweepLenses('/ws/src/util.ts', 'export const RATE = 0.1;\n'), []);
});

test("race benchmarks: every benchmark but the kind's held-out one", () => {
  assert.ok(!devBenchmarks(['regularizer']).includes('mobilenetv2-fmnist'));
  assert.ok(devBenchmarks(['regularizer']).includes('resnet20-cifar10'));
  assert.ok(!devBenchmarks(['norm']).includes('resnet110-cifar100'));
  assert.ok(devBenchmarks(['norm']).includes('mobilenetv2-fmnist'));
});

test('the race command line and the race id of its first line', () => {
  const args = raceArgs(
    {
      candidates: ['/ws/variants/a.ts', sweepCandidate('/ws/variants/b.ts', 'BETA', ['0.03', '0.1'])],
      benches: ['resnet20-cifar10', 'resnet56-cifar100'],
      ladder: 'smoke,quick',
      seeds: [0, 1, 2],
      slurm: true,
      concurrency: 2,
      dataDir: '/data',
    },
    '/ws',
  );
  assert.deepEqual(args, [
    'race',
    '/ws/variants/a.ts',
    '/ws/variants/b.ts:BETA=0.03,0.1',
    '--bench',
    'resnet20-cifar10,resnet56-cifar100',
    '--ladder',
    'smoke,quick',
    '--seeds',
    '0,1,2',
    '--concurrency',
    '2',
    '--slurm',
    '--data-dir',
    '/data',
    '--workspace',
    '/ws',
  ]);
  const slurm = raceArgs(
    {
      candidates: ['a.ts'],
      benches: ['resnet20-cifar10'],
      ladder: 'smoke',
      seeds: [0],
      slurm: true,
      slurmOptions: { partition: 'gpu', time: '30', cpusPerTask: 2, gres: 'gpu:1', extraArgs: ['--qos=low'] },
      concurrency: 1,
    },
    '/ws',
  );
  assert.deepEqual(slurm.slice(slurm.indexOf('--slurm')), [
    '--slurm',
    '--partition',
    'gpu',
    '--time',
    '30',
    '--cpus-per-task',
    '2',
    '--gres',
    'gpu:1',
    '--sbatch-arg=--qos=low',
    '--workspace',
    '/ws',
  ]);
  assert.equal(raceIdOf('race 20261207-221500-ab12'), '20261207-221500-ab12');
  assert.equal(raceIdOf('rung 1/3: 2 candidates'), undefined);
});

test("sweep values are checked against the constant's type, one line naming it", () => {
  const [beta] = findTopLevelConsts(read('regularizers/confidence-penalty.ts'), 'tfjs');
  assert.deepEqual(parseSweepValues(beta, '0.03, 0.1,0.3', 'confidence-penalty.ts'), ['0.03', '0.1', '0.3']);
  assert.throws(
    () => parseSweepValues(beta, '0.03,abc', 'confidence-penalty.ts'),
    /confidence-penalty\.ts:16: BETA is a number \(0\.1\); 'abc' is not a number$/,
  );
  assert.throws(
    () => parseSweepValues(beta, '0.03,,0.3', 'confidence-penalty.ts'),
    /confidence-penalty\.ts:16: BETA: give the values separated by commas, e\.g\. 0\.033,0\.1,0\.3/,
  );
  assert.throws(() => parseSweepValues(beta, '0.1,0.1', 'confidence-penalty.ts'), /BETA: a value is given twice/);
  assert.equal(exampleValues(beta), '0.033,0.1,0.3');
});
