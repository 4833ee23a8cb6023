/**
 * What a run's last checkpoint says about itself, read from `<runDir>/checkpoint/last.json`
 * (written by either engine after the checkpoint's data file is complete). The engines validate
 * and load checkpoints; this side only needs to know whether one exists and where it continues.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export const CHECKPOINT_DIR = 'checkpoint';
export const CHECKPOINT_META = 'last.json';

export interface CheckpointInfo {
  engine: string;
  /** 0-based epoch a resume continues in, and the steps of it already done. */
  epoch: number;
  step: number;
  /** The data file, relative to the checkpoint folder. */
  file: string;
  bytes: number;
  weightsSha256?: string;
  time?: string;
}

export function checkpointMetaPath(runDir: string): string {
  return path.join(runDir, CHECKPOINT_DIR, CHECKPOINT_META);
}

/** The last checkpoint's description, or undefined when the run has none (or it is unreadable). */
export function readCheckpointInfo(runDir: string): CheckpointInfo | undefined {
  let meta: unknown;
  try {
    meta = JSON.parse(fs.readFileSync(checkpointMetaPath(runDir), 'utf8'));
  } catch {
    return undefined;
  }
  if (typeof meta !== 'object' || meta === null) return undefined;
  const m = meta as Record<string, unknown>;
  if (typeof m.epoch !== 'number' || typeof m.step !== 'number' || typeof m.file !== 'string') return undefined;
  return {
    engine: String(m.engine ?? ''),
    epoch: m.epoch,
    step: m.step,
    file: m.file,
    bytes: typeof m.bytes === 'number' ? m.bytes : 0,
    weightsSha256: typeof m.weightsSha256 === 'string' ? m.weightsSha256 : undefined,
    time: typeof m.time === 'string' ? m.time : undefined,
  };
}

/** "epoch 3, step 17" (1-based, as people count) or "the start of epoch 4". */
export function resumePointText(info: Pick<CheckpointInfo, 'epoch' | 'step'>): string {
  return info.step > 0 ? `epoch ${info.epoch + 1}, step ${info.step}` : `the start of epoch ${info.epoch + 1}`;
}
