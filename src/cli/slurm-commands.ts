/**
 * The Slurm commands of the CLI:
 *   regbench submit <variant> --bench <id,...|all> --seeds 0,1,2 --budget <b> --slurm
 *                   [--partition P] [--time MIN|HH:MM:SS] [--cpus-per-task N] [--gres gpu:N]
 *                   [--sbatch-arg ARG ...] [--signal-seconds S] [--dry-run]
 *   regbench jobs [<job-id>] [--json]       each task's state, run id and last epoch
 *   regbench cancel <job-id|run-id>         scancel, then the runs are marked cancelled
 *   regbench task <run-id>                  what an array task runs on its node (batch script)
 * All take --workspace DIR (the shared run store is DIR/.regbench).
 */
import { parseArgs } from 'node:util';
import * as path from 'node:path';
import { BENCHMARKS, BUDGET_IDS, isBenchId, type BackendId, type BenchId, type BudgetId } from '../protocol/benchmarks';
import { UsageError, engineForFile } from '../runs/run-request';
import { RunStore } from '../runs/run-store';
import { defaultDistDir } from '../runs/runner';
import { checkTime, type SlurmOptions } from '../runs/slurm/batch-script';
import { dryRunScript, scanMatrices, submitMatrix, type MatrixRequest } from '../runs/slurm/matrix';
import { damageText } from '../runs/json-file';
import { allTasks, cancelTasks, type TaskRow } from '../runs/slurm/jobs';
import { runSlurmTask } from '../runs/slurm/task';

function workspaceOf(w: string | undefined): string {
  return path.resolve(w ?? process.env.REGBENCH_WORKSPACE ?? process.cwd());
}

function parseList<T>(value: string, name: string, parse: (s: string) => T): T[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) throw new UsageError(`--${name} needs at least one value`);
  return items.map(parse);
}

function parseBenches(value: string | undefined): BenchId[] {
  if (!value) throw new UsageError(`--bench is required (one or more of ${BENCHMARKS.map((b) => b.id).join(', ')}, or all)`);
  if (value === 'all') return BENCHMARKS.map((b) => b.id);
  return parseList(value, 'bench', (b) => {
    if (!isBenchId(b)) throw new UsageError(`unknown benchmark '${b}' (one of ${BENCHMARKS.map((x) => x.id).join(', ')})`);
    return b;
  });
}

function positiveInt(name: string, v: string | undefined, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return Number(v);
}

/** The Slurm options of every command that can submit a job array (submit, race). */
export const SLURM_OPTIONS = {
  slurm: { type: 'boolean', default: false },
  partition: { type: 'string' },
  time: { type: 'string' },
  'cpus-per-task': { type: 'string' },
  gres: { type: 'string' },
  'sbatch-arg': { type: 'string', multiple: true },
  'signal-seconds': { type: 'string' },
} as const;

const SUBMIT_OPTIONS = {
  bench: { type: 'string' },
  seeds: { type: 'string', default: '0' },
  budget: { type: 'string', default: 'smoke' },
  epochs: { type: 'string' },
  'train-subset': { type: 'string' },
  'test-subset': { type: 'string' },
  backend: { type: 'string' },
  device: { type: 'string' },
  'data-dir': { type: 'string' },
  ...SLURM_OPTIONS,
  'dry-run': { type: 'boolean', default: false },
  workspace: { type: 'string' },
} as const;

export function slurmOptions(v: { [k: string]: string | boolean | string[] | undefined }): SlurmOptions {
  const str = (k: string) => v[k] as string | undefined;
  const time = str('time');
  try {
    if (time) checkTime(time);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const gres = str('gres');
  if (gres !== undefined && !/^[\w-]+(:[\w-]+)?:\d+$/.test(gres)) throw new UsageError(`--gres must look like gpu:N, got '${gres}'`);
  return {
    partition: str('partition'),
    time,
    cpusPerTask: positiveInt('cpus-per-task', str('cpus-per-task')),
    gres,
    sbatchArgs: v['sbatch-arg'] as string[] | undefined,
    signalSeconds: positiveInt('signal-seconds', str('signal-seconds')),
  };
}

function matrixRequest(variant: string, v: { [k: string]: string | boolean | string[] | undefined }, gres: string | undefined): MatrixRequest {
  const str = (k: string) => v[k] as string | undefined;
  const budget = str('budget') as BudgetId;
  if (!BUDGET_IDS.includes(budget)) throw new UsageError(`--budget must be one of ${BUDGET_IDS.join(', ')}`);
  const seeds = parseList(str('seeds') ?? '0', 'seeds', (s) => positiveInt('seeds', s, 0) ?? 0);
  if (new Set(seeds).size !== seeds.length) throw new UsageError('--seeds lists a seed twice');
  // A GPU per task: Python tasks train on CUDA (TypeScript tasks keep their backend setting).
  const device = str('device') ?? (gres && /^gpu/.test(gres) && engineForFile(variant) === 'pytorch' ? 'cuda' : undefined);
  const dataDir = str('data-dir') ?? process.env.REGBENCH_DATA;
  return {
    variantPath: variant,
    benches: parseBenches(str('bench')),
    seeds,
    budget,
    epochs: positiveInt('epochs', str('epochs')),
    trainSubset: positiveInt('train-subset', str('train-subset')),
    testSubset: positiveInt('test-subset', str('test-subset')),
    backend: str('backend') as BackendId | undefined,
    device,
    dataDir: dataDir ? path.resolve(dataDir) : undefined,
  };
}

export async function commandSubmit(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: SUBMIT_OPTIONS });
  if (positionals.length !== 1) throw new UsageError('submit needs exactly one variant file');
  if (!values.slurm) throw new UsageError('submit needs --slurm (the only scheduler so far)');
  const slurm = slurmOptions(values);
  const req = matrixRequest(positionals[0], values, slurm.gres);
  const workspace = workspaceOf(values.workspace);
  const opts = { store: RunStore.forWorkspace(workspace), workspace, slurm, cli: path.join(defaultDistDir(), 'cli.js') };
  if (values['dry-run']) {
    process.stdout.write(dryRunScript(req, opts));
    return 0;
  }
  const { matrix } = await submitMatrix(req, opts);
  process.stdout.write(`submitted job ${matrix.jobId}: ${matrix.runIds.length} task(s), matrix ${matrix.id}\n`);
  matrix.runIds.forEach((id, i) => process.stdout.write(`  ${matrix.jobId}_${i}  ${id}\n`));
  return 0;
}

function formatRow(t: TaskRow): string {
  const epoch = `${t.lastEpoch}/${t.totalEpochs}`;
  const best = t.bestTestAcc === null ? '' : `best ${t.bestTestAcc.toFixed(2)}%`;
  const why = t.state === 'failed' && t.reason ? `  ${t.reason.split('\n')[0]}` : '';
  return `${`${t.jobId}_${t.arrayTaskId}`.padEnd(12)} ${t.state.padEnd(10)} ${t.runId.padEnd(44)} epoch ${epoch.padEnd(7)} ${best}${why}`;
}

export async function commandJobs(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: 'boolean', default: false }, workspace: { type: 'string' } },
  });
  const store = RunStore.forWorkspace(workspaceOf(values.workspace));
  const rows = await allTasks(store, {}, positionals[0]);
  for (const d of scanMatrices(store).damaged)
    process.stderr.write(`regbench: warning: matrix ${d.id}: ${damageText(d.damage)}; \`regbench repair\` rebuilds it\n`);
  if (values.json) {
    for (const r of rows) process.stdout.write(JSON.stringify(r) + '\n');
  } else if (!rows.length) {
    process.stdout.write('no Slurm jobs submitted from this workspace (regbench submit ... --slurm)\n');
  } else {
    for (const r of rows) process.stdout.write(formatRow(r) + '\n');
  }
  return 0;
}

export async function commandCancel(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { workspace: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('cancel needs a job id or a run id (see regbench jobs)');
  const store = RunStore.forWorkspace(workspaceOf(values.workspace));
  const runs = await cancelTasks(store, positionals[0]);
  for (const r of runs) process.stdout.write(`${r.id}: ${r.status}\n`);
  return 0;
}

export async function commandTask(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { workspace: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('task needs a run id');
  return runSlurmTask(positionals[0], { store: RunStore.forWorkspace(workspaceOf(values.workspace)) });
}
