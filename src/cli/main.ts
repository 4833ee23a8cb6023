/**
 * The `regbench` command line: the same runs as the extension, for remote/headless machines and CI.
 *   regbench run <variant> --bench <id> [--budget smoke|quick|full] [--epochs N] [--train-subset N]
 *                [--test-subset N] [--seed N] [--backend B] [--device D] [--data-dir D] [--json]
 *   regbench list [--json]            regbench show <id> [--json]
 *   regbench benchmarks               regbench data synth --dataset D --out DIR [--train N --test N]
 *   regbench data fetch <dataset>     regbench parity --bench <id>
 * Global: --workspace DIR (the run store is DIR/.regbench; default: the current directory).
 * Exit codes: 0 success; 1 the run failed, diverged or was cancelled; 2 bad usage.
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { BENCHMARKS, BUDGET_IDS, budgetSize, isBenchId, type BackendId, type BudgetId } from '../protocol/benchmarks';
import { formatEventLine, type RunEvent } from '../protocol/events';
import { RunStore } from '../store/run-store';
import type { RunRecord } from '../store/run-record';
import { UsageError } from '../engine/run-request';
import { startRun } from '../engine/runner';
import { ProgressLine, formatRecordLine, formatRecordDetail } from './output';
import { runDataCommand } from './data-command';

const USAGE = `usage:
  regbench run <variant.ts|.js|.py> --bench <id> [--budget smoke|quick|full] [--epochs N]
               [--train-subset N] [--test-subset N] [--seed N] [--backend wasm|cpu|tensorflow|tensorflow-gpu]
               [--device cpu|cuda] [--data-dir DIR] [--json]
  regbench list [--json]
  regbench show <run-id> [--json]
  regbench benchmarks
  regbench data synth --dataset cifar10|cifar100|fashion-mnist --out DIR [--train N] [--test N] [--seed N]
  regbench data fetch cifar10|cifar100|fashion-mnist [--data-dir DIR]
  regbench parity --bench <id> [--batch N] [--seed N] [--backend wasm|cpu] [--python P] [--json]
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

function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer, got '${value}'`);
  return Number(value);
}

const BACKENDS: readonly BackendId[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

async function commandRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      bench: { type: 'string' },
      budget: { type: 'string', default: 'smoke' },
      epochs: { type: 'string' },
      'train-subset': { type: 'string' },
      'test-subset': { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      device: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      workspace: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('run needs exactly one variant file');
  if (!values.bench) throw new UsageError(`--bench is required (one of ${BENCHMARKS.map((b) => b.id).join(', ')})`);
  if (!isBenchId(values.bench)) throw new UsageError(`unknown benchmark '${values.bench}' (one of ${BENCHMARKS.map((b) => b.id).join(', ')})`);
  if (!BUDGET_IDS.includes(values.budget as BudgetId)) throw new UsageError(`--budget must be one of ${BUDGET_IDS.join(', ')}`);
  if (values.backend !== undefined && !BACKENDS.includes(values.backend as BackendId)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}`);
  if (values.device !== undefined && !['cpu', 'cuda'].includes(values.device)) throw new UsageError(`--device must be cpu or cuda`);
  const store = storeFor(values.workspace);
  const dataDir = values['data-dir'] ?? process.env.REGBENCH_DATA;
  const json = values.json === true;
  const progress = !json && process.stderr.isTTY ? new ProgressLine(process.stderr) : undefined;
  const handle = await startRun(
    {
      variantPath: positionals[0],
      bench: values.bench,
      budget: values.budget as BudgetId,
      epochs: intOption('epochs', values.epochs),
      trainSubset: intOption('train-subset', values['train-subset']),
      testSubset: intOption('test-subset', values['test-subset']),
      seed: intOption('seed', values.seed),
      backend: values.backend as BackendId | undefined,
      device: values.device,
      dataDir,
    },
    {
      store,
      onStderr: (line) => {
        if (!json || process.env.REGBENCH_DEBUG) {
          progress?.clear();
          process.stderr.write(`${line}\n`);
        }
      },
    },
  );
  const onSignal = () => {
    progress?.clear();
    process.stderr.write('regbench: cancelling...\n');
    void handle.cancel();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  handle.onEvent((e: RunEvent, r: RunRecord) => {
    if (json) {
      process.stdout.write(formatEventLine(e) + '\n');
      return;
    }
    if (e.type === 'run-start') {
      process.stdout.write(`run ${r.id}: ${r.name}\n  ${e.spec.epochs} epoch(s), ${e.trainImages} training / ${e.testImages} test images, backend ${e.env.backend}\n`);
    } else if (e.type === 'progress') {
      progress?.update(e);
    } else if (e.type === 'epoch') {
      progress?.clear();
      process.stdout.write(
        `  epoch ${e.epoch + 1}/${e.totalEpochs}  loss ${e.trainLoss.toFixed(4)}  train ${e.trainAcc.toFixed(2)}%  test ${e.testAcc.toFixed(2)}%  best ${e.bestTestAcc.toFixed(2)}%  lr ${e.lr.toFixed(4)}  ${e.seconds.toFixed(1)}s\n`,
      );
    } else if (e.type === 'log' && e.level !== 'debug') {
      progress?.clear();
      process.stderr.write(`  ${e.message}\n`);
    }
  });
  const record = await handle.done;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  progress?.clear();
  if (record.status === 'completed') {
    if (!json) process.stdout.write(`completed: best test accuracy ${record.bestTestAcc?.toFixed(2)}%, final ${record.finalTestAcc?.toFixed(2)}% (run ${record.id})\n`);
    return 0;
  }
  const why = record.error?.message ?? record.reason ?? record.status;
  process.stderr.write(`regbench: run ${record.status}: ${why}\n`);
  return 1;
}

function storeFor(workspace: string | undefined): RunStore {
  return RunStore.forWorkspace(path.resolve(workspace ?? process.env.REGBENCH_WORKSPACE ?? process.cwd()));
}

function commandList(argv: string[]): number {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean', default: false }, workspace: { type: 'string' } } });
  const runs = storeFor(values.workspace).list();
  if (values.json) {
    for (const r of runs) process.stdout.write(JSON.stringify(r) + '\n');
    return 0;
  }
  if (!runs.length) {
    process.stdout.write('no runs yet (regbench run <variant> --bench <id> starts one)\n');
    return 0;
  }
  for (const r of runs) process.stdout.write(formatRecordLine(r) + '\n');
  return 0;
}

function commandShow(argv: string[]): number {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { json: { type: 'boolean', default: false }, workspace: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('show needs a run id (see regbench list)');
  const store = storeFor(values.workspace);
  const matches = store.list().filter((r) => r.id === positionals[0] || r.id.startsWith(positionals[0]) || r.id.endsWith(positionals[0]));
  if (matches.length !== 1) throw new ExitError(matches.length ? `'${positionals[0]}' matches ${matches.length} runs; give more of the id` : `no run '${positionals[0]}' in ${store.runsDir}`, 2);
  const r = matches[0];
  const events = store.events(r.id);
  if (values.json) {
    process.stdout.write(JSON.stringify({ record: r, events }, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(formatRecordDetail(r, events, store.runDir(r.id)) + '\n');
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
      case 'list':
        return commandList(rest);
      case 'show':
        return commandShow(rest);
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
    if (err instanceof UsageError || (err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' || (err as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      process.stderr.write(`regbench: ${(err as Error).message}\n${USAGE}\n`);
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
