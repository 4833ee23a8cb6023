/**
 * "Regbench: Final Evaluation…": runs the active variant's exact source on its task's held-out
 * benchmark (TASK_KINDS) through the run service, one run per default seed, and marks the runs
 * final. While runs of the same source are going it says so and offers to wait; a second final
 * evaluation of the same source at the same budget asks first (modal), and both stay visible.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUDGET_IDS, TASK_KINDS, type BudgetId, type TaskKind } from '../protocol/benchmarks';
import { runFinalEvaluation, startedText, type FinalFlow } from '../analysis/final-evaluation';
import { activeRunsOf, markFinal } from '../analysis/held-out';
import type { RunIndex } from '../runs/run-index';
import { taskKindsOf } from '../analysis/run-groups';
import { variantHash } from '../runs/run-request';
import type { RunService } from '../runs/run-service';
import { resolveVariant, type Variant } from './active-variant';
import { readSettings } from './settings';
import { ensureTrusted } from './trust';

export const FINAL_EVALUATION = 'regbench.finalEvaluation';
const WAIT = 'Wait, Then Evaluate';
const AGAIN = 'Run Another Final Evaluation';

export class FinalEvaluationCommand implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly service: RunService,
    private readonly index: RunIndex,
  ) {
    this.disposables.push(vscode.commands.registerCommand(FINAL_EVALUATION, (arg?: unknown) => this.run(arg)));
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private async run(arg: unknown): Promise<void> {
    if (!ensureTrusted('run a final evaluation')) return;
    const variant = await resolveVariant(arg);
    if (!variant) return;
    const kinds = await pickKinds(variant);
    const budget = kinds && (await pickBudget());
    if (!kinds || !budget) return;
    const s = readSettings();
    const hash = variantHash(fs.readFileSync(variant.path, 'utf8'));
    const name = path.basename(variant.path);
    const seeds = Array.from({ length: s.defaultSeeds }, (_, i) => i);
    const flow: FinalFlow = {
      records: () => this.index.all(),
      waitForActive: async (text) => (await vscode.window.showWarningMessage(`Regbench: ${text}`, WAIT)) === WAIT && (await this.waitForIdle(hash)),
      confirmRepeat: async (text) => (await vscode.window.showWarningMessage(text, { modal: true }, AGAIN)) === AGAIN,
      startFinal: (bench, seed) => {
        const record = this.service.submit({
          variantPath: variant.path,
          bench,
          budget,
          seed,
          engine: variant.engine,
          backend: s.backend,
          device: s.device,
          dataDir: s.dataDirectory,
        });
        // Synchronously after submit: the worker's first event comes later, so the run is still queued.
        return markFinal(this.service.store, record.id);
      },
    };
    try {
      const { plan, queued } = await runFinalEvaluation(flow, { hash, name, kinds, budget, seeds });
      if (queued.length) void vscode.window.showInformationMessage(startedText(plan, name, queued.length));
    } catch (err) {
      void vscode.window.showErrorMessage(`Regbench: final evaluation of ${name}: ${(err as Error).message}`);
    }
  }

  /** Resolves true once no run of `hash` is queued or running; false when the user gives up. */
  private waitForIdle(hash: string): Thenable<boolean> {
    return vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: 'Regbench: waiting for the runs of this source to end before the final evaluation',
        cancellable: true,
      },
      (_p, token) =>
        new Promise<boolean>((resolve) => {
          const check = () => {
            if (token.isCancellationRequested) finish(false);
            else if (!activeRunsOf(this.index.all(), hash).length) finish(true);
          };
          const sub = this.index.onChange(check);
          const cancel = token.onCancellationRequested(check);
          const finish = (ok: boolean) => {
            sub.dispose();
            cancel.dispose();
            resolve(ok);
          };
          check();
        }),
    );
  }
}

async function pickKinds(variant: Variant): Promise<TaskKind[] | undefined> {
  const kinds = taskKindsOf(variant.kind);
  if (kinds.length < 2) return kinds;
  const picked = await vscode.window.showQuickPick(
    kinds.map((k) => ({ label: TASK_KINDS[k].title, description: `held out: ${TASK_KINDS[k].heldOut}`, kinds: [k] })),
    { title: `Regbench: ${path.basename(variant.path)} defines a regularizer and a norm: evaluate which?` },
  );
  return picked?.kinds;
}

async function pickBudget(): Promise<BudgetId | undefined> {
  const preferred = readSettings().defaultBudget;
  const order = [preferred, ...BUDGET_IDS.filter((b) => b !== preferred)];
  const picked = await vscode.window.showQuickPick(
    order.map((b) => ({ label: b, description: b === preferred ? 'regbench.defaultBudget' : undefined, budget: b })),
    { title: 'Regbench: final evaluation budget (a paper figure needs full)' },
  );
  return picked?.budget;
}
