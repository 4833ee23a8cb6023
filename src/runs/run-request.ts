/**
 * From what a user asks for (a variant file, a benchmark, a budget, overrides) to the RunSpec a
 * worker runs. Shared by the CLI and the extension so both resolve budgets the same way.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { budgetSize, getBenchmark, isBenchId, RECIPE, type BackendId, type BenchId, type BudgetId, type EngineId, type RunSpec } from '../protocol/benchmarks';

export interface RunRequest {
  variantPath: string;
  bench: BenchId;
  budget: BudgetId;
  epochs?: number;
  trainSubset?: number;
  testSubset?: number;
  seed?: number;
  backend?: BackendId;
  device?: string;
  dataDir?: string;
  /** Default: by file extension (.py -> pytorch, .ts/.js -> tfjs). */
  engine?: EngineId;
  /** Step watchdog limit in seconds (0: off; undefined: the default policy). */
  stepTimeoutSeconds?: number;
}

export class UsageError extends Error {}

export function engineForFile(file: string): EngineId {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.py') return 'pytorch';
  if (['.ts', '.js', '.mjs', '.cjs', '.mts', '.cts'].includes(ext)) return 'tfjs';
  throw new UsageError(`${file}: a variant must be a .ts, .js or .py file`);
}

/** What a variant source provides, by its exported names (before it is compiled). */
export function detectVariantKind(source: string, engine: EngineId): { regularizer: boolean; norm: boolean } {
  if (engine === 'pytorch') {
    return {
      regularizer: /^def\s+compute_regularization\s*\(/m.test(source),
      norm: /^class\s+CustomNorm\b/m.test(source),
    };
  }
  return {
    regularizer:
      /export\s+(async\s+)?(function\s+computeRegularization\b|(const|let)\s+computeRegularization\b)|export\s*\{[^}]*\bcomputeRegularization\b/.test(source),
    norm: /export\s+(class\s+CustomNorm\b|(const|let)\s+CustomNorm\b)|export\s*\{[^}]*\bCustomNorm\b/.test(source),
  };
}

export function variantHash(source: string): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 16);
}

/** Reads the variant and resolves the budget; throws UsageError with a message naming what to fix. */
export function resolveRunSpec(req: RunRequest, runId: string, runDir: string): { spec: RunSpec; source: string } {
  if (!isBenchId(req.bench)) throw new UsageError(`unknown benchmark '${String(req.bench)}'`);
  const variantPath = path.resolve(req.variantPath);
  let source: string;
  try {
    source = fs.readFileSync(variantPath, 'utf8');
  } catch {
    throw new UsageError(`${req.variantPath}: variant file not found`);
  }
  const engine = req.engine ?? engineForFile(variantPath);
  const kind = detectVariantKind(source, engine);
  if (!kind.regularizer && !kind.norm) {
    const names =
      engine === 'pytorch'
        ? '`def compute_regularization(...)` or `class CustomNorm(nn.Module)`'
        : '`export function computeRegularization(...)` or `export class CustomNorm`';
    throw new UsageError(`${req.variantPath}: defines neither of the variant's entry points; it must define ${names}`);
  }
  const bench = getBenchmark(req.bench);
  const size = budgetSize(req.budget, req.bench);
  const positive = (name: string, v: number | undefined) => {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw new UsageError(`${name} must be a positive integer, got ${v}`);
  };
  positive('--epochs', req.epochs);
  positive('--train-subset', req.trainSubset);
  positive('--test-subset', req.testSubset);
  if (req.seed !== undefined && (!Number.isInteger(req.seed) || req.seed < 0)) throw new UsageError(`--seed must be a non-negative integer, got ${req.seed}`);
  const spec: RunSpec = {
    runId,
    bench: bench.id,
    arch: bench.arch,
    dataset: bench.dataset,
    numClasses: bench.numClasses,
    budget: req.budget,
    epochs: req.epochs ?? size.epochs,
    trainSubset: req.trainSubset ?? size.trainSubset,
    testSubset: req.testSubset ?? size.testSubset,
    seed: req.seed ?? 0,
    recipe: { ...RECIPE },
    engine,
    backend: req.backend,
    device: req.device,
    dataDir: req.dataDir ? path.resolve(req.dataDir) : undefined,
    variantPath,
    variantHash: variantHash(source),
    variantKind: kind,
    runDir,
    stepTimeoutSeconds: req.stepTimeoutSeconds,
  };
  return { spec, source };
}
