/**
 * `regbench run` and `regbench resume`: start (or continue) one run in a worker process and follow
 * it on the terminal: a progress line on stderr, one line per epoch on stdout (or every event as
 * JSON with --json), Ctrl-C cancels. Exit code 0 when the run completed, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { BENCHMARKS, BUDGET_IDS, isBenchId, type BackendId, type BudgetId } from '../protocol/benchmarks';
import { formatEventLine, type RunEvent } from '../protocol/events';
import type { RunRecord } from '../runs/run-record';
import { UsageError, type RunRequest } from '../runs/run-request';
import { resumeRun, startRun, type RunHandle, type RunnerOptions } from '../runs/runner';
import { ProgressLine } from './output';
import { findRunId, intOption, storeFor } from './options';

const BACKENDS: readonly BackendId[] = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

const RUN_OPTIONS = {
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
  /** A name for the run (record field displayName), shown instead of the variant's edit number. */
  name: { type: 'string' },
} as const;

type RunValues = ReturnType<typeof parseRunArgs>['values'];

function parseRunArgs(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: RUN_OPTIONS });
}

/** The request `regbench run` asks for; throws UsageError naming the option to fix. */
export function runRequestOf(variantPath: string | undefined, values: RunValues): RunRequest {
  if (!variantPath) throw new UsageError('run needs exactly one variant file');
  const benches = BENCHMARKS.map((b) => b.id).join(', ');
  if (!values.bench) throw new UsageError(`--bench is required (one of ${benches})`);
  if (!isBenchId(values.bench)) throw new UsageError(`unknown benchmark '${values.bench}' (one of ${benches})`);
  if (!BUDGET_IDS.includes(values.budget as BudgetId)) throw new UsageError(`--budget must be one of ${BUDGET_IDS.join(', ')}`);
  if (values.backend !== undefined && !BACKENDS.includes(values.backend as BackendId)) throw new UsageError(`--backend must be one of ${BACKENDS.join(', ')}`);
  if (values.device !== undefined && !['cpu', 'cuda'].includes(values.device)) throw new UsageError(`--device must be cpu or cuda`);
  return {
    variantPath,
    bench: values.bench,
    budget: values.budget as BudgetId,
    epochs: intOption('epochs', values.epochs),
    trainSubset: intOption('train-subset', values['train-subset']),
    testSubset: intOption('test-subset', values['test-subset']),
    seed: intOption('seed', values.seed),
    backend: values.backend as BackendId | undefined,
    device: values.device,
    dataDir: values['data-dir'] ?? process.env.REGBENCH_DATA,
  };
}

export async function commandRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseRunArgs(argv);
  if (positionals.length !== 1) throw new UsageError('run needs exactly one variant file');
  const request = runRequestOf(positionals[0], values);
  const follower = new RunFollower(values.json === true);
  const store = storeFor(values.workspace);
  const handle = await startRun(request, { store, onStderr: (l) => follower.stderr(l) });
  const displayName = values.name?.trim();
  if (displayName) store.update(handle.runId, (r) => ({ ...r, displayName }));
  return follower.follow(handle);
}

export async function commandResume(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, workspace: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('resume needs a run id (see regbench list)');
  const follower = new RunFollower(values.json === true);
  const store = storeFor(values.workspace);
  const opts: RunnerOptions = { store, onStderr: (l) => follower.stderr(l) };
  const handle = await resumeRun(findRunId(store, positionals[0]), opts);
  return follower.follow(handle);
}

/** Prints one run's events as they come and turns Ctrl-C into a cancel. */
export class RunFollower {
  private readonly progress: ProgressLine | undefined;

  constructor(private readonly json: boolean) {
    this.progress = !json && process.stderr.isTTY ? new ProgressLine(process.stderr) : undefined;
  }

  stderr(line: string): void {
    if (this.json && !process.env.REGBENCH_DEBUG) return;
    this.progress?.clear();
    process.stderr.write(`${line}\n`);
  }

  async follow(handle: RunHandle): Promise<number> {
    const onSignal = () => {
      this.progress?.clear();
      process.stderr.write('regbench: cancelling...\n');
      void handle.cancel();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    handle.onEvent((e, r) => this.print(e, r));
    const record = await handle.done;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    this.progress?.clear();
    return this.summarize(record);
  }

  private print(e: RunEvent, r: RunRecord): void {
    if (this.json) {
      process.stdout.write(formatEventLine(e) + '\n');
      return;
    }
    if (e.type === 'run-start') {
      const from = e.resumedFrom ? `, resumed at epoch ${e.resumedFrom.epoch + 1}${e.resumedFrom.step ? ` step ${e.resumedFrom.step}` : ''}` : '';
      process.stdout.write(`run ${r.id}: ${r.name}\n  ${e.spec.epochs} epoch(s), ${e.trainImages} training / ${e.testImages} test images, backend ${e.env.backend}${from}\n`);
    } else if (e.type === 'progress') {
      this.progress?.update(e);
    } else if (e.type === 'epoch') {
      this.progress?.clear();
      process.stdout.write(
        `  epoch ${e.epoch + 1}/${e.totalEpochs}  loss ${e.trainLoss.toFixed(4)}  train ${e.trainAcc.toFixed(2)}%  test ${e.testAcc.toFixed(2)}%  best ${e.bestTestAcc.toFixed(2)}%  lr ${e.lr.toFixed(4)}  ${e.seconds.toFixed(1)}s\n`,
      );
    } else if (e.type === 'log' && e.level !== 'debug') {
      this.progress?.clear();
      process.stderr.write(`  ${e.message}\n`);
    }
  }

  private summarize(record: RunRecord): number {
    if (record.status === 'completed') {
      if (!this.json) process.stdout.write(`completed: best test accuracy ${record.bestTestAcc?.toFixed(2)}%, final ${record.finalTestAcc?.toFixed(2)}% (run ${record.id})\n`);
      return 0;
    }
    const why = record.error?.message ?? record.reason ?? record.status;
    process.stderr.write(`regbench: run ${record.status}: ${why}\n`);
    return 1;
  }
}
