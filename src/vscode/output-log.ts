/**
 * The 'Regbench' log output channel: every worker's stderr, tagged with its run, and one line per
 * run lifecycle step (queued, started, ended, error), so a failure can be read after the fact.
 */
import * as vscode from 'vscode';
import { getBenchmark } from '../protocol/benchmarks';
import type { RunRecord } from '../runs/run-record';
import type { RunServiceEvent } from '../runs/run-service';

export class RunOutputLog implements vscode.Disposable {
  readonly channel: vscode.LogOutputChannel;

  constructor() {
    this.channel = vscode.window.createOutputChannel('Regbench', { log: true });
  }

  dispose(): void {
    this.channel.dispose();
  }

  stderr(run: RunRecord, line: string): void {
    this.channel.info(`[${tag(run)}] ${line}`);
  }

  onServiceEvent(e: RunServiceEvent): void {
    const r = e.record;
    switch (e.type) {
      case 'queued':
        this.channel.info(`[${tag(r)}] queued ${r.name} (run ${r.id}, ${r.spec.budget} budget, ${r.spec.engine})`);
        break;
      case 'started':
        this.channel.info(`[${tag(r)}] started`);
        break;
      case 'event':
        if (e.event.type === 'error') {
          this.channel.error(
            `[${tag(r)}] ${e.event.kind} error: ${e.event.message}${e.event.file ? ` (${e.event.file}${e.event.line ? `:${e.event.line}` : ''})` : ''}`,
          );
          if (e.event.detail) this.channel.error(e.event.detail);
        }
        break;
      case 'ended': {
        const best = r.bestTestAcc === null ? '' : `, best test accuracy ${r.bestTestAcc.toFixed(2)}%`;
        const line = `[${tag(r)}] ${r.status}${r.reason ? `: ${r.reason}` : ''}${best}`;
        if (r.status === 'completed' || r.status === 'cancelled') this.channel.info(line);
        else this.channel.warn(line);
        break;
      }
    }
  }
}

function tag(r: RunRecord): string {
  return `${getBenchmark(r.spec.bench).short} seed ${r.spec.seed} ${r.id.slice(-4)}`;
}
