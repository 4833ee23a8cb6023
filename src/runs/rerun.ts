/**
 * `regbench rerun <run-id>`: the same run again (same variant source, benchmark, budget,
 * overrides, seed, engine, backend and device) as a new run, and whether its result is identical:
 * per-epoch test accuracy, best and final accuracy, and the weights' hash at every checkpoint.
 */
import type { RunEvent } from '../protocol/events';
import type { RunSpec } from '../protocol/benchmarks';
import type { RunRecord } from './run-record';
import type { RunRequest } from './run-request';
import type { RunStore } from './run-store';
import { RunHandle, prepareRun, withUnchangedVariant, type RunnerOptions } from './runner';

/** The request that repeats `record` (its snapshot when the variant file changed since). */
export function rerunRequest(record: RunRecord, store: RunStore, say?: (line: string) => void): RunRequest {
  return sameSettingsRequest(withUnchangedVariant(record, store, say));
}

/** A request with every setting of `spec` (benchmark, budget, overrides, seed, engine, backend, device). */
export function sameSettingsRequest(spec: RunSpec): RunRequest {
  return {
    variantPath: spec.variantPath,
    bench: spec.bench,
    budget: spec.budget,
    epochs: spec.epochs,
    trainSubset: spec.trainSubset ?? undefined,
    testSubset: spec.testSubset ?? undefined,
    seed: spec.seed,
    backend: spec.backend,
    device: spec.device,
    dataDir: spec.dataDir,
    engine: spec.engine,
    stepTimeoutSeconds: spec.stepTimeoutSeconds,
  };
}

export async function startRerun(record: RunRecord, opts: RunnerOptions): Promise<RunHandle> {
  const created = prepareRun(rerunRequest(record, opts.store, opts.onStderr), opts.store);
  const marked = opts.store.update(created.id, (r) => ({ ...r, rerunOf: record.id }));
  const handle = new RunHandle(marked.spec, opts);
  await handle.start();
  return handle;
}

/** What differs between two runs' results; empty when they are identical. */
export function resultDifferences(a: RunRecord, aEvents: readonly RunEvent[], b: RunRecord, bEvents: readonly RunEvent[]): string[] {
  const out: string[] = [];
  if (a.status !== b.status) out.push(`status: ${a.status} vs ${b.status}`);
  if (a.bestTestAcc !== b.bestTestAcc) out.push(`best test accuracy: ${a.bestTestAcc} vs ${b.bestTestAcc}`);
  if (a.finalTestAcc !== b.finalTestAcc) out.push(`final test accuracy: ${a.finalTestAcc} vs ${b.finalTestAcc}`);
  const accs = (events: readonly RunEvent[]) => events.flatMap((e) => (e.type === 'epoch' ? [e.testAcc] : []));
  const [ea, eb] = [accs(aEvents), accs(bEvents)];
  const firstDiff = ea.findIndex((v, i) => v !== eb[i]);
  if (ea.length !== eb.length) out.push(`epochs: ${ea.length} vs ${eb.length}`);
  else if (firstDiff >= 0) out.push(`test accuracy first differs at epoch ${firstDiff + 1}: ${ea[firstDiff]} vs ${eb[firstDiff]}`);
  const hashes = (events: readonly RunEvent[]) => events.flatMap((e) => (e.type === 'checkpoint' ? [`${e.epoch}.${e.step}:${e.weightsSha256}`] : []));
  const [ha, hb] = [hashes(aEvents), hashes(bEvents)];
  const lastA = ha[ha.length - 1];
  const lastB = hb[hb.length - 1];
  if (lastA && lastB && lastA !== lastB) out.push(`final weights differ (sha256 ${lastA.split(':')[1].slice(0, 12)} vs ${lastB.split(':')[1].slice(0, 12)})`);
  return out;
}
