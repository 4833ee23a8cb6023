/**
 * Code lenses on a variant's entry points (computeRegularization / compute_regularization,
 * class CustomNorm): the variant's accuracy per benchmark of its track, then "Run…" and
 * "Compare…". provideCodeLenses only finds the lines (a regex, cheap while typing);
 * resolveCodeLens fills in the text from the run index. The lenses refresh when runs change.
 */
import * as vscode from 'vscode';
import { trackBenchmarks, type VariantKind } from '../protocol/benchmark-tracks';
import { COMMANDS } from '../protocol/command-ids';
import { accuracyLensText, latestVariantRuns } from '../present/lens-text';
import type { RunIndex } from '../runs/run-index';
import { findLensAnchors } from '../variants/variant-file';
import { lensTooltipText } from '../present/lens-tooltip';
import type { BaselineHashes } from '../analysis/run-groups';

type LensRole = 'accuracy' | 'run' | 'compare';

class VariantLens extends vscode.CodeLens {
  constructor(
    range: vscode.Range,
    readonly role: LensRole,
    readonly variantPath: string,
    readonly kind: VariantKind,
  ) {
    super(range);
  }
}

export const LENS_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', language: 'typescript' },
  { scheme: 'file', language: 'javascript' },
  { scheme: 'file', language: 'python' },
];

export class AccuracyLensProvider implements vscode.CodeLensProvider<VariantLens>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeCodeLenses = this.changed.event;
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  /** `baselines`: the baseline templates' hashes (differences and p-values against them). */
  constructor(
    private readonly index: RunIndex,
    private readonly baselines?: () => BaselineHashes,
  ) {
    const sub = index.onChange((c) => {
      if (c.event?.type === 'progress' || c.event?.type === 'log') return;
      this.timer ??= setTimeout(() => {
        this.timer = undefined;
        this.changed.fire();
      }, 300);
    });
    this.disposables.push(
      this.changed,
      vscode.languages.registerCodeLensProvider(LENS_SELECTOR, this),
      { dispose: () => sub.dispose() },
      { dispose: () => this.timer && clearTimeout(this.timer) },
    );
  }

  dispose(): void {
    this.disposables.forEach((d) => d.dispose());
  }

  provideCodeLenses(document: vscode.TextDocument): VariantLens[] {
    const file = document.uri.fsPath;
    const anchors = findLensAnchors(file, document.getText());
    if (!anchors.length) return [];
    const kind: VariantKind = { regularizer: anchors.some((a) => a.entry === 'regularizer'), norm: anchors.some((a) => a.entry === 'norm') };
    const lenses: VariantLens[] = [];
    for (const a of anchors) {
      const range = new vscode.Range(a.line, a.column, a.line, a.column + a.length);
      for (const role of ['accuracy', 'run', 'compare'] as const) lenses.push(new VariantLens(range, role, file, kind));
    }
    return lenses;
  }

  resolveCodeLens(lens: VariantLens): VariantLens {
    const arg = { variantPath: lens.variantPath };
    switch (lens.role) {
      case 'accuracy': {
        const records = this.index.all();
        const runIds = latestVariantRuns(records, lens.variantPath).map((r) => r.id);
        lens.command = {
          title: accuracyLensText(records, lens.variantPath, trackBenchmarks(lens.kind), this.baselines?.()),
          tooltip: lensTooltipText(records, lens.variantPath, trackBenchmarks(lens.kind), this.baselines?.() ?? new Map()),
          command: COMMANDS.openDashboard,
          arguments: [{ runIds }],
        };
        break;
      }
      case 'run':
        lens.command = { title: 'Run…', tooltip: 'Run this variant on a benchmark', command: COMMANDS.runBenchmark, arguments: [arg] };
        break;
      case 'compare':
        lens.command = { title: 'Compare…', tooltip: 'Compare a run of this variant with another run', command: COMMANDS.compareExperiments, arguments: [arg] };
        break;
    }
    return lens;
  }
}
