/**
 * The "Sweep…" code lens on each top-level constant of a variant file (where it sits:
 * src/present/sweep-lens-text.ts) and its command: asks for the values ("0.03,0.1,0.3", checked
 * by the sweep module with one line naming the constant and its type), then offers "Run sweep"
 * (one derived variant per value, each run on the chosen benchmarks and budget, named by its
 * value) or "Race against baseline" ("Race Variants…" with the sweep as the candidates). Thin.
 */
import * as vscode from 'vscode';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BUDGET_IDS, getBenchmark, type BenchId, type BudgetId } from '../protocol/benchmarks';
import { sweepLenses } from '../present/sweep-lens-text';
import type { RunService } from '../runs/run-service';
import { findTopLevelConsts } from '../variants/sweep';
import { deriveSweep } from '../variants/sweep-store';
import { checkVariant } from '../variants/variant-file';
import { engineForFile } from '../runs/run-request';
import { askSweepValues, RACE_VARIANTS_COMMAND, type RaceCommandArgs } from './race-command';
import { devBenchmarks, sweepCandidate, taskKinds } from '../races/race-form';
import { readSettings } from './settings';
import { ensureTrusted } from './trust';

export const SWEEP_CONSTANT_COMMAND = 'regbench.sweepConstant';

const SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', language: 'typescript' },
  { scheme: 'file', language: 'javascript' },
  { scheme: 'file', language: 'python' },
];

class SweepLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    return sweepLenses(document.uri.fsPath, document.getText()).map(({ constant: c, title }) => {
      const range = new vscode.Range(c.line, c.valueStart, c.line, c.valueEnd);
      return new vscode.CodeLens(range, {
        title,
        command: SWEEP_CONSTANT_COMMAND,
        arguments: [document.uri.fsPath, c.name],
        tooltip: `Run or race ${c.name} over several values`,
      });
    });
  }
}

export class SweepLens implements vscode.Disposable {
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly service: RunService) {
    this.disposables.push(
      vscode.languages.registerCodeLensProvider(SELECTOR, new SweepLensProvider()),
      vscode.commands.registerCommand(SWEEP_CONSTANT_COMMAND, (file?: unknown, name?: unknown) => this.sweep(file, name)),
    );
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  private async sweep(fileArg: unknown, nameArg: unknown): Promise<void> {
    if (!ensureTrusted('run a sweep')) return;
    const file = typeof fileArg === 'string' ? fileArg : vscode.window.activeTextEditor?.document.uri.fsPath;
    if (!file) return;
    // The runs read the file: an unsaved edit of the constant would be lost otherwise.
    await vscode.workspace.textDocuments.find((d) => d.uri.fsPath === file && d.isDirty)?.save();
    const source = fs.readFileSync(file, 'utf8');
    const check = checkVariant(file, source);
    const c = findTopLevelConsts(source, engineForFile(file)).find((x) => x.name === nameArg);
    if (!check.ok || !c) {
      void vscode.window.showErrorMessage(
        `Regbench: ${path.basename(file)}: ${check.ok ? `no top-level constant '${String(nameArg)}' with a number, string or boolean value` : check.reason}.`,
      );
      return;
    }
    const values = await askSweepValues(c, file);
    if (!values) return;
    const kinds = taskKinds(check.kind);
    const action = await vscode.window.showQuickPick(
      [
        { label: 'Run sweep', detail: `${values.length} variants (${c.name} = ${values.join(', ')}), each on the benchmarks you choose` },
        { label: 'Race against baseline', detail: 'Race Variants… with these as the candidates: rung by rung, the clearly worse are dropped' },
      ],
      { title: `Sweep ${c.name} over ${values.join(', ')}` },
    );
    if (action?.label === 'Race against baseline') {
      const args: RaceCommandArgs = { candidates: [sweepCandidate(file, c.name, values)], kinds };
      await vscode.commands.executeCommand(RACE_VARIANTS_COMMAND, args);
    } else if (action) {
      await this.runSweep(file, c.name, values, devBenchmarks(kinds));
    }
  }

  /** One derived variant per value (in .regbench/sweeps/), queued like "Run Benchmark" runs. */
  private async runSweep(file: string, name: string, values: string[], benches: BenchId[]): Promise<void> {
    const picked = await vscode.window.showQuickPick(
      benches.map((id) => ({ label: getBenchmark(id).title, description: id, id, picked: id === 'resnet20-cifar10' })),
      { title: 'Run sweep: benchmarks (held-out benchmarks are not offered)', canPickMany: true },
    );
    if (!picked?.length) return;
    const settings = readSettings();
    const budget = await vscode.window.showQuickPick([settings.defaultBudget, ...BUDGET_IDS.filter((b) => b !== settings.defaultBudget)], {
      title: 'Run sweep: budget',
    });
    if (!budget) return;
    let variants;
    try {
      variants = deriveSweep(file, [{ name, values }], this.service.store.root);
    } catch (err) {
      void vscode.window.showErrorMessage(`Regbench: ${(err as Error).message}`);
      return;
    }
    const seeds = Array.from({ length: settings.defaultSeeds }, (_, i) => i);
    let queued = 0;
    for (const v of variants) {
      for (const { id: bench } of picked) {
        for (const seed of seeds) {
          try {
            const record = this.service.submit({ variantPath: v.path, bench, budget: budget as BudgetId, seed, dataDir: settings.dataDirectory });
            // Named by the value it sweeps, as `regbench sweep` names them.
            this.service.store.update(record.id, (r) => ({ ...r, displayName: v.label }));
            queued++;
          } catch (err) {
            void vscode.window.showErrorMessage(`Regbench: ${(err as Error).message}`);
            return;
          }
        }
      }
    }
    void vscode.window.showInformationMessage(`Regbench: queued ${queued} run${queued === 1 ? '' : 's'} of the sweep ${name} = ${values.join(', ')}.`);
  }
}
