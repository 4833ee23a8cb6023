/** Every command id Regbench registers; package.json's contributes.commands lists the same ids. */
import type { BenchId } from './benchmarks';

export const COMMANDS = {
  newRegularizerVariant: 'regbench.newRegularizerVariant',
  newNormVariant: 'regbench.newNormVariant',
  /** Asks for the benchmark (the "Run…" lens). */
  runBenchmark: 'regbench.runBenchmark',
  runAllBenchmarks: 'regbench.runAllBenchmarks',
  cancelRun: 'regbench.cancelRun',
  openDashboard: 'regbench.openDashboard',
  compareExperiments: 'regbench.compareExperiments',
  /** Gives a run a name of the user's (record field displayName); empty clears it. */
  renameRun: 'regbench.renameRun',
  /** Continues an interrupted (or failed/cancelled, checkpointed) run from its last checkpoint. */
  resumeRun: 'regbench.resumeRun',
  /** Rebuilds a damaged run's record.json from its events (src/runs/run-repair.ts); no argument: every damaged run and matrix. */
  repairRun: 'regbench.repairRun',
  showRunLog: 'regbench.showRunLog',
  /** The output channel with every worker's stderr (the progress notification's link). */
  showOutput: 'regbench.showOutput',
  rerunRun: 'regbench.rerunRun',
  deleteRun: 'regbench.deleteRun',
  revealSnapshot: 'regbench.revealSnapshot',
  openRunInDashboard: 'regbench.openRunInDashboard',
  compareSelected: 'regbench.compareSelected',
  refreshExperiments: 'regbench.refreshExperiments',
  openVariant: 'regbench.openVariant',
} as const;

/** "Run Benchmark on <title>": one command per benchmark. */
export function runOnBenchCommand(bench: BenchId): string {
  return `regbench.run.${bench}`;
}
