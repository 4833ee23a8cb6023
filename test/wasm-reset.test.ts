/**
 * tf.engine().reset() and tf.removeBackend('wasm') with the threaded wasm backend: a child process
 * starts the backend, trains a step (convolution, BatchNorm2d and ReLU6 gradients: the XNNPACK
 * pthreads and the SIMD helper thread both run), resets, starts the backend again (a fresh
 * module: the disposed one's threads are gone), repeats the step, which must give the same
 * numbers, removes the backend, and must then exit on its own within a few seconds with every
 * worker thread ended. The child is this file, run with REGBENCH_RESET_CHILD=1.
 */
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend, liveWasmThreads } from '../src/engine/tfjs/backend';
import { BatchNorm2d } from '../src/engine/tfjs/models/batchnorm';
import { simdPool } from '../src/engine/tfjs/kernels/simd-pool';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

const CHILD_TIMEOUT_MS = 20_000;
// The child's budget from the last reset to its exit.
const EXIT_WITHIN_MS = 5_000;

/** One step's gradients (conv, BatchNorm2d in training, ReLU6), summed into a few numbers. */
function trainStep(): number[] {
  return tf.tidy(() => {
    const x = tf.sin(tf.reshape(tf.range(0, 4 * 12 * 12 * 8), [4, 12, 12, 8])) as tf.Tensor4D;
    const w = tf.variable(tf.cos(tf.reshape(tf.range(0, 3 * 3 * 8 * 16), [3, 3, 8, 16])));
    const bn = new BatchNorm2d(16);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(tf.relu6(bn.apply(tf.conv2d(x, w as tf.Variable<tf.Rank.R4>, 1, 'same'), true)), 0.5)),
      [w, bn.weight],
    );
    const out = [value, grads[w.name], grads[bn.weight.name]].map((t) => tf.sum(tf.abs(t)).dataSync()[0]);
    tf.dispose([w, bn.weight, bn.bias, bn.running_mean, bn.running_var]);
    return out;
  });
}

async function waitForThreads(count: number): Promise<number> {
  const deadline = Date.now() + 3000;
  while (liveWasmThreads() > count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  return liveWasmThreads();
}

async function child(): Promise<void> {
  const report = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
  const info = await initBackend('wasm');
  const helper = simdPool(tf.backend() as BackendWasm)?.threaded ?? false;
  const first = trainStep();
  report({ stage: 'trained', threads: info.threads, helper, live: liveWasmThreads() });
  tf.engine().reset();
  report({ stage: 'reset', liveAfterReset: await waitForThreads(0) });
  await initBackend('wasm');
  const second = trainStep();
  report({ stage: 'retrained', first, second, live: liveWasmThreads(), helper: simdPool(tf.backend() as BackendWasm)?.threaded ?? false });
  tf.removeBackend('wasm');
  report({ stage: 'removed', liveAfterRemove: await waitForThreads(0), at: Date.now() });
}

if (process.env.REGBENCH_RESET_CHILD === '1') {
  void child().catch((e: unknown) => {
    process.stdout.write(`${JSON.stringify({ stage: 'error', error: String(e instanceof Error ? e.stack : e) })}\n`);
    process.exitCode = 1;
  });
} else {
  test('threaded wasm: reset and removeBackend return, end the worker threads, and the process exits', async () => {
    const started = Date.now();
    const proc = spawn(process.execPath, [__filename], { env: { ...process.env, REGBENCH_RESET_CHILD: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_TIMEOUT_MS);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => proc.on('exit', (c, s) => resolve([c, s])));
    const exitedAt = Date.now();
    clearTimeout(timer);
    const lines = stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const stage = (name: string): Record<string, unknown> => {
      const found = lines.find((l) => l.stage === name);
      assert.ok(
        found,
        `child never reached '${name}' (${signal ? `killed by ${signal} after ${exitedAt - started} ms` : `exit ${code}`}); stdout:\n${stdout}\nstderr tail:\n${stderr.slice(-2000)}`,
      );
      return found;
    };
    const trained = stage('trained');
    assert.ok((trained.threads as number) > 1, 'the threaded module was not used');
    assert.equal(trained.helper, true, 'no SIMD helper thread');
    assert.ok((trained.live as number) >= 2, `expected pthreads and the helper alive, got ${String(trained.live)}`);
    assert.equal(stage('reset').liveAfterReset, 0, 'worker threads left after tf.engine().reset()');
    const retrained = stage('retrained');
    assert.deepEqual(retrained.second, retrained.first, 'the step after the reset differs');
    assert.equal(retrained.helper, true);
    const removed = stage('removed');
    assert.equal(removed.liveAfterRemove, 0, "worker threads left after tf.removeBackend('wasm')");
    assert.equal(signal, null, `child killed by ${String(signal)}`);
    assert.equal(code, 0, `child exit ${String(code)}; stderr tail:\n${stderr.slice(-2000)}`);
    assert.ok(exitedAt - (removed.at as number) < EXIT_WITHIN_MS, `the child took ${exitedAt - (removed.at as number)} ms to exit after the last reset`);
  });
}
