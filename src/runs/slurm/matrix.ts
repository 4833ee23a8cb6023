/**
 * A benchmark matrix on Slurm: runs prepared in the store (one per benchmark x seed), their folder
 * `.regbench/matrices/<id>/` (matrix.json, tasks.json, job.sh, the tasks' Slurm output task-<i>.out,
 * linked from each run folder), and one held job array that is released once every record knows
 * its job id. A submission that fails removes what it prepared: no run is left queued or running.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { BenchId } from '../../protocol/benchmarks';
import { prepareRun } from '../runner';
import { resolveRunSpec, type RunRequest } from '../run-request';
import { writeAtomic, type RunStore } from '../run-store';
import type { RunRecord } from '../run-record';
import { batchScript, type SlurmOptions } from './batch-script';
import { runSlurmCommand, sbatch, scancel, SlurmError, type SlurmClientOptions } from './client';

export interface MatrixRequest extends Omit<RunRequest, 'bench' | 'seed'> {
  benches: BenchId[];
  seeds: number[];
}

export interface MatrixInfo {
  id: string;
  jobId: string;
  createdAt: string;
  variantPath: string;
  /** Run id per array task index. */
  runIds: string[];
  options: SlurmOptions;
}

export interface SubmitOptions extends SlurmClientOptions {
  store: RunStore;
  workspace: string;
  slurm: SlurmOptions;
  /** Node binary and CLI bundle the tasks run (default: this process's). */
  node?: string;
  cli?: string;
}

export function matricesDir(store: RunStore): string {
  return path.join(store.root, 'matrices');
}

/** The runs of a matrix, benchmark-major: (b0,s0), (b0,s1), ..., (b1,s0), ... */
export function matrixRequests(req: MatrixRequest): RunRequest[] {
  const { benches, seeds, ...rest } = req;
  return benches.flatMap((bench) => seeds.map((seed) => ({ ...rest, bench, seed })));
}

function jobName(variantPath: string): string {
  return `regbench-${path.basename(variantPath).replace(/\.\w+$/, '').replace(/[^\w.-]/g, '_')}`;
}

/** The script `--dry-run` prints: checked like a real submission, but nothing is created. */
export function dryRunScript(req: MatrixRequest, opts: SubmitOptions): string {
  const requests = matrixRequests(req);
  requests.forEach((r) => resolveRunSpec(r, 'dry-run', '/nonexistent'));
  const runIds = requests.map((r) => `<${r.bench} seed ${r.seed}>`);
  const matrixDir = path.join(matricesDir(opts.store), '<matrix-id>');
  return scriptFor(req, runIds, matrixDir, opts);
}

function scriptFor(req: MatrixRequest, runIds: string[], matrixDir: string, opts: SubmitOptions): string {
  return batchScript({
    jobName: jobName(req.variantPath),
    runIds,
    workspace: opts.workspace,
    matrixDir,
    node: opts.node ?? process.execPath,
    cli: opts.cli ?? path.resolve(process.argv[1] ?? 'regbench'),
    options: opts.slurm,
  });
}

function allocateMatrixDir(store: RunStore): { id: string; dir: string } {
  fs.mkdirSync(matricesDir(store), { recursive: true });
  for (;;) {
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
    const id = `${stamp}-${randomBytes(2).toString('hex')}`;
    const dir = path.join(matricesDir(store), id);
    try {
      fs.mkdirSync(dir);
      return { id, dir };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

/** Prepares the runs and files of a matrix; nothing is submitted yet. */
function prepareMatrix(req: MatrixRequest, opts: SubmitOptions): { id: string; dir: string; records: RunRecord[]; script: string } {
  const requests = matrixRequests(req);
  // Check every run before creating any (unknown benchmark, missing variant, bad overrides).
  requests.forEach((r) => resolveRunSpec(r, 'check', '/nonexistent'));
  const { id, dir } = allocateMatrixDir(opts.store);
  const records: RunRecord[] = [];
  try {
    requests.forEach((r, i) => {
      const rec = prepareRun(r, opts.store);
      records.push(opts.store.setExecutor(rec.id, { kind: 'slurm', matrixId: id, arrayTaskId: i }));
    });
    const script = scriptFor(req, records.map((r) => r.id), dir, opts);
    fs.writeFileSync(path.join(dir, 'job.sh'), script, { mode: 0o755 });
    writeAtomic(path.join(dir, 'tasks.json'), JSON.stringify(records.map((r) => r.id), null, 2) + '\n');
    records.forEach((r, i) => {
      const runDir = opts.store.runDir(r.id);
      fs.symlinkSync(path.relative(runDir, path.join(dir, 'job.sh')), path.join(runDir, 'slurm-job.sh'));
      fs.symlinkSync(path.relative(runDir, path.join(dir, `task-${i}.out`)), path.join(runDir, 'slurm-output.txt'));
    });
    return { id, dir, records, script };
  } catch (err) {
    removeMatrix(opts.store, dir, records);
    throw err;
  }
}

function removeMatrix(store: RunStore, dir: string, records: RunRecord[]): void {
  for (const r of records) store.delete(r.id);
  fs.rmSync(dir, { recursive: true, force: true });
}

/**
 * Submits the matrix as one held job array, records the job id in every run, then releases it.
 * A failed sbatch removes the prepared runs and folder; a failure after it cancels the job too.
 */
export async function submitMatrix(req: MatrixRequest, opts: SubmitOptions): Promise<{ matrix: MatrixInfo; records: RunRecord[] }> {
  const { id, dir, records, script } = prepareMatrix(req, opts);
  let jobId: string | undefined;
  try {
    jobId = await sbatch(script, ['--hold', ...(opts.slurm.sbatchArgs ?? [])], opts);
    const matrix: MatrixInfo = { id, jobId, createdAt: new Date().toISOString(), variantPath: path.resolve(req.variantPath), runIds: records.map((r) => r.id), options: opts.slurm };
    writeAtomic(path.join(dir, 'matrix.json'), JSON.stringify(matrix, null, 2) + '\n');
    const updated = records.map((r, i) => opts.store.setExecutor(r.id, { kind: 'slurm', matrixId: id, arrayTaskId: i, jobId }));
    await runSlurmCommand('scontrol', ['release', jobId], opts);
    return { matrix, records: updated };
  } catch (err) {
    if (jobId) await scancel([jobId], opts).catch(() => undefined);
    removeMatrix(opts.store, dir, records);
    throw err instanceof SlurmError ? err : new SlurmError((err as Error).message);
  }
}

export function readMatrix(store: RunStore, id: string): MatrixInfo | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(matricesDir(store), id, 'matrix.json'), 'utf8')) as MatrixInfo;
  } catch {
    return undefined;
  }
}

/** Every submitted matrix, oldest first. */
export function listMatrices(store: RunStore): MatrixInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(matricesDir(store)).sort();
  } catch {
    return [];
  }
  return names.map((n) => readMatrix(store, n)).filter((m): m is MatrixInfo => m !== undefined);
}

/** The last lines of an array task's Slurm output. */
export function taskOutputTail(store: RunStore, matrixId: string, arrayTaskId: number, lines = 5): string {
  try {
    const text = fs.readFileSync(path.join(matricesDir(store), matrixId, `task-${arrayTaskId}.out`), 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Submits runs already in the store (new queued ones, or stopped ones to continue: a task resumes
 * from the run's checkpoint) as one held job array named `regbench-<label>`, then releases it.
 * A race submits each rung this way. When sbatch fails the matrix folder is removed and the runs
 * are left as they were (the caller decides what becomes of them).
 */
export async function submitRuns(records: readonly RunRecord[], label: string, opts: SubmitOptions): Promise<MatrixInfo> {
  const { id, dir } = allocateMatrixDir(opts.store);
  const runIds = records.map((r) => r.id);
  const script = batchScript({
    jobName: `regbench-${label.replace(/[^\w.-]/g, '_')}`,
    runIds,
    workspace: opts.workspace,
    matrixDir: dir,
    node: opts.node ?? process.execPath,
    cli: opts.cli ?? path.resolve(process.argv[1] ?? 'regbench'),
    options: opts.slurm,
  });
  let jobId: string | undefined;
  try {
    fs.writeFileSync(path.join(dir, 'job.sh'), script, { mode: 0o755 });
    writeAtomic(path.join(dir, 'tasks.json'), JSON.stringify(runIds, null, 2) + '\n');
    jobId = await sbatch(script, ['--hold', ...(opts.slurm.sbatchArgs ?? [])], opts);
    const matrix: MatrixInfo = { id, jobId, createdAt: new Date().toISOString(), variantPath: records[0]?.spec.variantPath ?? label, runIds, options: opts.slurm };
    writeAtomic(path.join(dir, 'matrix.json'), JSON.stringify(matrix, null, 2) + '\n');
    records.forEach((r, i) => {
      opts.store.setExecutor(r.id, { kind: 'slurm', matrixId: id, arrayTaskId: i, jobId });
      const runDir = opts.store.runDir(r.id);
      for (const [link, target] of [['slurm-job.sh', 'job.sh'], ['slurm-output.txt', `task-${i}.out`]]) {
        fs.rmSync(path.join(runDir, link), { force: true });
        fs.symlinkSync(path.relative(runDir, path.join(dir, target)), path.join(runDir, link));
      }
    });
    await runSlurmCommand('scontrol', ['release', jobId], opts);
    return matrix;
  } catch (err) {
    if (jobId) await scancel([jobId], opts).catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
    throw err instanceof SlurmError ? err : new SlurmError((err as Error).message);
  }
}
