/**
 * Tensor-leak detection. Every step runs inside tf.tidy scopes, so once a run is warm the tensor
 * count after a step is the same as after the previous one. A variant that keeps a tensor or a
 * variable per step (e.g. `kept.push(tf.variable(...))`) makes it grow without end and the run
 * dies of memory hours later. The rule: after WARMUP_STEPS steps of a segment (lazy variables of a
 * CustomNorm, first-call caches), a count that rose after each of LEAK_STREAK consecutive steps
 * is a leak. The run then fails at once, long before the heap is exhausted.
 */
import * as tf from '@tensorflow/tfjs-core';

export const WARMUP_STEPS = 2;
export const LEAK_STREAK = 12;

export class LeakError extends Error {
  constructor(
    message: string,
    readonly file: string | undefined,
    readonly epoch: number,
    readonly step: number,
  ) {
    super(message);
  }
}

export class LeakMonitor {
  private steps = 0;
  private previous = -1;
  private streak = 0;
  private streakStart = { tensors: 0, bytes: 0 };

  /** `variantPath`: the file named in the message (undefined: no variant, an engine bug). */
  constructor(private readonly variantPath: string | undefined) {}

  /** Call after every step; throws LeakError when the rule above fires. */
  afterStep(epoch: number, step: number): void {
    const { numTensors, numBytes } = tf.memory();
    this.steps++;
    if (this.steps <= WARMUP_STEPS || numTensors <= this.previous) {
      this.streak = 0;
      this.streakStart = { tensors: numTensors, bytes: numBytes };
    } else {
      this.streak++;
    }
    this.previous = numTensors;
    if (this.streak >= LEAK_STREAK) throw new LeakError(this.message(numTensors, numBytes), this.variantPath, epoch, step);
  }

  private message(tensors: number, bytes: number): string {
    const perStep = (tensors - this.streakStart.tensors) / this.streak;
    const kbPerStep = (bytes - this.streakStart.bytes) / this.streak / 1024;
    const who = this.variantPath ? `${this.variantPath}: the variant` : 'the engine (no variant loaded)';
    return (
      `${who} leaks tensors: their count grew by ${perStep.toFixed(1)} per step (${kbPerStep.toFixed(1)} KB per step) over the last ${this.streak} steps ` +
      `(${this.streakStart.tensors} -> ${tensors}); create tensors inside tf.tidy and dispose() those you keep, or the run runs out of memory`
    );
  }
}
