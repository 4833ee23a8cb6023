/**
 * "Regbench: Run Benchmark Matrix on Slurm…": the active variant on the chosen benchmarks x seeds,
 * as one job array submitted through src/runs/slurm (what `regbench submit --slurm` does). The
 * Slurm options default to the regbench.slurm.* settings. Without sbatch on PATH the command only
 * says so; every failure (controller unreachable, submission rejected) is one error line.
 */
import * as vscode from 'vscode';
import * as path from 'node:path';
import { BENCHMARKS, BUDGET_IDS, type BenchId, type BudgetId } from '../protocol/benchmarks';
import { trackBenchmarks } from '../protocol/benchmark-tracks';
import { defaultDistDir } from '../runs/runner';
import type { RunStore } from '../runs/run-store';
import type { SlurmOptions } from '../runs/slurm/batch-script';
import { submitMatrix, type MatrixInfo } from '../runs/slurm/matrix';
import { onPath } from '../runs/slurm/matrix-view';
import { checkTimeText, defaultSeedText, parseSeedList, slurmOptionsOf } from '../runs/slurm/submit-form';
import { resolveVariant, type Variant } from './active-variant';
import { readSettings, SECTION } from './settings';
import { ensureTrusted } from './trust';

export const RUN_MATRIX_ON_SLURM = 'regbench.runMatrixOnSlurm';

interface SlurmSettings {
  partition: string;
  timeLimit: string;
  cpusPerTask: number;
  gres: string;
  extraArgs: string[];
}

export function readSlurmSettings(): SlurmSettings {
  const c = vscode.workspace.getConfiguration(`${SECTION}.slurm`);
  const text = (k: string) => (typeof c.get(k) === 'string' ? (c.get<string>(k) as string) : '');
  const cpus = c.get<number>('cpusPerTask');
  const extra = c.get<unknown>('extraArgs');
  return {
    partition: text('partition'),
    timeLimit: text('timeLimit'),
    cpusPerTask: typeof cpus === 'number' ? cpus : 0,
    gres: text('gres'),
    extraArgs: Array.isArray(extra) ? extra.filter((a): a is string => typeof a === 'string') : [],
  };
}

interface MatrixForm {
  benches: BenchId[];
  seeds: number[];
  budget: BudgetId;
  slurm: SlurmOptions;
}

export class SlurmMatrixCommand implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  /** `submitted` tells the matrices view (it starts polling). */
  constructor(
    private readonly store: RunStore,
    private readonly submitted: (m: MatrixInfo) => void,
  ) {
    this.disposables.push(vscode.commands.registerCommand(RUN_MATRIX_ON_SLURM, (arg?: unknown) => this.run(arg)));
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private async run(arg: unknown): Promise<void> {
    if (!ensureTrusted('submit benchmarks to Slurm')) return;
    if (!onPath('sbatch')) {
      void vscode.window.showErrorMessage(
        'Regbench: sbatch is not on PATH, so there is no Slurm cluster to submit to (run VS Code on a login node, or install slurm-client). Local runs: "Regbench: Run Benchmark…".',
      );
      return;
    }
    const variant = await resolveVariant(arg);
    if (!variant) return;
    const form = await askForm(variant);
    if (!form) return;
    await this.submit(variant, form);
  }

  private async submit(variant: Variant, form: MatrixForm): Promise<void> {
    const s = readSettings();
    const workspace = path.dirname(this.store.root);
    // A GPU per task: Python tasks train on CUDA, as with `regbench submit --gres gpu:N`.
    const device = s.device ?? (form.slurm.gres?.startsWith('gpu') && variant.engine === 'pytorch' ? 'cuda' : undefined);
    const req = {
      variantPath: variant.path,
      benches: form.benches,
      seeds: form.seeds,
      budget: form.budget,
      engine: variant.engine,
      backend: s.backend,
      device,
      dataDir: s.dataDirectory,
    };
    // Compute nodes run the CLI bundle with the `node` on their PATH (not the editor's own binary).
    const opts = { store: this.store, workspace, slurm: form.slurm, node: 'node', cli: path.join(defaultDistDir(), 'cli.js') };
    const title = `Regbench: submitting ${form.benches.length * form.seeds.length} task(s) to Slurm`;
    try {
      const { matrix } = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () => submitMatrix(req, opts));
      this.submitted(matrix);
      void vscode.window.showInformationMessage(
        `Regbench: submitted job ${matrix.jobId}, ${matrix.runIds.length} task(s) of ${path.basename(variant.path)}; follow them in Slurm Matrices.`,
      );
    } catch (err) {
      void vscode.window.showErrorMessage(`Regbench: Slurm submission failed: ${(err as Error).message.split('\n')[0]}`);
    }
  }
}

async function askForm(variant: Variant): Promise<MatrixForm | undefined> {
  const settings = readSettings();
  const slurmSettings = readSlurmSettings();
  const benches = await pickBenches(variant);
  if (!benches?.length) return undefined;
  const seedsText = await vscode.window.showInputBox({
    title: 'Regbench: seeds (one task per benchmark and seed)',
    value: defaultSeedText(settings.defaultSeeds),
    validateInput: (t) => {
      const r = parseSeedList(t);
      return r.ok ? undefined : r.reason;
    },
  });
  if (seedsText === undefined) return undefined;
  const budget = await pickBudget(settings.defaultBudget);
  if (!budget) return undefined;
  const partition = await vscode.window.showInputBox({ title: 'Regbench: Slurm partition (empty: the cluster default)', value: slurmSettings.partition });
  if (partition === undefined) return undefined;
  const time = await vscode.window.showInputBox({
    title: 'Regbench: time limit per task (minutes or HH:MM:SS; empty: the partition default)',
    value: slurmSettings.timeLimit,
    validateInput: checkTimeText,
  });
  if (time === undefined) return undefined;
  const slurm = slurmOptionsOf({ partition, time, cpusPerTask: slurmSettings.cpusPerTask, gres: slurmSettings.gres, extraArgs: slurmSettings.extraArgs });
  const seeds = parseSeedList(seedsText);
  if (!slurm.ok || !seeds.ok) {
    void vscode.window.showErrorMessage(`Regbench: ${!slurm.ok ? slurm.reason : seeds.ok ? '' : seeds.reason}`);
    return undefined;
  }
  return { benches, seeds: seeds.value, budget, slurm: slurm.value };
}

async function pickBenches(variant: Variant): Promise<BenchId[] | undefined> {
  const track = trackBenchmarks(variant.kind);
  const items = BENCHMARKS.map((b) => ({
    label: b.title,
    description: track.includes(b.id) ? undefined : 'not in its track',
    picked: track.includes(b.id),
    bench: b.id,
  }));
  const picked = await vscode.window.showQuickPick(items, {
    title: `Regbench: run ${path.basename(variant.path)} on Slurm: which benchmarks?`,
    canPickMany: true,
  });
  return picked?.map((p) => p.bench);
}

async function pickBudget(preferred: BudgetId): Promise<BudgetId | undefined> {
  const order = [preferred, ...BUDGET_IDS.filter((b) => b !== preferred)];
  const picked = await vscode.window.showQuickPick(
    order.map((b) => ({ label: b, description: b === preferred ? 'regbench.defaultBudget' : undefined, budget: b })),
    { title: 'Regbench: budget' },
  );
  return picked?.budget;
}
