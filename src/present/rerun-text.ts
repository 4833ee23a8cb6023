/**
 * "Copy Rerun Command": the command recorded with a run (env.command, see provenance.ts), or why
 * there is none (a run recorded before commands were, or one that never started). No `vscode` import.
 */
import type { RunRecord } from '../runs/run-record';

export type RerunCommand = { ok: true; command: string } | { ok: false; reason: string };

export function rerunCommandOf(record: RunRecord): RerunCommand {
  const command = record.env?.command?.trim();
  if (command) return { ok: true, command };
  return {
    ok: false,
    reason: `run ${record.id} has no recorded command (it never started, or was recorded by an older Regbench); \`regbench rerun ${record.id}\` repeats it from its record`,
  };
}
