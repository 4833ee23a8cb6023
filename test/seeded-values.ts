/**
 * Test helper: deterministic pseudo-random numbers from a seed (a 32-bit linear congruential
 * generator), so a test's inputs are the same on every run and every backend that receives them.
 */

/** A stream of numbers in [0, 1) determined by `seed`. */
export function seededRandom(seed: number): () => number {
  let s = seed * 2654435761 + 1;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

/** As many values in [-1, 1) as `shape` holds (a count or a tensor shape), determined by `seed`. */
export function seededValues(shape: number | number[], seed: number): Float32Array {
  const n = typeof shape === 'number' ? shape : shape.reduce((a, b) => a * b, 1);
  const next = seededRandom(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = next() * 2 - 1;
  return out;
}
