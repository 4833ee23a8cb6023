/**
 * The commands that start and stop runs: "Run Benchmark on <benchmark>" (one per benchmark),
 * "Run Benchmark…" (asks which), "Run All Benchmarks for This Variant", "Cancel Run" and
 * "Rerun". A request becomes one run per seed; the budget is asked (the configured default first)
 * unless the caller passes it, the seeds come from regbench.defaultSeeds unless passed.
 */
import * as vscode from 'vscode';
import { sameSettingsRequest } from '../runs/rerun';
import * as path from 'node:path';
import * as fs from 'node:fs';
import { BENCHMARKS, BUDGET_IDS, budgetSize, getBenchmark, type BenchId, type BudgetId } from '../protocol/benchmarks';
import { UsageError, variantHash, type RunRequest } from '../runs/run-request';
import type { RunRecord } from '../runs/run-record';
import { resolveVariant, type Variant } from './active-variant';
import { trackBenchmarks } from '../protocol/benchmark-tracks';
import { runIdsOf } from './command-args';
import { COMMANDS, runOnBenchCommand } from '../protocol/command-ids';
import type { RunIndex } from '../runs/run-index';
import type { RunService } from '../runs/run-service';
import { isResumable } from './experiments-tree';
import { RunLabels } from '../present/run-labels';
import { readSettings } from './settings';
import { ensureTrusted } from './trust';
import { ensureTorchBackend } from './torch-first-use';

/** What callers other than the palette may pass (code lenses, tests, other extensions). */
export interface RunCommandArgs {
  variantPath?: string;
  budget?: BudgetId;
  seeds?: number[];
}

export class RunCommands implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly service: RunService,
    private readonly index: RunIndex,
  ) {
    for (const bench of BENCHMARKS) {
      this.register(runOnBenchCommand(bench.id), (arg) => this.runOn(arg, [bench.id]));
    }
    this.register(COMMANDS.runBenchmark, (arg) => this.runOn(arg, 'ask'));
    this.register(COMMANDS.runAllBenchmarks, (arg) => this.runOn(arg, 'track'));
    this.register(COMMANDS.cancelRun, (arg, selection) => this.cancel(runIdsOf(arg, selection)));
    this.register(COMMANDS.rerunRun, (arg, selection) => this.rerun(runIdsOf(arg, selection)));
    this.register(COMMANDS.resumeRun, (arg, selection) => this.resume(runIdsOf(arg, selection)));
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
    this.disposables.length = 0;
  }

  private register(id: string, handler: (arg?: unknown, selection?: unknown) => unknown): void {
    this.disposables.push(vscode.commands.registerCommand(id, handler));
  }

  private async runOn(arg: unknown, which: BenchId[] | 'ask' | 'track'): Promise<RunRecord[]> {
    if (!ensureTrusted('run a benchmark')) return [];
    const variant = await resolveVariant(arg);
    if (!variant) return [];
    const args = (typeof arg === 'object' && arg !== null ? arg : {}) as RunCommandArgs;
    const benches = which === 'ask' ? await pickBenchmarks(variant) : which === 'track' ? trackBenchmarks(variant.kind) : which;
    if (!benches?.length) return [];
    const budget = args.budget ?? (await pickBudget(variant, benches));
    if (!budget) return [];
    const settings = readSettings();
    if (variant.engine === 'tfjs') await ensureTorchBackend(settings.backend, settings.pythonPath);
    const seeds = args.seeds ?? Array.from({ length: settings.defaultSeeds }, (_, i) => i);
    const requests: RunRequest[] = [];
    for (const bench of benches) {
      for (const seed of seeds) {
        requests.push({
          variantPath: variant.path,
          bench,
          budget,
          seed,
          backend: variant.engine === 'tfjs' ? settings.backend : undefined,
          device: variant.engine === 'pytorch' ? settings.device : undefined,
          dataDir: settings.dataDirectory,
        });
      }
    }
    return this.submitAll(requests);
  }

  private submitAll(requests: RunRequest[]): RunRecord[] {
    const busyBefore = this.service.activeRuns().length > 0;
    const submitted: RunRecord[] = [];
    for (const req of requests) {
      try {
        submitted.push(this.service.submit(req));
      } catch (err) {
        const message = err instanceof UsageError ? err.message : `could not create the run: ${(err as Error).message}`;
        void vscode.window.showErrorMessage(`Regbench: ${message}`);
        break;
      }
    }
    // A single run that starts at once announces itself with its progress notification.
    if (submitted.length > 1 || (submitted.length === 1 && busyBefore)) {
      void vscode.window.showInformationMessage(
        `Regbench: queued ${submitted.length} run${submitted.length === 1 ? '' : 's'} (${describeRequests(requests.slice(0, submitted.length))}).`,
      );
    }
    return submitted;
  }

  /** Continues stopped runs from their last checkpoint, queued like new runs; asks which when none is given. */
  private async resume(ids: string[]): Promise<void> {
    if (!ensureTrusted('resume a run')) return;
    const labels = RunLabels.of(this.index);
    let targets = ids;
    if (!targets.length) {
      const stopped = this.index
        .all()
        .filter((r) => isResumable(r, this.index.store.runDir(r.id)) && !this.service.owns(r.id))
        .reverse();
      if (!stopped.length) {
        void vscode.window.showInformationMessage('Regbench: no run is interrupted or left a checkpoint to resume from.');
        return;
      }
      const picked = await vscode.window.showQuickPick(
        stopped.map((r) => ({ label: labels.label(r), description: `${r.status} · epoch ${r.epochsCompleted}/${r.totalEpochs}`, runId: r.id })),
        { title: 'Regbench: resume which runs?', canPickMany: true },
      );
      if (!picked?.length) return;
      targets = picked.map((p) => p.runId);
    }
    for (const id of targets) {
      try {
        this.service.resume(id);
      } catch (err) {
        void vscode.window.showErrorMessage(`Regbench: ${(err as Error).message}`);
      }
    }
  }

  private async cancel(ids: string[]): Promise<void> {
    let targets = ids;
    if (!targets.length) {
      const active = this.service.activeRuns();
      if (!active.length) {
        void vscode.window.showInformationMessage('Regbench: no run is running or queued in this window.');
        return;
      }
      if (active.length === 1) {
        targets = [active[0].id];
      } else {
        const picked = await vscode.window.showQuickPick(
          active.map((r) => ({ label: RunLabels.of(this.index).label(r), description: r.status, runId: r.id, picked: r.status === 'running' })),
          { title: 'Regbench: cancel which runs?', canPickMany: true },
        );
        if (!picked?.length) return;
        targets = picked.map((p) => p.runId);
      }
    }
    for (const id of targets) {
      const outcome = this.service.cancel(id);
      if (outcome === 'unknown') {
        const r = this.index.get(id);
        if (r && (r.status === 'running' || r.status === 'queued')) {
          void vscode.window.showWarningMessage(
            `Regbench: ${r.name} was started by another process${r.ownerPid ? ` (pid ${r.ownerPid})` : ''}; stop it there (Ctrl+C in its terminal).`,
          );
        }
      }
    }
  }

  /** Runs the same benchmark, budget and seed again on the variant file as it is now. */
  private async rerun(ids: string[]): Promise<void> {
    if (!ensureTrusted('rerun a benchmark')) return;
    const records = ids.map((id) => this.index.get(id)).filter((r): r is RunRecord => r !== undefined);
    if (!records.length) {
      void vscode.window.showInformationMessage('Regbench: choose a run to rerun in the Experiments view.');
      return;
    }
    const requests: RunRequest[] = [];
    for (const r of records) {
      if (!(await this.variantReady(r))) continue;
      requests.push(sameSettingsRequest(r.spec));
    }
    this.submitAll(requests);
  }

  /** The variant file must still exist; when it changed since the run, the user decides. */
  private async variantReady(r: RunRecord): Promise<boolean> {
    const file = r.spec.variantPath;
    let source: string;
    try {
      source = fs.readFileSync(file, 'utf8');
    } catch {
      const restore = 'Restore from Snapshot';
      const choice = await vscode.window.showErrorMessage(`Regbench: ${file} no longer exists, so ${r.name} cannot be rerun.`, restore);
      if (choice !== restore) return false;
      const snapshot = this.service.store.variantSource(r.id);
      if (snapshot === undefined) return false;
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, snapshot, { flag: 'wx' });
      return true;
    }
    if (variantHash(source) === r.spec.variantHash) return true;
    const rerun = 'Rerun with Current Source';
    const choice = await vscode.window.showWarningMessage(
      `${path.basename(file)} has changed since ${r.name}. A rerun uses the file as it is now; the run's own source stays in its snapshot.`,
      { modal: true },
      rerun,
    );
    return choice === rerun;
  }
}

async function pickBenchmarks(variant: Variant): Promise<BenchId[] | undefined> {
  const track = trackBenchmarks(variant.kind);
  type Item = vscode.QuickPickItem & { benches: BenchId[] };
  const items: Item[] = [
    { label: 'All benchmarks of its track', description: track.map((b) => getBenchmark(b).short).join(', '), benches: track },
    ...BENCHMARKS.map((b) => ({
      label: b.title,
      description: track.includes(b.id) ? undefined : 'not in its track (quick check)',
      benches: [b.id],
    })),
  ];
  const picked = await vscode.window.showQuickPick(items, { title: `Regbench: run ${path.basename(variant.path)} on which benchmark?` });
  return picked?.benches;
}

async function pickBudget(variant: Variant, benches: BenchId[]): Promise<BudgetId | undefined> {
  const settings = readSettings();
  const ordered = [settings.defaultBudget, ...BUDGET_IDS.filter((b) => b !== settings.defaultBudget)];
  const seeds = settings.defaultSeeds === 1 ? 'seed 0' : `seeds 0..${settings.defaultSeeds - 1}`;
  const picked = await vscode.window.showQuickPick(
    ordered.map((budget) => ({
      label: budget,
      description: budget === settings.defaultBudget ? 'default (regbench.defaultBudget)' : undefined,
      detail: budgetDetail(budget, benches),
      budget,
    })),
    { title: `Regbench: budget for ${path.basename(variant.path)} (${seeds}; regbench.defaultSeeds)` },
  );
  return picked?.budget;
}

/** "5 epochs · 10,000 train / 2,000 test images", per benchmark when they differ. */
export function budgetDetail(budget: BudgetId, benches: readonly BenchId[]): string {
  const describe = (bench: BenchId) => {
    const s = budgetSize(budget, bench);
    const count = (n: number | null) => (n === null ? 'all' : n.toLocaleString('en-US'));
    return `${s.epochs} epoch${s.epochs === 1 ? '' : 's'} · ${count(s.trainSubset)} train / ${count(s.testSubset)} test images`;
  };
  const texts = new Map<string, BenchId[]>();
  for (const b of benches) texts.set(describe(b), [...(texts.get(describe(b)) ?? []), b]);
  if (texts.size === 1) return [...texts.keys()][0];
  return [...texts.entries()].map(([text, bs]) => `${bs.map((b) => getBenchmark(b).short).join(', ')}: ${text}`).join('; ');
}

function describeRequests(requests: RunRequest[]): string {
  const benches = [...new Set(requests.map((r) => getBenchmark(r.bench).short))];
  const seeds = [...new Set(requests.map((r) => r.seed ?? 0))];
  return `${benches.join(', ')}; ${requests[0]?.budget ?? ''} budget; seed${seeds.length === 1 ? '' : 's'} ${seeds.join(', ')}`;
}
