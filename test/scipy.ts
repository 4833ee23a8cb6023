/**
 * Test helper: run a Python script with scipy in a child process (/usr/bin/python3, Debian's
 * python3-scipy, or $REGBENCH_SCIPY_PYTHON), feed it JSON on stdin and parse its JSON stdout. A
 * missing interpreter or scipy gives the reason to skip (a string) instead of figures; any other
 * failure of the script throws. close / closeInterval compare a figure with scipy's.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

export const SCIPY_PYTHON = process.env.REGBENCH_SCIPY_PYTHON ?? '/usr/bin/python3';

export function runScipy<T>(script: string, input: unknown): T | string {
  const r = spawnSync(SCIPY_PYTHON, ['-c', script], { input: JSON.stringify(input), encoding: 'utf8', timeout: 120_000 });
  if (r.error) return `${SCIPY_PYTHON} cannot run (${r.error.message})`;
  if (r.status !== 0 && /No module named '?(scipy|numpy)/.test(r.stderr)) return `${SCIPY_PYTHON} has no scipy/numpy (apt-get install python3-scipy)`;
  if (r.status !== 0) throw new Error(`scipy script failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

export function close(actual: number | null | undefined, expected: number | undefined, what: string, rel = 1e-9): void {
  assert.ok(actual !== null && actual !== undefined && expected !== undefined, `${what}: ${actual} vs ${expected}`);
  const scale = Math.max(Math.abs(expected), 1e-300);
  assert.ok(Math.abs(actual - expected) / scale <= rel, `${what}: ${actual} vs scipy ${expected} (relative ${Math.abs(actual - expected) / scale})`);
}

export function closeInterval(actual: [number, number] | null, expected: [number, number] | null | undefined, what: string): void {
  assert.ok(actual && expected, `${what}: ${JSON.stringify(actual)} vs ${JSON.stringify(expected)}`);
  // Centre and half-width: an end near 0 would turn the quantile's error into a large relative one.
  // @stdlib's t quantile (an inverse incomplete beta) agrees with scipy's to a few 1e-9 at
  // fractional degrees of freedom (the CDF to 1e-15), hence 1e-8 for half-widths.
  close((actual[0] + actual[1]) / 2, (expected[0] + expected[1]) / 2, `${what} centre`);
  close((actual[1] - actual[0]) / 2, (expected[1] - expected[0]) / 2, `${what} half-width`, 1e-8);
}
