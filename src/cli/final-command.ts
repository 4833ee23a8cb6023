/**
 * `regbench final <variant> [--budget b] [--seed N | --seeds L] [--kind reg|norm] [--yes] [--wait]`:
 * the final evaluation of the variant's exact source on its task's held-out benchmark. A second
 * final evaluation of the same source at the same budget needs --yes (both stay visible); while
 * runs of the same source are still queued or running it says so, or waits for them with --wait.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { BUDGET_IDS, getBenchmark, TASK_KINDS, type BackendId, type BenchId, type BudgetId, type TaskKind } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import { RunStore } from '../runs/run-store';
import { detectVariantKind, engineForFile, UsageError, variantHash } from '../runs/run-request';
import { activeRunsOf, priorFinals } from '../analysis/held-out';
import { taskKindsOf } from '../analysis/run-groups';
import { parseSeeds, prepareSeries, runSeries } from './run-series';

export const FINAL_USAGE =
  'regbench final <variant> [--budget smoke|quick|full] [--seed N | --seeds 0,1,2] [--kind reg|norm] [--yes] [--wait] [--backend B] [--device D] [--data-dir DIR] [--json]';

const WAIT_POLL_MS = 5000;

interface Target {
  variantPath: string;
  hash: string;
  bench: BenchId;
}

function resolveTarget(file: string, kindOption: string | undefined): Target {
  const variantPath = path.resolve(file);
  let source: string;
  try {
    source = fs.readFileSync(variantPath, 'utf8');
  } catch {
    throw new UsageError(`${file}: variant file not found`);
  }
  const kinds = taskKindsOf(detectVariantKind(source, engineForFile(variantPath)));
  if (!kinds.length) throw new UsageError(`${file}: defines neither a regularizer nor a CustomNorm`);
  const wanted: TaskKind | undefined =
    kindOption === undefined ? undefined : kindOption === 'reg' || kindOption === 'regularizer' ? 'regularizer' : kindOption === 'norm' ? 'norm' : undefined;
  if (kindOption !== undefined && !wanted) throw new UsageError(`--kind must be reg or norm, got '${kindOption}'`);
  if (wanted && !kinds.includes(wanted)) throw new UsageError(`${file} is not a ${TASK_KINDS[wanted].title.replace(/s$/, '')}`);
  if (!wanted && kinds.length > 1) throw new UsageError(`${file} defines a regularizer and a norm: say which task to evaluate with --kind reg|norm`);
  return { variantPath, hash: variantHash(source), bench: TASK_KINDS[wanted ?? kinds[0]].heldOut };
}

function describeRuns(runs: readonly RunRecord[]): string {
  return runs.map((r) => `${r.id} (${r.status}${r.bestTestAcc !== null ? `, best ${r.bestTestAcc.toFixed(2)}%` : ''})`).join(', ');
}

/** Resolves when no run of `hash` is queued or running (the store reconciles dead owners). */
async function waitForIdle(store: RunStore, hash: string): Promise<void> {
  for (;;) {
    const active = activeRunsOf(store.list(), hash);
    if (!active.length) return;
    await new Promise((r) => setTimeout(r, WAIT_POLL_MS));
  }
}

export async function runFinalCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      budget: { type: 'string', default: 'quick' },
      seed: { type: 'string' },
      seeds: { type: 'string' },
      kind: { type: 'string' },
      yes: { type: 'boolean', default: false },
      wait: { type: 'boolean', default: false },
      backend: { type: 'string' },
      device: { type: 'string' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      workspace: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError(`final needs exactly one variant file: ${FINAL_USAGE}`);
  if (!BUDGET_IDS.includes(values.budget as BudgetId)) throw new UsageError(`--budget must be one of ${BUDGET_IDS.join(', ')}`);
  if (values.backend !== undefined && !['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'].includes(values.backend))
    throw new UsageError('--backend must be one of tensorflow-gpu, tensorflow, wasm, cpu');
  const budget = values.budget as BudgetId;
  const target = resolveTarget(positionals[0], values.kind);
  const seeds = parseSeeds(values.seeds, values.seed);
  const store = RunStore.forWorkspace(path.resolve(values.workspace ?? process.env.REGBENCH_WORKSPACE ?? process.cwd()));
  const title = getBenchmark(target.bench).title;
  const active = activeRunsOf(store.list(), target.hash);
  if (active.length && !values.wait) {
    process.stderr.write(
      `regbench: runs of this source (${target.hash}) are still going: ${describeRuns(active)}. A final evaluation judges the finished variant: wait for them, or repeat with --wait.\n`,
    );
    return 2;
  }
  if (active.length) {
    process.stderr.write(`regbench: waiting for ${active.length} run(s) of this source to end: ${describeRuns(active)}\n`);
    await waitForIdle(store, target.hash);
  }
  const prior = priorFinals(store.list(), target.hash, target.bench, budget);
  if (prior.length && !values.yes) {
    process.stderr.write(
      `regbench: this source (${target.hash}) already has a final evaluation on ${title} at budget ${budget}: ${describeRuns(prior)}. Another one is shown beside it, never instead of it. Repeat with --yes to run it.\n`,
    );
    return 2;
  }
  const base = {
    variantPath: target.variantPath,
    bench: target.bench,
    budget,
    backend: values.backend as BackendId | undefined,
    device: values.device,
    dataDir: values['data-dir'] ?? process.env.REGBENCH_DATA,
  };
  const records = prepareSeries(base, seeds, store);
  return await runSeries(records, { store, json: values.json === true });
}
