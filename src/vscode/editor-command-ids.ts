/**
 * Commands added by the editor work (issue 15 / issue 10's Resume); to be merged into
 * src/protocol/command-ids.ts. package.json's contributes.commands lists the same ids.
 */
export const EDITOR_COMMANDS = {
  /** Gives a run a name of the user's (record field displayName); empty clears it. */
  renameRun: 'regbench.renameRun',
  /** Continues an interrupted (or failed/cancelled, checkpointed) run from its last checkpoint. */
  resumeRun: 'regbench.resumeRun',
} as const;
