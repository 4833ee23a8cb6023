/**
 * Prints one run on the terminal as it goes: a progress line on stderr, one line per epoch on
 * stdout (or every event as JSON with --json); Ctrl-C cancels it. Exit code 0 when it completed.
 */
import { formatEventLine, type RunEvent } from '../protocol/events';
import type { RunRecord } from '../runs/run-record';
import type { RunHandle } from '../runs/runner';
import { ProgressLine } from './output';

/** Prints one run's events as they come and turns Ctrl-C into a cancel. */
export class RunFollower {
  private readonly progress: ProgressLine | undefined;

  constructor(private readonly json: boolean) {
    this.progress = !json && process.stderr.isTTY ? new ProgressLine(process.stderr) : undefined;
  }

  stderr(line: string): void {
    if (this.json && !process.env.REGBENCH_DEBUG) return;
    this.progress?.clear();
    process.stderr.write(`${line}\n`);
  }

  async follow(handle: RunHandle): Promise<number> {
    const onSignal = () => {
      this.progress?.clear();
      process.stderr.write('regbench: cancelling...\n');
      void handle.cancel();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    handle.onEvent((e, r) => this.print(e, r));
    const record = await handle.done;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    this.progress?.clear();
    return this.summarize(record);
  }

  private print(e: RunEvent, r: RunRecord): void {
    if (this.json) {
      process.stdout.write(formatEventLine(e) + '\n');
      return;
    }
    if (e.type === 'run-start') {
      const from = e.resumedFrom ? `, resumed at epoch ${e.resumedFrom.epoch + 1}${e.resumedFrom.step ? ` step ${e.resumedFrom.step}` : ''}` : '';
      process.stdout.write(
        `run ${r.id}: ${r.name}${r.final ? ' (final evaluation)' : ''}\n  ${e.spec.epochs} epoch(s), ${e.trainImages} training / ${e.testImages} test images, backend ${e.env.backend}${from}\n`,
      );
    } else if (e.type === 'progress') {
      this.progress?.update(e);
    } else if (e.type === 'epoch') {
      this.progress?.clear();
      process.stdout.write(
        `  epoch ${e.epoch + 1}/${e.totalEpochs}  loss ${e.trainLoss.toFixed(4)}  train ${e.trainAcc.toFixed(2)}%  test ${e.testAcc.toFixed(2)}%  best ${e.bestTestAcc.toFixed(2)}%  lr ${e.lr.toFixed(4)}  ${e.seconds.toFixed(1)}s\n`,
      );
    } else if (e.type === 'log' && e.level !== 'debug') {
      this.progress?.clear();
      process.stderr.write(`  ${e.message}\n`);
    }
  }

  private summarize(record: RunRecord): number {
    if (record.status === 'completed') {
      if (!this.json)
        process.stdout.write(
          `completed: best test accuracy ${record.bestTestAcc?.toFixed(2)}%, final ${record.finalTestAcc?.toFixed(2)}% (run ${record.id})\n`,
        );
      return 0;
    }
    const why = record.error?.message ?? record.reason ?? record.status;
    process.stderr.write(`regbench: run ${record.status}: ${why}\n`);
    return 1;
  }
}
