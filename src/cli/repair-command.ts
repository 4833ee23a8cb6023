/**
 * `regbench repair [<run-id>]`: rebuilds a damaged run's record.json from its events.jsonl,
 * snapshot and checkpoint (src/runs/run-repair.ts); without an id, every damaged run and matrix
 * folder. Says what it rebuilt, or why it could not. Exit 1 when something could not be rebuilt.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../runs/run-request';
import { repairRun, repairStore } from '../runs/run-repair';
import { findRunId, storeFor } from './options';

export const REPAIR_USAGE = 'regbench repair [<run-id>]   (rebuild damaged records from events.jsonl; damaged files are kept aside)';

export function runRepairCommand(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { workspace: { type: 'string' } } });
  if (positionals.length > 1) throw new UsageError('repair takes at most one run id');
  const store = storeFor(values.workspace);
  if (positionals.length === 1) {
    const report = repairRun(store, findRunId(store, positionals[0]));
    process.stdout.write(`run ${report.runId}:\n${report.lines.map((l) => (l.startsWith('  ') ? l : `  ${l}`)).join('\n')}\n`);
    return report.rebuilt || report.record ? 0 : 1;
  }
  const { lines, failed } = repairStore(store);
  process.stdout.write(lines.join('\n') + '\n');
  return failed ? 1 : 0;
}
