/**
 * `regbench run` and `regbench resume`: start (or continue) one run in a worker process and follow
 * it on the terminal: a progress line on stderr, one line per epoch on stdout (or every event as
 * JSON with --json), Ctrl-C cancels. Exit code 0 when the run completed, 1 otherwise.
 */
import { parseArgs } from 'node:util';
import { BENCHMARKS, BUDGET_IDS, isBenchId, type BackendId, type BudgetId, BACKEND_IDS } from '../protocol/benchmarks';
import { UsageError, type RunRequest } from '../runs/run-request';
import { resumeRun, type RunnerOptions } from '../runs/runner';
import { parseSeeds, prepareSeries, runSeries } from './run-series';
import { RunFollower } from './run-follower';
import { resultDifferences, startRerun } from '../runs/rerun';
import { findRunId, intOption, storeFor } from './options';
import { damageText } from '../runs/json-file';
import { checkDeviceSyntax, tfjsBackendForDevice } from './device-check';
import { engineForFile } from '../runs/run-request';

const BACKENDS = BACKEND_IDS;

/** The options of `regbench run`; `regbench sweep` runs its derived variants with the same ones. */
export const RUN_OPTIONS = {
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
  'step-timeout': { type: 'string' },
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
  checkDeviceSyntax(values.device);
  const backend = engineForFile(variantPath) === 'tfjs' ? tfjsBackendForDevice(values.device, values.backend) : values.backend;
  return {
    variantPath,
    bench: values.bench,
    budget: values.budget as BudgetId,
    epochs: intOption('epochs', values.epochs),
    trainSubset: intOption('train-subset', values['train-subset']),
    testSubset: intOption('test-subset', values['test-subset']),
    seed: intOption('seed', values.seed),
    backend: backend as BackendId | undefined,
    device: values.device,
    dataDir: values['data-dir'] ?? process.env.REGBENCH_DATA,
    stepTimeoutSeconds: intOption('step-timeout', values['step-timeout']),
  };
}

export async function commandRun(argv: string[]): Promise<number> {
  const { values, positionals } = parseRunArgs(argv);
  if (positionals.length !== 1) throw new UsageError('run needs exactly one variant file');
  const seeds = parseSeeds(values.seeds, values.seed);
  const request = runRequestOf(positionals[0], { ...values, seed: undefined });
  const store = storeFor(values.workspace);
  const displayName = values.name?.trim();
  const records = prepareSeries(request, seeds, store).map((r) => (displayName ? store.update(r.id, (x) => ({ ...x, displayName })) : r));
  return runSeries(records, { store, json: values.json === true });
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

export async function commandRerun(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, workspace: { type: 'string' } },
  });
  if (positionals.length !== 1) throw new UsageError('rerun needs a run id (see regbench list)');
  const store = storeFor(values.workspace);
  const found = store.read(findRunId(store, positionals[0]));
  if (!found.ok)
    throw new Error(
      `run ${positionals[0]} has no readable record${'damaged' in found ? `: ${damageText(found.damaged.damage)}; \`regbench repair\` rebuilds it` : ''}`,
    );
  const original = found.record;
  const follower = new RunFollower(values.json === true);
  const handle = await startRerun(original, { store, onStderr: (l) => follower.stderr(l) });
  const code = await follower.follow(handle);
  const rerun = store.get(handle.runId);
  if (!rerun) return 1;
  const diff = resultDifferences(original, store.events(original.id), rerun, store.events(rerun.id));
  const say = (line: string) => process.stderr.write(`${line}\n`);
  if (!diff.length)
    say(
      `rerun ${rerun.id} is identical to ${original.id}: same accuracy every epoch${store.events(rerun.id).some((e) => e.type === 'checkpoint') ? ' and the same final weights' : ''}`,
    );
  else say(`rerun ${rerun.id} differs from ${original.id}:\n  ${diff.join('\n  ')}`);
  return code !== 0 ? code : diff.length ? 3 : 0;
}
