/**
 * Where a run has got to, from the runner's events: the current epoch (1-based, the one being
 * trained), its step, the last test accuracy. Shared by the status bar and the progress
 * notification. No `vscode` import.
 */
import { getBenchmark } from '../protocol/benchmarks';
import type { RunEvent } from '../protocol/events';
import type { RunRecord } from './run-record';

export interface RunProgress {
  record: RunRecord;
  /** 0-based epoch being trained, and its step (1-based) of steps; undefined before the first. */
  epoch?: number;
  step?: number;
  steps?: number;
  imagesPerSec?: number;
}

export function advance(p: RunProgress, event: RunEvent, record: RunRecord): RunProgress {
  switch (event.type) {
    case 'progress':
      return { record, epoch: event.epoch, step: event.step, steps: event.steps, imagesPerSec: event.imagesPerSec };
    case 'epoch':
      // The next epoch starts now; after the last one this equals the total (fraction 1).
      return { ...p, record, epoch: event.epoch + 1, step: 0 };
    default:
      return { ...p, record };
  }
}

/** Fraction of the run done, 0..1, counting steps within the current epoch. */
export function fractionDone(p: RunProgress): number {
  const total = p.record.totalEpochs;
  if (!total) return 0;
  const epoch = p.epoch ?? p.record.epochsCompleted;
  const within = p.steps ? (p.step ?? 0) / p.steps : 0;
  return Math.min(1, (epoch + within) / total);
}

/** "ResNet-56/C100 · epoch 4/5 · test 45.2%" (the status bar's text without its icon). */
export function progressText(p: RunProgress): string {
  return `${getBenchmark(p.record.spec.bench).short} · ${epochText(p)}`;
}

/** "epoch 4/5 · test 45.2%": the epoch being trained and the last test accuracy. */
export function epochText(p: RunProgress): string {
  const r = p.record;
  if (p.epoch === undefined && r.epochsCompleted === 0) return 'starting';
  const current = Math.min(r.totalEpochs, (p.epoch ?? r.epochsCompleted) + 1);
  const acc = r.finalTestAcc === null ? '' : ` · test ${r.finalTestAcc.toFixed(1)}%`;
  return `epoch ${current}/${r.totalEpochs}${acc}`;
}

/** "step 40/78 · 812 img/s" for the notification's message. */
export function stepText(p: RunProgress): string {
  if (p.step === undefined || !p.steps) return '';
  const rate = p.imagesPerSec ? ` · ${Math.round(p.imagesPerSec)} img/s` : '';
  return `step ${p.step}/${p.steps}${rate}`;
}
