/**
 * The seeded pseudo-random generator of the engine: mulberry32 (32-bit state, period 2^32) behind
 * a seed mixer. Every random choice of the data pipeline (subsets, shuffles, crops, flips) and of
 * the synthetic data goes through it, so a run is reproducible from its seed alone.
 *
 * The algorithm is small on purpose: the PyTorch worker can reproduce it bit for bit if it ever
 * needs the same order (see docs/data.md for the exact definition).
 */

/** A 32-bit avalanche finalizer: neighbouring inputs give unrelated outputs. */
export function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Turns any safe integer seed into a mulberry32 state. Seeds are mixed first because mulberry32
 * started from adjacent raw states (seed 1000, 1001: consecutive epochs) gives correlated streams.
 */
export function seedState(seed: number): number {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor(seed / 4294967296) >>> 0;
  return mix32(lo ^ mix32((hi + 0x9e3779b9) | 0));
}

export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seedState(seed);
  }

  /** Uniform integer in [0, 2^32). */
  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [0, n); the bias of the multiply-shift is below n / 2^32, negligible here. */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Fisher-Yates, from the last element down, in place. */
  shuffle(a: Int32Array | Uint32Array | number[]): void {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}

/** A seeded permutation of 0..n-1. */
export function permutation(n: number, seed: number): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  new Rng(seed).shuffle(p);
  return p;
}
