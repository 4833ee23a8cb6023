/**
 * The `regbench` command line: the same runs as the extension, for remote/headless machines and CI.
 *   regbench run <variant> --bench <id> [--budget smoke|quick|full] [--epochs N] [--train-subset N]
 *                [--test-subset N] [--seed N | --seeds 0,1,2] [--backend B] [--device D] [--data-dir D] [--json]
 *   regbench resume <run-id> [--json]            regbench rerun <run-id> [--json]
 *   regbench final <variant> [--budget b] [--seeds L] [--yes] [--wait]   (the held-out benchmark)
 *   regbench table [--kind reg|norm] [--budget b] --format md|latex|csv|json
 *   regbench compare <group|run> [<group|run>] [--bench id]   (statistics of B against A)
 *   regbench list [--json]            regbench show <id> [--json]      regbench repair [<id>]
 *   regbench benchmarks               regbench data synth --dataset D --out DIR [--train N --test N]
 *   regbench data fetch <dataset>     regbench parity --bench <id>
 * Global: --workspace DIR (the run store is DIR/.regbench; default: the current directory).
 * Exit codes: 0 success; 1 the run failed, diverged or was cancelled; 2 bad usage.
 */
import { parseArgs } from 'node:util';
import { BENCHMARKS, budgetSize } from '../protocol/benchmarks';
import { UsageError } from '../runs/run-request';
import { formatDamagedDetail, formatDamagedLine, formatProblems, formatRecordLine, formatRecordDetail } from './output';
import { inspectRun } from '../runs/run-repair';
import type { RunRecord } from '../runs/run-record';
import type { DamagedRun } from '../runs/run-store';
import { REPAIR_USAGE, runRepairCommand } from './repair-command';
import { runDataCommand } from './data-command';
import { commandRerun, commandResume, commandRun } from './run-command';
import { findRunId, storeFor } from './options';
import { FINAL_USAGE, runFinalCommand } from './final-command';
import { runTableCommand, TABLE_USAGE } from './table-command';
import { COMPARE_USAGE, runCompareCommand } from './compare-command';
import { RACE_USAGE } from './race-command';
import { DeviceUnavailableError } from './device-check';

const USAGE = `usage:
  regbench run <variant.ts|.js|.py> --bench <id> [--budget smoke|quick|full] [--epochs N]
               [--train-subset N] [--test-subset N] [--seed N | --seeds 0,1,2] [--backend torch|wasm+native|wasm|cpu|tensorflow|tensorflow-gpu]
               [--device cpu|cuda[:N]] [--data-dir DIR] [--step-timeout SECONDS] [--name NAME] [--json]
  regbench resume <run-id> [--json]   (continue a stopped run from its last checkpoint)
  regbench rerun <run-id> [--json]    (the same run again; says whether the result is identical, exit 3 if not)
  ${FINAL_USAGE}
  ${TABLE_USAGE}
  ${COMPARE_USAGE}
  ${RACE_USAGE}
  regbench list [--json]
  regbench show <run-id> [--json]
  ${REPAIR_USAGE}
  regbench benchmarks
  regbench doctor [--python P] [--json]   (what this machine can and cannot do, with the way out)
  regbench data synth --dataset cifar10|cifar100|fashion-mnist --out DIR [--train N] [--test N] [--seed N] [--difficulty 0..1, default 0.5]
  regbench data fetch cifar10|cifar100|fashion-mnist [--data-dir DIR]
  regbench parity --bench <id> [--batch N] [--seed N] [--backend wasm|cpu|torch] [--device cpu|cuda[:N]] [--python P] [--json]
  regbench submit <variant> --bench <id,...|all> --seeds 0,1,2 --budget <b> --slurm [--partition P]
               [--time MIN|HH:MM:SS] [--cpus-per-task N] [--gres gpu:N] [--sbatch-arg=--ARG ...] [--dry-run]
  regbench jobs [<job-id>] [--json]      regbench cancel <job-id|run-id>      regbench task <run-id>
options for every command: --workspace DIR (runs are stored in DIR/.regbench; default: current directory)
benchmarks: ${BENCHMARKS.map((b) => b.id).join(', ')}`;

class ExitError extends Error {
  constructor(
    message: string,
    readonly code: number,
  ) {
    super(message);
  }
}

function commandList(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, workspace: { type: 'string' } } });
  const { records, damaged } = storeFor(values.workspace).scan();
  // Damaged runs are listed in their place (ids sort by creation time): none disappears.
  const rows: Array<{ id: string; record?: RunRecord; damaged?: DamagedRun }> = [
    ...records.map((r) => ({ id: r.id, record: r })),
    ...damaged.map((d) => ({ id: d.id, damaged: d })),
  ];
  rows.sort((a, b) => (a.id < b.id ? -1 : 1));
  if (values.json) {
    for (const x of rows) process.stdout.write(JSON.stringify(x.record ?? { id: x.id, damaged: x.damaged?.damage, lastStatus: x.damaged?.lastStatus }) + '\n');
    return 0;
  }
  if (!rows.length) {
    process.stdout.write('no runs yet (regbench run <variant> --bench <id> starts one)\n');
    return 0;
  }
  for (const x of rows) process.stdout.write((x.record ? formatRecordLine(x.record) : formatDamagedLine(x.damaged as NonNullable<typeof x.damaged>)) + '\n');
  return 0;
}

function commandShow(argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, workspace: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('show needs a run id (see regbench list)');
  const store = storeFor(values.workspace);
  const health = inspectRun(store, findRunId(store, positionals[0]));
  const r = health.record;
  if (values.json) {
    process.stdout.write(
      JSON.stringify({ record: r ?? null, events: health.events, problems: health.problems, checkpoint: health.checkpoint ?? null }, null, 2) + '\n',
    );
    return r ? 0 : 1;
  }
  if (!r) {
    // What can be read of it; exit 1: the run needs `regbench repair`.
    process.stdout.write(formatDamagedDetail(health, health.dir) + '\n');
    return 1;
  }
  process.stdout.write(formatRecordDetail(r, health.events, health.dir) + '\n');
  if (health.problems.length) process.stdout.write(formatProblems(health.problems) + '\n');
  return 0;
}

function commandBenchmarks(): number {
  for (const b of BENCHMARKS) {
    const q = budgetSize('quick', b.id);
    process.stdout.write(
      `${b.id.padEnd(20)} ${b.title.padEnd(26)} ${String(b.numClasses).padStart(3)} classes, ${(b.paramCount / 1e6).toFixed(2)}M params; quick: ${q.epochs} epochs on ${q.trainSubset ?? 'all'} images\n`,
    );
  }
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'run':
        return await commandRun(rest);
      case 'resume':
        return await commandResume(rest);
      case 'rerun':
        return await commandRerun(rest);
      case 'list':
        return commandList(rest);
      case 'show':
        return commandShow(rest);
      case 'repair':
        return runRepairCommand(rest);
      case 'benchmarks':
        return commandBenchmarks();
      case 'data':
        return await runDataCommand(rest);
      case 'submit':
      case 'jobs':
      case 'cancel':
      case 'task': {
        const slurm = await import('./slurm-commands');
        const run = { submit: slurm.commandSubmit, jobs: slurm.commandJobs, cancel: slurm.commandCancel, task: slurm.commandTask }[command];
        return await run(rest);
      }
      case 'final':
        return await runFinalCommand(rest);
      case 'race':
      case 'sweep': {
        const races = await import('./race-command');
        return await (command === 'race' ? races.commandRace(rest) : races.commandSweep(rest));
      }
      case 'table':
        return runTableCommand(rest);
      case 'compare':
        return runCompareCommand(rest);
      case 'doctor': {
        // Loaded on demand: it lists the torch backend's kernels, which brings in TensorFlow.js.
        const { runDoctorCommand } = await import('./doctor-command');
        return await runDoctorCommand(rest);
      }
      case 'parity': {
        // Loaded on demand: it brings TensorFlow.js into this process, the other commands do not.
        const { runParityCommand } = await import('./parity-command');
        return await runParityCommand(rest);
      }
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE + '\n');
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${command}'`);
    }
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ||
      (err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE'
    ) {
      process.stderr.write(`regbench: ${(err as Error).message}\n${USAGE}\n`);
      return 2;
    }
    if (err instanceof DeviceUnavailableError) {
      process.stderr.write(`regbench: ${err.message}\n`);
      return 2;
    }
    if (err instanceof ExitError) {
      process.stderr.write(`regbench: ${err.message}\n`);
      return err.code;
    }
    process.stderr.write(`regbench: ${(err as Error).message}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
