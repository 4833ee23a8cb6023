/**
 * What a run records so that someone else can repeat it: the git state of the variant's
 * repository (commit, dirty, a hash of the uncommitted diff), Regbench's version, the CPU model,
 * the Slurm job, and the exact command that repeats it. The runner adds these to the worker's
 * `run-start` environment; the engines add their own versions, backend and threads.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import type { RunSpec } from '../protocol/benchmarks';
import type { RunEnvironment } from '../protocol/events';
import { budgetSize } from '../protocol/benchmarks';
import { version as REGBENCH_VERSION } from '../../package.json';

export { REGBENCH_VERSION };

export function provenance(spec: RunSpec, env: NodeJS.ProcessEnv = process.env): Partial<RunEnvironment> {
  const out: Partial<RunEnvironment> = {
    regbenchVersion: REGBENCH_VERSION,
    cpuModel: os.cpus()[0]?.model?.trim(),
    command: reproduceCommand(spec),
    ...gitState(path.dirname(spec.variantPath)),
  };
  if (env.SLURM_JOB_ID) out.slurm = { jobId: env.SLURM_JOB_ID, arrayJobId: env.SLURM_ARRAY_JOB_ID, arrayTaskId: env.SLURM_ARRAY_TASK_ID };
  return out;
}

/** `regbench run <variant> --bench ... --seed ...` with every setting that differs from the budget's. */
export function reproduceCommand(spec: RunSpec): string {
  const size = budgetSize(spec.budget, spec.bench);
  const args = ['regbench', 'run', spec.variantPath, '--bench', spec.bench, '--budget', spec.budget, '--seed', String(spec.seed)];
  if (spec.epochs !== size.epochs) args.push('--epochs', String(spec.epochs));
  if (spec.trainSubset !== size.trainSubset && spec.trainSubset !== null) args.push('--train-subset', String(spec.trainSubset));
  if (spec.testSubset !== size.testSubset && spec.testSubset !== null) args.push('--test-subset', String(spec.testSubset));
  if (spec.backend) args.push('--backend', spec.backend);
  if (spec.device) args.push('--device', spec.device);
  if (spec.dataDir) args.push('--data-dir', spec.dataDir);
  if (spec.stepTimeoutSeconds !== undefined) args.push('--step-timeout', String(spec.stepTimeoutSeconds));
  return args.map(shellQuote).join(' ');
}

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

/** HEAD (+dirty) and a hash of the uncommitted diff, or nothing outside a git repository. */
export function gitState(dir: string): Pick<RunEnvironment, 'gitCommit' | 'gitDiffSha256'> {
  const git = (args: string[]) => spawnSync('git', args, { cwd: dir, encoding: 'utf8', timeout: 5000, maxBuffer: 64 * 1024 * 1024 });
  const head = git(['rev-parse', 'HEAD']);
  if (head.status !== 0) return {};
  const diff = git(['diff', 'HEAD']);
  const dirty = diff.status === 0 && diff.stdout.trim() !== '';
  return {
    gitCommit: head.stdout.trim() + (dirty ? '+dirty' : ''),
    gitDiffSha256: dirty ? createHash('sha256').update(diff.stdout).digest('hex').slice(0, 16) : undefined,
  };
}
