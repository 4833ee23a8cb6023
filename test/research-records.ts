/** Run records for the tests of the editor's research commands (not a test file itself). */
import type { BenchId, BudgetId } from '../src/protocol/benchmarks';
import { fixtureRecord } from './fixtures/run-records';
import type { RunStatus } from '../src/protocol/events';
import type { RunRecord } from '../src/runs/run-record';
import type { BaselineHashes } from '../src/analysis/run-groups';

export const VARIANT = '/ws/variants/confidence-penalty.ts';
export const BLANK = '/ws/variants/blank.ts';
export const BASELINES: BaselineHashes = new Map([
  ['blank', { kind: 'regularizer' as const, engine: 'tfjs' as const, file: 'templates/regularizers/blank.ts' }],
]);

export interface Over {
  bench?: BenchId;
  seed?: number;
  status?: RunStatus;
  best?: number | null;
  budget?: BudgetId;
  hash?: string;
  path?: string;
  final?: boolean;
  command?: string;
}

let clock = 0;

/** A completed run record by default; each call is created one minute after the previous one. */
export function record(o: Over = {}): RunRecord {
  clock++;
  const bench = o.bench ?? 'resnet56-cifar100';
  const id = `20261202-03${String(clock).padStart(4, '0')}-${bench}-0000`;
  const status = o.status ?? 'completed';
  const at = new Date(Date.UTC(2026, 11, 2, 3, clock)).toISOString();
  return fixtureRecord(
    id,
    at,
    { bench, budget: o.budget ?? 'full', seed: o.seed ?? 0, variantPath: o.path ?? VARIANT, variantHash: o.hash ?? 'h1' },
    {
      status,
      startedAt: status === 'queued' ? undefined : at,
      bestTestAcc: o.best === undefined ? 72.4 : o.best,
      finalTestAcc: o.best === undefined ? 72.1 : o.best,
      ...(o.final ? { final: true } : {}),
      ...(o.command ? { env: { command: o.command } as RunRecord['env'] } : {}),
    },
  );
}
