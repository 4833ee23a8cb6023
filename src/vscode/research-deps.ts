/**
 * What the lens and the dashboard need beyond the run index: the baseline templates' hashes (read
 * once, on first use), the held-out benchmarks the dashboard must not receive, and the
 * significance hook. The records are taken from the index once per change, so the leaderboard's
 * per-cell questions share one grouping. Construct it before the views that listen to the index,
 * so that its snapshot is dropped before they ask.
 */
import * as vscode from 'vscode';
import type { BenchId } from '../protocol/benchmarks';
import { hiddenBenchmarks, significanceOf } from '../present/dashboard-deps';
import type { SignificanceOf } from '../present/dashboard-model';
import type { RunIndex } from '../runs/run-index';
import type { RunRecord } from '../runs/run-record';
import { baselineHashes, type BaselineHashes } from '../analysis/run-groups';

export class ResearchDeps implements vscode.Disposable {
  private snapshot: RunRecord[] | undefined;
  private baselineCache: BaselineHashes | undefined;
  private readonly sub: { dispose(): void };
  readonly significance: SignificanceOf;

  constructor(
    private readonly index: RunIndex,
    private readonly templatesDir: string,
  ) {
    this.sub = index.onChange(() => (this.snapshot = undefined));
    this.significance = significanceOf(
      () => this.records(),
      () => this.baselines(),
    );
  }

  dispose(): void {
    this.sub.dispose();
  }

  records(): readonly RunRecord[] {
    this.snapshot ??= this.index.all();
    return this.snapshot;
  }

  baselines(): BaselineHashes {
    this.baselineCache ??= baselineHashes(this.templatesDir);
    return this.baselineCache;
  }

  heldOutBenchmarks(): ReadonlySet<BenchId> {
    return hiddenBenchmarks(this.records());
  }
}
