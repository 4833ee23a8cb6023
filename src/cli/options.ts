/** Option helpers every `regbench` command shares. */
import * as path from 'node:path';
import { RunStore } from '../runs/run-store';
import { UsageError } from '../runs/run-request';

export function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer, got '${value}'`);
  return Number(value);
}

/** The run store of --workspace DIR (or REGBENCH_WORKSPACE, or the current directory). */
export function storeFor(workspace: string | undefined): RunStore {
  return RunStore.forWorkspace(path.resolve(workspace ?? process.env.REGBENCH_WORKSPACE ?? process.cwd()));
}

/**
 * The one run whose id is, starts with or ends with `idPart` (damaged runs included: `show`,
 * `resume` and `repair` must find them); UsageError otherwise.
 */
export function findRunId(store: RunStore, idPart: string): string {
  const { records, damaged } = store.scan();
  const matches = [...records, ...damaged].filter((r) => r.id === idPart || r.id.startsWith(idPart) || r.id.endsWith(idPart));
  if (matches.length === 1) return matches[0].id;
  const exact = matches.find((r) => r.id === idPart);
  if (exact) return exact.id;
  throw new UsageError(
    matches.length ? `'${idPart}' matches ${matches.length} runs; give more of the id` : `no run '${idPart}' in ${store.runsDir} (see regbench list)`,
  );
}
