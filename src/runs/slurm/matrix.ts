/**
 * A benchmark matrix on Slurm: runs prepared in the store (one per benchmark x seed), their folder
 * `.regbench/matrices/<id>/` (matrix.json, tasks.json, job.sh, the tasks' Slurm output task-<i>.out,
 * linked from each run folder), and one held job array that is released once every record knows
 * its job id. A submission that fails removes what it prepared: no run is left queued or running.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import type { BenchId } from '../../protocol/benchmarks';
import { prepareRun } from '../runner';
import { resolveRunSpec, type RunRequest } from '../run-request';
import { writeAtomic, type RunStore } from '../run-store';
import { fieldProblems, keepAside, readJsonFile, shownPath, writeJsonFile, type FileDamage } from '../json-file';
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
  /** sha256 of job.sh as submitted (matrices submitted before this field have none). */
  scriptSha256?: string;
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
  return `regbench-${path
    .basename(variantPath)
    .replace(/\.\w+$/, '')
    .replace(/[^\w.-]/g, '_')}`;
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
    const script = scriptFor(
      req,
      records.map((r) => r.id),
      dir,
      opts,
    );
    fs.writeFileSync(path.join(dir, SCRIPT_FILE), script, { mode: 0o755 });
    writeAtomic(
      path.join(dir, TASKS_FILE),
      JSON.stringify(
        records.map((r) => r.id),
        null,
        2,
      ) + '\n',
    );
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
    const matrix: MatrixInfo = {
      id,
      jobId,
      createdAt: new Date().toISOString(),
      variantPath: path.resolve(req.variantPath),
      runIds: records.map((r) => r.id),
      options: opts.slurm,
      scriptSha256: sha256(script),
    };
    writeJsonFile(path.join(dir, MATRIX_FILE), matrix);
    const updated = records.map((r, i) => opts.store.setExecutor(r.id, { kind: 'slurm', matrixId: id, arrayTaskId: i, jobId }));
    await runSlurmCommand('scontrol', ['release', jobId], opts);
    return { matrix, records: updated };
  } catch (err) {
    if (jobId) await scancel([jobId], opts).catch(() => undefined);
    removeMatrix(opts.store, dir, records);
    throw err instanceof SlurmError ? err : new SlurmError((err as Error).message);
  }
}

export const MATRIX_FILE = 'matrix.json';
export const TASKS_FILE = 'tasks.json';
export const SCRIPT_FILE = 'job.sh';
/** How long a matrix folder without matrix.json may be a submission under way (sbatch can be slow). */
const SUBMITTING_MS = 10 * 60_000;

/** A matrix folder whose matrix.json or tasks.json cannot be used as it is. */
export interface DamagedMatrix {
  id: string;
  dir: string;
  damage: FileDamage;
  /** Set when matrix.json is fine and only tasks.json is damaged (the matrix still works). */
  matrix?: MatrixInfo;
}

/** A matrix file as messages name it: `.regbench/matrices/<id>/matrix.json`. */
function shown(store: RunStore, file: string): string {
  return shownPath(file, path.dirname(store.root));
}

function matrixProblem(v: unknown, id: string): string | undefined {
  const shape = fieldProblems(v, { id: 'string', jobId: 'string', createdAt: 'string', variantPath: 'string', runIds: 'array', options: 'object' });
  if (shape) return shape;
  const m = v as MatrixInfo;
  if (m.id !== id) return `its id '${m.id}' is not the folder's name`;
  if (!m.runIds.every((r) => typeof r === 'string' && /^[\w.-]+$/.test(r))) return "its 'runIds' are not all run ids";
  return undefined;
}

/** matrix.json of one matrix folder, checked, or the damage; undefined while it is being submitted. */
function readMatrixFolder(store: RunStore, id: string): { matrix: MatrixInfo } | { damaged: DamagedMatrix } | undefined {
  const dir = path.join(matricesDir(store), id);
  const read = readJsonFile<MatrixInfo>(path.join(dir, MATRIX_FILE), (v) => matrixProblem(v, id), shown(store, path.join(dir, MATRIX_FILE)));
  if (!read.ok) {
    // sbatch may still be under way: no run knows its job id yet (they learn it after matrix.json is written).
    if (read.missing && submitting(dir) && !store.list().some((r) => r.executor?.matrixId === id && r.executor.jobId)) return undefined;
    const damage = read.missing ? { file: read.file, reason: `${read.reason}: the matrix's job id and runs are not recorded` } : read.damage;
    return { damaged: { id, dir, damage } };
  }
  const tasksFile = path.join(dir, TASKS_FILE);
  const tasks = readJsonFile<unknown>(tasksFile, undefined, shown(store, tasksFile));
  const same =
    tasks.ok && Array.isArray(tasks.value) && tasks.value.length === read.value.runIds.length && tasks.value.every((t, i) => t === read.value.runIds[i]);
  if (!same) {
    const reason = tasks.ok ? `does not list the runs ${MATRIX_FILE} lists` : tasks.missing ? tasks.reason : tasks.damage.reason;
    return { damaged: { id, dir, matrix: read.value, damage: { file: shown(store, tasksFile), reason } } };
  }
  const script = scriptProblem(dir, read.value);
  if (script) return { damaged: { id, dir, matrix: read.value, damage: { file: shown(store, path.join(dir, SCRIPT_FILE)), reason: script } } };
  return { matrix: read.value };
}

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');

/** Why job.sh is not the script that was submitted, or undefined. */
function scriptProblem(dir: string, m: MatrixInfo): string | undefined {
  let text: Buffer;
  try {
    text = fs.readFileSync(path.join(dir, SCRIPT_FILE));
  } catch {
    // Without a recorded checksum (older matrices, or one repaired) a missing script is no news.
    return m.scriptSha256 ? 'is missing (Slurm keeps its own copy for requeued tasks; only the record of what was submitted is lost)' : undefined;
  }
  if (m.scriptSha256 && sha256(text) !== m.scriptSha256) return `is not the script that was submitted (its checksum differs from the one in ${MATRIX_FILE})`;
  return undefined;
}

/** A folder without matrix.json whose job.sh (written before sbatch) is young: sbatch may still be under way. */
function submitting(dir: string): boolean {
  try {
    return Date.now() - fs.statSync(path.join(dir, SCRIPT_FILE)).mtimeMs < SUBMITTING_MS;
  } catch {
    // No job.sh either: an empty folder being prepared, or one left with nothing in it.
    return fs.existsSync(dir) && fs.readdirSync(dir).length === 0;
  }
}

export function readMatrix(store: RunStore, id: string): MatrixInfo | undefined {
  const r = readMatrixFolder(store, id);
  return r && ('matrix' in r ? r.matrix : r.damaged.matrix);
}

/** Every matrix folder, oldest first: the usable matrices and the damaged folders. */
export function scanMatrices(store: RunStore): { matrices: MatrixInfo[]; damaged: DamagedMatrix[] } {
  let names: string[];
  try {
    names = fs.readdirSync(matricesDir(store)).sort();
  } catch {
    return { matrices: [], damaged: [] };
  }
  const matrices: MatrixInfo[] = [];
  const damaged: DamagedMatrix[] = [];
  for (const n of names) {
    if (!/^[\w.-]+$/.test(n)) continue;
    const r = readMatrixFolder(store, n);
    if (!r) continue;
    if ('matrix' in r) matrices.push(r.matrix);
    else {
      damaged.push(r.damaged);
      // A damaged tasks.json does not stop the matrix: matrix.json says everything the tasks need.
      if (r.damaged.matrix) matrices.push(r.damaged.matrix);
    }
  }
  return { matrices, damaged };
}

/** Every submitted matrix whose matrix.json is readable, oldest first (damaged ones: scanMatrices). */
export function listMatrices(store: RunStore): MatrixInfo[] {
  return scanMatrices(store).matrices;
}

/**
 * Rebuilds a damaged matrix folder's files: matrix.json from the records of its runs (each one
 * knows its matrix, array task and job id; the Slurm options are lost and recorded as none), and
 * tasks.json from matrix.json. Each damaged file is kept aside first. Returns what it did.
 */
export function repairMatrix(store: RunStore, d: DamagedMatrix, now = new Date()): string[] {
  const said: string[] = [];
  let matrix = d.matrix;
  if (!matrix) {
    const runs = store
      .list()
      .filter((r) => r.executor?.matrixId === d.id)
      .sort((a, b) => (a.executor?.arrayTaskId ?? 0) - (b.executor?.arrayTaskId ?? 0));
    const jobId = runs.find((r) => r.executor?.jobId)?.executor?.jobId;
    if (!runs.length || !jobId) {
      return [`${d.damage.file}: cannot be rebuilt: no run record names matrix ${d.id}${runs.length ? ' with a job id' : ''}; the folder is left as it is`];
    }
    const aside = keepAside(path.join(d.dir, MATRIX_FILE), now);
    matrix = { id: d.id, jobId, createdAt: runs[0].createdAt, variantPath: runs[0].spec.variantPath, runIds: runs.map((r) => r.id), options: {} };
    writeJsonFile(path.join(d.dir, MATRIX_FILE), matrix);
    said.push(
      `${d.damage.file}: rebuilt from the records of its ${runs.length} runs (job ${jobId}; its Slurm options were not recoverable)${aside ? `; the damaged file is kept as ${path.basename(aside)}` : ''}`,
    );
  }
  const tasksFile = path.join(d.dir, TASKS_FILE);
  const tasks = readJsonFile<unknown>(tasksFile);
  if (!tasks.ok || JSON.stringify(tasks.value) !== JSON.stringify(matrix.runIds)) {
    const aside = keepAside(tasksFile, now);
    writeAtomic(tasksFile, JSON.stringify(matrix.runIds, null, 2) + '\n');
    said.push(`${shown(store, tasksFile)}: rewritten from ${MATRIX_FILE}${aside ? `; the old file is kept as ${path.basename(aside)}` : ''}`);
  }
  const script = scriptProblem(d.dir, matrix);
  if (script) {
    // The script cannot be rebuilt as submitted: the damaged one is kept aside and the matrix no
    // longer claims a checksum (Slurm runs requeued tasks from its own copy).
    const aside = keepAside(path.join(d.dir, SCRIPT_FILE), now);
    const { scriptSha256: _lost, ...rest } = matrix;
    writeJsonFile(path.join(d.dir, MATRIX_FILE), rest);
    said.push(
      `${shown(store, path.join(d.dir, SCRIPT_FILE))}: ${script}; it cannot be rebuilt${aside ? `, the damaged script is kept as ${path.basename(aside)}` : ''}`,
    );
  }
  return said;
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
    const matrix: MatrixInfo = {
      id,
      jobId,
      createdAt: new Date().toISOString(),
      variantPath: records[0]?.spec.variantPath ?? label,
      runIds,
      options: opts.slurm,
    };
    writeAtomic(path.join(dir, 'matrix.json'), JSON.stringify(matrix, null, 2) + '\n');
    records.forEach((r, i) => {
      opts.store.setExecutor(r.id, { kind: 'slurm', matrixId: id, arrayTaskId: i, jobId });
      const runDir = opts.store.runDir(r.id);
      for (const [link, target] of [
        ['slurm-job.sh', 'job.sh'],
        ['slurm-output.txt', `task-${i}.out`],
      ]) {
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
