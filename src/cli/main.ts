/**
 * The `regbench` command line: the same runs as the extension, for remote/headless machines and CI.
 *   regbench run <variant> --bench <id> [--budget smoke|quick|full] [--epochs N] [--train-subset N]
 *                [--test-subset N] [--seed N | --seeds 0,1,2] [--backend B] [--device D] [--data-dir D] [--json]
 *   regbench final <variant> [--budget b] [--seeds L] [--yes] [--wait]   (the held-out benchmark)
 *   regbench table [--kind reg|norm] [--budget b] --format md|latex|csv|json
 *   regbench compare <group|run> [<group|run>] [--bench id]   (statistics of B against A)
 *   regbench list [--json]            regbench show <id> [--json]
 *   regbench benchmarks               regbench data synth --dataset D --out DIR [--train N --test N]
 *   regbench data fetch <dataset>     regbench parity --bench <id>
 * Global: --workspace DIR (the run store is DIR/.regbench; default: the current directory).
 * Exit codes: 0 success; 1 the run failed, diverged or was cancelled; 2 bad usage.
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { BENCHMARKS, BUDGET_IDS, budgetSize, isBenchId, type BackendId, type BudgetId } from '../protocol/benchmarks';
import { RunStore } from '../store/run-store';
import { UsageError } from '../engine/run-request';
import { formatRecordLine, formatRecordDetail } from './output';
import { parseSeeds, prepareSeries, runSeries } from './run-command';
import { runDataCommand } from './data-command';
import { FINAL_USAGE, runFinalCommand } from './final-command';
import { runTableCommand, TABLE_USAGE } from './table-command';
import { COMPARE_USAGE, runCompareCommand } from './compare-command';

const USAGE = `usage:
  regbench run <variant.ts|.js|.py> --bench <id> [--budget smoke|quick|full] [--epochs N]
               [--train-subset N] [--test-subset N] [--seed N | --seeds 0,1,2] [--backend wasm|cpu|tensorflow|tensorflow-gpu]
               [--device cpu|cuda] [--data-dir DIR] [--json]
  ${FINAL_USAGE}
  ${TABLE_USAGE}
  ${COMPARE_USAGE}
  regbench list [--json]
  regbench show <run-id> [--json]
  regbench benchmarks
  regbench data synth --dataset cifar10|cifar100|fashion-mnist --out DIR [--train N] [--test N] [--seed N]
  regbench data fetch cifar10|cifar100|fashion-mnist [--data-dir DIR]
  regbench parity --bench <id> [--batch N] [--seed N] [--backend wasm|cpu] [--python P] [--json]
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
      seeds: { type: 'string' },
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
  const base = {
    variantPath: positionals[0],
    bench: values.bench,
    budget: values.budget as BudgetId,
    epochs: intOption('epochs', values.epochs),
    trainSubset: intOption('train-subset', values['train-subset']),
    testSubset: intOption('test-subset', values['test-subset']),
    backend: values.backend as BackendId | undefined,
    device: values.device,
    dataDir: values['data-dir'] ?? process.env.REGBENCH_DATA,
  };
  const records = prepareSeries(base, parseSeeds(values.seeds, values.seed), store);
  return await runSeries(records, { store, json: values.json === true });
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
      case 'final':
        return await runFinalCommand(rest);
      case 'table':
        return runTableCommand(rest);
      case 'compare':
        return runCompareCommand(rest);
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
