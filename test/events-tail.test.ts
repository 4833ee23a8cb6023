/**
 * Following a run's events.jsonl from where the last read stopped (src/runs/events-tail.ts):
 * how the dashboard reads the progress of runs another process trains, once a second, without
 * re-reading the whole log. A torn last line waits; a rewritten (shorter) file is read again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { formatEventLine, type ProgressEvent } from '../src/protocol/events';
import { EventsTail } from '../src/runs/events-tail';

const progress = (step: number): ProgressEvent => ({
  type: 'progress',
  runId: 'r',
  time: '2026-12-07T10:00:00Z',
  epoch: 0,
  step,
  steps: 10,
  loss: 2 - step / 10,
  imagesPerSec: 1,
});

test('reads only what was appended, whole lines only', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-tail-'));
  const file = path.join(dir, 'events.jsonl');
  try {
    const tail = new EventsTail(file);
    assert.deepEqual(tail.read(), [], 'no file yet');
    fs.writeFileSync(file, `${formatEventLine(progress(1))}\n${formatEventLine(progress(2))}\n`);
    assert.deepEqual(
      tail.read().map((e) => (e as ProgressEvent).step),
      [1, 2],
    );
    assert.deepEqual(tail.read(), [], 'nothing new');
    const third = formatEventLine(progress(3));
    fs.appendFileSync(file, `not json\n${third.slice(0, 20)}`);
    assert.deepEqual(tail.read(), [], 'a stray line is skipped, a torn one waits');
    fs.appendFileSync(file, `${third.slice(20)}\n`);
    assert.deepEqual(
      tail.read().map((e) => (e as ProgressEvent).step),
      [3],
    );
    fs.writeFileSync(file, `${formatEventLine(progress(4))}\n`);
    assert.deepEqual(
      tail.read().map((e) => (e as ProgressEvent).step),
      [4],
      'a shorter file is read from its start',
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
