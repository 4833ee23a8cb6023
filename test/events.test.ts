import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crashCause } from '../src/runs/runner';
import { formatEventLine, LineSplitter, parseEventLine, EventParseError, validateEvent, type RunEvent } from '../src/protocol/events';

const epoch: RunEvent = {
  type: 'epoch',
  runId: 'r1',
  time: '2026-11-23T00:00:00.000Z',
  epoch: 0,
  totalEpochs: 2,
  trainLoss: 2.1,
  trainCe: 2.0,
  regTerm: 0.1,
  trainAcc: 20,
  testLoss: 1.9,
  testAcc: 30,
  lr: 0.1,
  seconds: 3,
  trainImagesPerSec: 100,
  bestTestAcc: 30,
};

test('an event survives format and parse unchanged', () => {
  assert.deepEqual(parseEventLine(formatEventLine(epoch)), epoch);
});

test('non-finite numbers are written as null, never as invalid JSON', () => {
  const line = formatEventLine({ ...epoch, trainLoss: Number.NaN } as RunEvent);
  assert.match(line, /"trainLoss":null/);
  assert.throws(() => parseEventLine(line), /trainLoss/);
});

test('unknown event types are skipped, malformed lines rejected', () => {
  assert.equal(parseEventLine('{"type":"future-thing","x":1}'), undefined);
  assert.equal(parseEventLine('   '), undefined);
  assert.throws(() => parseEventLine('hello world'), EventParseError);
  assert.throws(() => parseEventLine('{"no":"type"}'), EventParseError);
});

test('schema: missing fields and non-final run-end statuses are named', () => {
  assert.match(validateEvent({ type: 'epoch', runId: 'r' }) ?? '', /time/);
  const end = { type: 'run-end', runId: 'r', time: 't', status: 'running', bestTestAcc: null, finalTestAcc: null, epochsCompleted: 0, seconds: 0 };
  assert.match(validateEvent(end) ?? '', /final status/);
  assert.equal(validateEvent({ ...end, status: 'completed' }), undefined);
});

test('the line splitter joins chunks and keeps the partial tail', () => {
  const s = new LineSplitter();
  assert.deepEqual(s.push('{"a":1}\n{"b"'), ['{"a":1}']);
  assert.deepEqual(s.push(':2}\n'), ['{"b":2}']);
  assert.deepEqual(s.push('tail'), []);
  assert.deepEqual(s.flush(), ['tail']);
});

test('a dead worker is reported by its first error line, not by stack frames', () => {
  const node = [
    'node:internal/modules/cjs/loader:1210',
    '  throw err;',
    "Error: Cannot find module 'esbuild'",
    'Require stack:',
    '    at Module._resolveFilename (node:internal/modules/cjs/loader:1207:15)',
    '    at Module._load (node:internal)',
  ];
  assert.equal(crashCause(node), "Error: Cannot find module 'esbuild'");
  const py = [
    'Traceback (most recent call last):',
    '  File "/x/worker.py", line 3, in <module>',
    '    import torch',
    "ModuleNotFoundError: No module named 'torch'",
  ];
  assert.equal(crashCause(py), "ModuleNotFoundError: No module named 'torch'");
  assert.equal(crashCause(['Killed']), 'Killed');
  assert.equal(crashCause([]), '');
});
