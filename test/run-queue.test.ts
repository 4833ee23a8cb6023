/** The run queue: FIFO order, the concurrency limit, cancelling waiting and running jobs. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunQueue, type QueueEvent, type QueueJob } from '../src/runs/run-queue';

/** A job the test finishes by hand; records what the queue did to it. */
class FakeJob implements QueueJob {
  started = false;
  cancelled = false;
  discarded = false;
  private finish!: () => void;
  private readonly finished = new Promise<void>((resolve) => (this.finish = resolve));

  constructor(
    readonly id: string,
    private readonly log: string[],
  ) {}

  run(): Promise<void> {
    this.started = true;
    this.log.push(`start ${this.id}`);
    return this.finished;
  }

  cancel(): void {
    this.cancelled = true;
    // Like a worker that ends when it gets SIGTERM.
    this.end();
  }

  discard(): void {
    this.discarded = true;
    this.log.push(`discard ${this.id}`);
  }

  end(): void {
    this.log.push(`end ${this.id}`);
    this.finish();
  }
}

/** Lets the queue's promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function jobs(n: number, log: string[]): FakeJob[] {
  return Array.from({ length: n }, (_, i) => new FakeJob(`j${i}`, log));
}

test('runs one job at a time in submission order with the default concurrency', async () => {
  const log: string[] = [];
  const q = new RunQueue();
  const [a, b, c] = jobs(3, log);
  [a, b, c].forEach((j) => q.enqueue(j));
  assert.deepEqual(q.runningIds(), ['j0']);
  assert.deepEqual(q.queuedIds(), ['j1', 'j2']);
  assert.equal(b.started, false);
  a.end();
  await settle();
  assert.deepEqual(q.runningIds(), ['j1']);
  b.end();
  await settle();
  c.end();
  await q.idle();
  assert.deepEqual(log, ['start j0', 'end j0', 'start j1', 'end j1', 'start j2', 'end j2']);
});

test('never runs more jobs than the concurrency limit, and starts the next as a slot frees', async () => {
  const log: string[] = [];
  const q = new RunQueue(2);
  const all = jobs(5, log);
  let running = 0;
  let maxRunning = 0;
  q.onEvent((e) => {
    if (e.type === 'started') maxRunning = Math.max(maxRunning, ++running);
    if (e.type === 'finished') running--;
  });
  all.forEach((j) => q.enqueue(j));
  assert.deepEqual(q.runningIds(), ['j0', 'j1']);
  all[1].end();
  await settle();
  assert.deepEqual(q.runningIds().sort(), ['j0', 'j2']);
  for (const j of all) j.end();
  await q.idle();
  assert.equal(maxRunning, 2);
  assert.ok(all.every((j) => j.started));
  assert.deepEqual(
    log.filter((l) => l.startsWith('start')),
    ['start j0', 'start j1', 'start j2', 'start j3', 'start j4'],
  );
});

test('cancelling a waiting job discards it without ever starting it', async () => {
  const log: string[] = [];
  const q = new RunQueue(1);
  const [a, b, c] = jobs(3, log);
  const events: QueueEvent[] = [];
  q.onEvent((e) => events.push(e));
  [a, b, c].forEach((j) => q.enqueue(j));
  assert.equal(q.cancel('j1'), 'discarded');
  assert.equal(b.discarded, true);
  assert.equal(b.cancelled, false);
  assert.deepEqual(q.queuedIds(), ['j2']);
  a.end();
  await settle();
  c.end();
  await q.idle();
  assert.equal(b.started, false);
  assert.deepEqual(log, ['start j0', 'discard j1', 'end j0', 'start j2', 'end j2']);
  assert.ok(events.some((e) => e.type === 'discarded' && e.id === 'j1'));
});

test('cancelling a running job asks it to stop; its slot goes to the next job once it has ended', async () => {
  const log: string[] = [];
  const q = new RunQueue(1);
  const [a, b] = jobs(2, log);
  q.enqueue(a);
  q.enqueue(b);
  assert.equal(q.cancel('j0'), 'cancelling');
  assert.equal(a.cancelled, true);
  assert.equal(a.discarded, false);
  await settle();
  assert.deepEqual(q.runningIds(), ['j1']);
  assert.equal(q.cancel('nope'), 'unknown');
  b.end();
  await q.idle();
  assert.deepEqual(log, ['start j0', 'end j0', 'start j1', 'end j1']);
});

test('cancelAll discards every waiting job before stopping the running ones', async () => {
  const log: string[] = [];
  const q = new RunQueue(2);
  const all = jobs(4, log);
  all.forEach((j) => q.enqueue(j));
  q.cancelAll();
  await q.idle();
  assert.deepEqual(
    all.map((j) => [j.started, j.cancelled, j.discarded]),
    [
      [true, true, false],
      [true, true, false],
      [false, false, true],
      [false, false, true],
    ],
  );
  assert.deepEqual(q.runningIds(), []);
  assert.deepEqual(q.queuedIds(), []);
});

test('a job that throws or rejects still frees its slot', async () => {
  const log: string[] = [];
  const q = new RunQueue(1);
  const throwing: QueueJob = {
    id: 'bad',
    run: () => {
      throw new Error('boom');
    },
    cancel() {},
    discard() {},
  };
  const rejecting: QueueJob = { id: 'worse', run: () => Promise.reject(new Error('boom')), cancel() {}, discard() {} };
  const [good] = jobs(1, log);
  q.enqueue(throwing);
  q.enqueue(rejecting);
  q.enqueue(good);
  await settle();
  await settle();
  assert.deepEqual(q.runningIds(), ['j0']);
  good.end();
  await q.idle();
});

test('raising the concurrency starts waiting jobs at once; a bad limit is refused', async () => {
  const log: string[] = [];
  const q = new RunQueue(1);
  const all = jobs(3, log);
  all.forEach((j) => q.enqueue(j));
  q.concurrency = 3;
  assert.deepEqual(q.runningIds(), ['j0', 'j1', 'j2']);
  assert.throws(() => (q.concurrency = 0), /positive integer/);
  assert.throws(() => q.enqueue(new FakeJob('j0', log)), /already queued or running/);
  all.forEach((j) => j.end());
  await q.idle();
});
