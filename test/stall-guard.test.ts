/**
 * The TensorFlow.js worker's step guard: a step that never returns is stopped at the limit, and
 * the failure names the variant's file and the line it was looping on (V8's sampling profiler
 * plus the variant's source map), while ordinary steps pass through and feed the policy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { StepWatchdog } from '../src/engine/step-watchdog';
import { StallError, StallGuard, variantFrameOf } from '../src/engine/tfjs/stall-guard';
import { loadVariant } from '../src/engine/tfjs/variant-loader';

const repo = path.resolve(__dirname, '..', '..');

test('ordinary steps pass through the guard and count as steps', () => {
  const policy = new StepWatchdog(5);
  const guard = new StallGuard(policy);
  try {
    assert.equal(
      guard.run(() => 6 * 7),
      42,
    );
    assert.equal(policy.stepsSeen, 1);
    assert.throws(
      () =>
        guard.run(() => {
          throw new RangeError('a variant error');
        }),
      RangeError,
    );
  } finally {
    guard.dispose();
  }
});

test('a variant that never returns is stopped at the limit, with its file and line', async () => {
  const file = path.join(repo, 'test', 'fixtures', 'variants', 'loops-forever.ts');
  const variant = await loadVariant(file);
  const policy = new StepWatchdog(1);
  policy.stepDone(0.01);
  const guard = new StallGuard(policy);
  const started = Date.now();
  try {
    assert.throws(
      () => guard.run(() => (variant.computeRegularization as () => unknown)()),
      (err: unknown) => {
        assert.ok(err instanceof StallError, String(err));
        assert.equal(err.message, 'the variant did not return within 1 s');
        const frame = variantFrameOf(err.frames, variant.compiledName);
        assert.ok(frame, `no variant frame in ${JSON.stringify(err.frames)}`);
        assert.equal(frame.functionName, 'computeRegularization');
        const where = variant.locateCompiled(frame.line, frame.column);
        assert.ok(where.line === 5 || where.line === 6, `the loop is on lines 5-6 of ${file}, got ${where.line}`);
        return true;
      },
    );
  } finally {
    guard.dispose();
  }
  assert.ok(Date.now() - started < 5000);
});
