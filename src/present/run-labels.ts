/**
 * The labels every editor surface shows for a run (tree, pickers, notifications, diff titles),
 * from the run index: edit numbers need all runs of a file, so they are computed once per change
 * of the index. The labels themselves come from src/present/run-label-editor.ts.
 */
import type { RunIndex } from '../runs/run-index';
import type { RunRecord } from '../runs/run-record';
import { editNumbers } from './run-label';
import { compactDiff, previousRunOfFile, recordLabel, runTreeLabel } from './run-label-editor';

/** One RunLabels per index, so every surface shares its cache. */
const perIndex = new WeakMap<RunIndex, RunLabels>();

export class RunLabels {
  static of(index: RunIndex): RunLabels {
    let labels = perIndex.get(index);
    if (!labels) perIndex.set(index, (labels = new RunLabels(index)));
    return labels;
  }

  private edits: Map<string, number> | undefined;
  private readonly subscription: { dispose(): void };

  constructor(private readonly index: RunIndex) {
    this.subscription = index.onChange((c) => {
      if (c.event?.type !== 'progress' && c.event?.type !== 'log') this.edits = undefined;
    });
  }

  dispose(): void {
    this.subscription.dispose();
    perIndex.delete(this.index);
  }

  /** "my-reg edit 2 · ResNet-20/C10 · seed 0 · 71.3%" (or the name the user gave the run). */
  label(r: RunRecord): string {
    return recordLabel(r, this.editOf(r));
  }

  /** Under variant → benchmark in the tree: "edit 2 (#ab12cd3) · seed 0". */
  treeLabel(r: RunRecord): string {
    return runTreeLabel(r, this.editOf(r));
  }

  /**
   * The lines that changed against the previous run of the same file, as a unified diff, and that
   * run's label; undefined for a file's first run or when a snapshot cannot be read.
   */
  changesSincePrevious(r: RunRecord): { previous: string; lines: string[] } | undefined {
    const previous = previousRunOfFile(this.index.all(), r);
    if (!previous) return undefined;
    const before = this.index.store.variantSource(previous.id);
    const after = this.index.store.variantSource(r.id);
    if (before === undefined || after === undefined) return undefined;
    return { previous: this.label(previous), lines: compactDiff(before, after) };
  }

  private editOf(r: RunRecord): number | undefined {
    this.edits ??= editNumbers(this.index.all());
    return this.edits.get(r.id);
  }
}
