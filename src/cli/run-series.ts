/**
 * Runs of one variant on one benchmark, one per seed (`--seeds 0,1,2`, or `--seed N`): every run is
 * created (queued) first, so the editor and `regbench list` show the whole series, then they train
 * one after the other. A run of a task's held-out benchmark is recorded as a final evaluation, and
 * the CLI says so before it starts. Ctrl-C cancels the running one and the ones still queued.
 */
import type { RunRecord } from '../runs/run-record';
import { syntheticRunEnd } from '../runs/run-record';
import type { RunStore } from '../runs/run-store';
import { UsageError, type RunRequest } from '../runs/run-request';
import { prepareRun, RunHandle, type RunnerOptions } from '../runs/runner';
import { finalNotice, isHeldOut, markFinal, priorFinals } from '../analysis/held-out';
import { RunFollower } from './run-follower';

const MAX_SEEDS = 100;

/** "0,1,2" or "0-4" (or a mix: "0-2,7"); `--seed N` alone gives [N]; neither gives [0]. */
export function parseSeeds(seeds: string | undefined, seed: string | undefined): number[] {
  if (seeds !== undefined && seed !== undefined) throw new UsageError('give --seed N or --seeds LIST, not both');
  if (seeds === undefined) {
    if (seed === undefined) return [0];
    if (!/^\d+$/.test(seed)) throw new UsageError(`--seed must be a non-negative integer, got '${seed}'`);
    return [Number(seed)];
  }
  const out: number[] = [];
  for (const part of seeds.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UsageError(`--seeds takes non-negative integers and ranges, e.g. 0,1,2 or 0-4; got '${seeds}'`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (to < from) throw new UsageError(`--seeds: the range '${part}' runs backwards`);
    for (let s = from; s <= to; s++) out.push(s);
    if (out.length > MAX_SEEDS) throw new UsageError(`--seeds: at most ${MAX_SEEDS} seeds at once`);
  }
  if (new Set(out).size !== out.length) throw new UsageError(`--seeds lists a seed twice: '${seeds}'`);
  return out;
}

/**
 * Creates one queued run per seed. Runs of a held-out benchmark are marked final and announced
 * on stderr (stdout stays clean for --json).
 */
export function prepareSeries(base: RunRequest, seeds: readonly number[], store: RunStore): RunRecord[] {
  const records: RunRecord[] = [];
  for (const seed of seeds) {
    let record = prepareRun({ ...base, seed }, store);
    if (isHeldOut(record.spec)) {
      const previous = priorFinals(store.list(), record.spec.variantHash, record.spec.bench, record.spec.budget).filter(
        (r) => r.id !== record.id && !records.some((x) => x.id === r.id),
      );
      if (records.length === 0) process.stderr.write(`regbench: ${finalNotice(record.spec, previous.length)}\n`);
      record = markFinal(store, record.id);
    }
    records.push(record);
  }
  return records;
}

export interface SeriesOptions {
  store: RunStore;
  json: boolean;
  runner?: Omit<RunnerOptions, 'store' | 'onStderr'>;
}

/** Trains the prepared runs one after the other; 0 when all completed, else 1. */
export async function runSeries(records: readonly RunRecord[], opts: SeriesOptions): Promise<number> {
  let cancelled = false;
  const onSignal = () => (cancelled = true);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let failures = 0;
  try {
    for (const record of records) {
      if (cancelled) {
        opts.store.append(record.id, syntheticRunEnd(record, 'cancelled', 'cancelled before it started'));
        failures++;
        continue;
      }
      const follower = new RunFollower(opts.json);
      const handle = new RunHandle(record.spec, { ...opts.runner, store: opts.store, onStderr: (l) => follower.stderr(l) });
      await handle.start();
      if ((await follower.follow(handle)) !== 0) failures++;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (records.length > 1 && !opts.json) process.stdout.write(`${records.length - failures} of ${records.length} runs completed\n`);
  return failures ? 1 : 0;
}
