/**
 * The batch script of a matrix: one job array, one task per (benchmark, seed) run. Each task runs
 * `regbench task <run-id>` for its run (SLURM_ARRAY_TASK_ID indexes the run ids written into the
 * script and into tasks.json), forwards USR1/TERM to it and waits for it.
 *
 * Requeue rules: `--signal=B:USR1@<s>` warns the batch shell before the time limit; the task then
 * checkpoints and exits 3 (interrupted), and the script requeues ITS OWN array task with
 * `scontrol requeue <array>_<task>` (in 22.05 the bare $SLURM_JOB_ID of the array's first task is
 * the array id, which requeues every task, finished ones included). On TERM (scancel, preemption,
 * an admin's requeue) the script does not requeue: Slurm decides (a cancelled job must stay
 * cancelled; preemption and `scontrol requeue` already put the task back in the queue).
 */

export interface SlurmOptions {
  partition?: string;
  /** Minutes, or [D-]HH:MM:SS as sbatch takes it. */
  time?: string;
  cpusPerTask?: number;
  /** e.g. 'gpu:1'. */
  gres?: string;
  /** Extra sbatch arguments, passed on sbatch's command line. */
  sbatchArgs?: string[];
  /** Seconds before the time limit at which the task is told to checkpoint (USR1). */
  signalSeconds?: number;
}

export interface BatchScriptInput {
  jobName: string;
  runIds: readonly string[];
  workspace: string;
  matrixDir: string;
  /** Node binary and regbench CLI bundle (absolute paths on the shared filesystem). */
  node: string;
  cli: string;
  options: SlurmOptions;
}

export const DEFAULT_SIGNAL_SECONDS = 120;

/** Single-quotes a word for bash. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `--time` as sbatch takes it: whole minutes, or [D-]HH:MM[:SS]. */
export function checkTime(time: string): string {
  if (/^\d+$/.test(time) || /^(\d+-)?\d{1,2}:\d{2}(:\d{2})?$/.test(time)) return time;
  throw new Error(`--time must be minutes or HH:MM:SS, got '${time}'`);
}

function directives(input: BatchScriptInput): string[] {
  const o = input.options;
  const d = [
    `--job-name=${input.jobName}`,
    `--array=0-${input.runIds.length - 1}`,
    '--requeue',
    '--open-mode=append',
    `--output=${input.matrixDir}/task-%a.out`,
    `--chdir=${input.workspace}`,
    `--signal=B:USR1@${o.signalSeconds ?? DEFAULT_SIGNAL_SECONDS}`,
  ];
  if (o.partition) d.push(`--partition=${o.partition}`);
  if (o.time) d.push(`--time=${checkTime(o.time)}`);
  if (o.cpusPerTask) d.push(`--cpus-per-task=${o.cpusPerTask}`);
  if (o.gres) d.push(`--gres=${o.gres}`);
  return d.map((x) => `#SBATCH ${x}`);
}

// Bash; `\${` is a literal `${` here.
const BODY = `
task="\${SLURM_ARRAY_JOB_ID}_\${SLURM_ARRAY_TASK_ID}"
run="\${RUNS[$SLURM_ARRAY_TASK_ID]}"
echo "regbench: task $task (job $SLURM_JOB_ID, restart \${SLURM_RESTART_COUNT:-0}) runs $run on $(hostname) at $(date -Is)"
got=""
woke=0
pid=""
forward() {
  got=$1
  woke=1
  [ -n "$pid" ] && kill -s "$1" "$pid" 2>/dev/null
  return 0
}
trap 'forward USR1' USR1
trap 'forward TERM' TERM
"$NODE" "$CLI" task "$run" --workspace "$WORKSPACE" &
pid=$!
# wait returns early when a trapped signal arrives; wait again until the task has really ended.
while :; do
  woke=0
  wait "$pid"
  rc=$?
  [ "$woke" = 1 ] || break
done
echo "regbench: task $task exited with $rc at $(date -Is)"
if [ "$rc" = 3 ] && [ "$got" = USR1 ]; then
  echo "regbench: requeueing $task to continue from its checkpoint"
  scontrol requeue "$task"
fi
exit "$rc"
`;

export function batchScript(input: BatchScriptInput): string {
  if (!input.runIds.length) throw new Error('a matrix needs at least one run');
  const runs = input.runIds.map(shellQuote).join(' ');
  return (
    [
      '#!/bin/bash',
      ...directives(input),
      `# Regbench matrix ${input.matrixDir}: task i runs RUNS[i] (also in tasks.json).`,
      `RUNS=(${runs})`,
      `NODE=${shellQuote(input.node)}`,
      `CLI=${shellQuote(input.cli)}`,
      `WORKSPACE=${shellQuote(input.workspace)}`,
    ].join('\n') + BODY
  );
}
