/**
 * Sweeps: top-level constants of TypeScript and Python variants (and only top-level ones), the
 * derived source of a sweep point (only the literal changes, every line stays where it was), the
 * copies in the store (the user's file untouched), and the one-line refusals of bad input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deriveSource, findTopLevelConsts, parseSetOption, sweepLabel, sweepPoints, SweepError } from '../src/variants/sweep';
import { deriveSweep } from '../src/variants/sweep-store';
import { UsageError } from '../src/runs/run-request';

const TS = `/** header: const NOT_ME = 3; */
import * as tf from '@tensorflow/tfjs-core';
const BETA = 0.1;
export const NAME: string = 'mean'; // how to reduce
const USE: boolean = true;
let MUTABLE = 4;
const OBJ = { a: 1 };
const TPL = \`
const IN_TEMPLATE = 5;
\`;
export function computeRegularization(model: unknown): tf.Scalar {
  const INNER = 2;
  return tf.scalar(BETA * INNER);
}
const NEG = -1e-3;
`;

const PY = `"""Docstring.
BETA_DOC = 1
"""
import torch

BETA = 0.1
MODE: str = "sum"  # reduce
USE_TLU = True
SHAPE = (1,
2)
COUNT = 3
COUNT = 4

def compute_regularization(model, inputs, outputs, targets, config):
    INNER = 2
    return BETA * INNER
`;

test('TypeScript: finds only top-level consts with a number, string or boolean literal, with line and type', () => {
  const c = findTopLevelConsts(TS, 'tfjs');
  assert.deepEqual(
    c.map((x) => [x.name, x.type, x.value, x.line]),
    [
      ['BETA', 'number', 0.1, 2],
      ['NAME', 'string', 'mean', 3],
      ['USE', 'boolean', true, 4],
      ['NEG', 'number', -0.001, 14],
    ],
  );
  const beta = c[0];
  assert.equal(TS.split('\n')[beta.line].slice(beta.valueStart, beta.valueEnd), '0.1');
});

test('Python: finds module-level assignments, not in a docstring, a bracket or a function, not assigned twice', () => {
  const c = findTopLevelConsts(PY, 'pytorch');
  assert.deepEqual(
    c.map((x) => [x.name, x.type, x.value, x.line]),
    [
      ['BETA', 'number', 0.1, 5],
      ['MODE', 'string', 'sum', 6],
      ['USE_TLU', 'boolean', true, 7],
    ],
  );
});

test('derived source: only the literal changes, every line keeps its number, the line names its origin', () => {
  const d = deriveSource(TS, 'tfjs', { BETA: 0.3, NAME: 'max', USE: false }, 'my.ts');
  const a = TS.split('\n');
  const b = d.split('\n');
  assert.equal(b.length, a.length);
  assert.match(b[2], /^const BETA = 0\.3;\s+\/\/ regbench sweep: 0\.1 in my\.ts$/);
  assert.match(b[3], /^export const NAME: string = "max"; \/\/ how to reduce/);
  assert.match(b[4], /^const USE: boolean = false;/);
  for (const i of a.keys()) if (![2, 3, 4].includes(i)) assert.equal(b[i], a[i]);
  assert.deepEqual(
    findTopLevelConsts(d, 'tfjs').map((x) => x.value),
    [0.3, 'max', false, -0.001],
  );
  const p = deriveSource(PY, 'pytorch', { USE_TLU: false, BETA: 1e-4 }, 'my.py');
  assert.match(p.split('\n')[7], /^USE_TLU = False\s+# regbench sweep: True in my\.py$/);
  assert.match(p.split('\n')[5], /^BETA = 0\.0001\s+#/);
});

test('a grid of two sets is their product, labelled with the values as written', () => {
  const consts = findTopLevelConsts(TS, 'tfjs');
  const pts = sweepPoints(consts, [parseSetOption('BETA=0.03,0.3'), parseSetOption('USE=true,false')], 'x.ts');
  assert.deepEqual(
    pts.map((p) => p.suffix),
    ['BETA=0.03 USE=true', 'BETA=0.03 USE=false', 'BETA=0.3 USE=true', 'BETA=0.3 USE=false'],
  );
  assert.equal(sweepLabel('/a/confidence-penalty.ts', pts[2]), 'confidence-penalty BETA=0.3 USE=true');
});

test('refused in one line naming it: a name that is not a top-level const (listing those there are), a value of the wrong type', () => {
  const consts = findTopLevelConsts(TS, 'tfjs');
  const err = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof SweepError);
      assert.ok(!(e as Error).message.includes('\n'));
      return (e as Error).message;
    }
    assert.fail('no error');
  };
  assert.match(
    err(() => sweepPoints(consts, [parseSetOption('INNER=1,2')], 'x.ts')),
    /x\.ts: 'INNER' is not a top-level constant of this file; its top-level constants are BETA, NAME, USE, NEG/,
  );
  assert.match(
    err(() => sweepPoints(consts, [parseSetOption('MUTABLE=1')], 'x.ts')),
    /'MUTABLE' is not a top-level constant/,
  );
  assert.match(
    err(() => sweepPoints(consts, [parseSetOption('BETA=0.1,abc')], 'x.ts')),
    /^x\.ts:3: BETA is a number \(0\.1\); 'abc' is not a number$/,
  );
  assert.match(
    err(() => sweepPoints(consts, [parseSetOption('USE=yes')], 'x.ts')),
    /^x\.ts:5: USE is a boolean \(true\); 'yes' is neither true nor false$/,
  );
  assert.match(
    err(() => parseSetOption('BETA')),
    /--set takes NAME=v1,v2/,
  );
});

test('deriveSweep writes one copy per point into the store and leaves the user file as it was', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-sweep-'));
  const file = path.join(dir, 'confidence-penalty.py');
  fs.writeFileSync(file, PY);
  const v = deriveSweep(file, [parseSetOption('BETA=0.03,0.3')], path.join(dir, '.regbench'));
  assert.equal(v.length, 2);
  assert.deepEqual(
    v.map((x) => x.label),
    ['confidence-penalty BETA=0.03', 'confidence-penalty BETA=0.3'],
  );
  for (const x of v) {
    assert.ok(x.path.startsWith(path.join(dir, '.regbench', 'sweeps', x.hash)));
    assert.equal(path.basename(x.path), 'confidence-penalty.py');
  }
  assert.match(fs.readFileSync(v[1].path, 'utf8').split('\n')[5], /^BETA = 0\.3 /);
  assert.notEqual(v[0].hash, v[1].hash);
  assert.equal(fs.readFileSync(file, 'utf8'), PY);
  assert.throws(
    () => deriveSweep(file, [parseSetOption('GAMMA=1')], path.join(dir, '.regbench')),
    (e: unknown) => e instanceof UsageError && /'GAMMA' is not a top-level constant/.test((e as Error).message),
  );
});

test("every template's hyperparameters are found (so each can be swept)", () => {
  const root = path.resolve(__dirname, '..', '..', 'templates', 'regularizers');
  const names = (f: string) => findTopLevelConsts(fs.readFileSync(path.join(root, f), 'utf8'), f.endsWith('.py') ? 'pytorch' : 'tfjs').map((c) => c.name);
  assert.deepEqual(names('confidence-penalty.ts'), ['BETA']);
  assert.deepEqual(names('confidence_penalty.py'), ['BETA']);
  assert.deepEqual(names('dropblock-penalty.ts'), ['BLOCK_SIZE', 'LAMBDA', 'EPS']);
  assert.deepEqual(names('label_smoothing.py'), ['EPS']);
});

test("regbench list names a sweep point's run by its label (the value it was run with), not by the file alone", async () => {
  const { formatRecordLine } = await import('../src/cli/output');
  const { fixtureRecord } = await import('./fixtures/run-records');
  const plain = { ...fixtureRecord('r1', '2026-12-08T01:43:00Z'), name: 'confidence-penalty · ResNet-56/C100 · seed 1 · 8 Dec 01:43' };
  const point = { ...plain, id: 'r2', displayName: 'confidence-penalty BETA=0.3' };
  const rest = 'ResNet-56/C100 · seed 1 · 8 Dec 01:43';
  assert.ok(formatRecordLine(plain).endsWith(plain.name));
  assert.ok(formatRecordLine(point).endsWith(`confidence-penalty BETA=0.3 · ${rest}`), formatRecordLine(point));
});
