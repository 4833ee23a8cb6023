/**
 * The training loss inside an epoch, for the dashboard's train-loss chart: one point per
 * `progress` event at the fractional epoch x = epoch + step / steps (0-based epoch, so the end of
 * the first epoch is x = 1, where its `epoch` event's point sits), y = the epoch's running mean
 * loss so far. A one-epoch (smoke) run is then a curve, not one dot. Kept to at most
 * STEP_LOSS_LIMIT points per run (evenly thinned, first and last kept). Pure: the host builds
 * snapshots with it and the page thins its live points with the same function.
 */
import type { RunEvent } from '../protocol/events';
import { STEP_LOSS_LIMIT, type StepLoss } from '../protocol/webview';

export { STEP_LOSS_LIMIT };

/** x of a progress event: 0-based epoch plus the fraction of its steps done. */
export function stepX(e: { epoch: number; step: number; steps: number }): number {
  return e.epoch + (e.steps > 0 ? Math.min(1, e.step / e.steps) : 1);
}

/** Keeps at most `limit` points, evenly spaced by index, always the first and the last. */
export function thinPoints(loss: StepLoss, limit = STEP_LOSS_LIMIT): StepLoss {
  const n = loss.x.length;
  if (n <= limit) return loss;
  if (limit < 2) return { x: loss.x.slice(-limit), loss: loss.loss.slice(-limit) };
  const x: number[] = [];
  const y: number[] = [];
  for (let i = 0; i < limit; i++) {
    const at = Math.round((i * (n - 1)) / (limit - 1));
    x.push(loss.x[at]);
    y.push(loss.loss[at]);
  }
  return { x, loss: y };
}

/**
 * Merges new points into a run's (sorted by x; a point at an x already held replaces it, as a
 * resumed segment repeats steps), then thins to `limit`. Non-finite losses are dropped.
 */
export function mergeStepLoss(held: StepLoss, added: StepLoss, limit = STEP_LOSS_LIMIT): StepLoss {
  const byX = new Map<number, number>();
  held.x.forEach((x, i) => byX.set(x, held.loss[i]));
  added.x.forEach((x, i) => {
    if (Number.isFinite(added.loss[i]) && Number.isFinite(x)) byX.set(x, added.loss[i]);
  });
  const xs = [...byX.keys()].sort((a, b) => a - b);
  return thinPoints({ x: xs, loss: xs.map((x) => byX.get(x) as number) }, limit);
}

/** The points of a run's progress events (in any order; repeats of a resumed segment collapse). */
export function stepLossOf(events: readonly RunEvent[], limit = STEP_LOSS_LIMIT): StepLoss {
  const x: number[] = [];
  const loss: number[] = [];
  for (const e of events) {
    if (e.type !== 'progress') continue;
    x.push(stepX(e));
    loss.push(e.loss);
  }
  return mergeStepLoss({ x: [], loss: [] }, { x, loss }, limit);
}

export const NO_STEP_LOSS: StepLoss = Object.freeze({ x: [], loss: [] }) as StepLoss;
