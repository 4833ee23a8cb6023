/**
 * Several workers starting the threaded wasm backend at once (local concurrency, Slurm array
 * tasks on one node) share the thread scripts the backend writes to the per-user cache; each is
 * written to a file of its own and renamed over the shared name, so no worker reads a file
 * another is rewriting (that failed a Slurm matrix task once: "WasmBackendModuleThreadedSimd is
 * not defined"). Six children start at once, three times; every one must come up threaded and
 * compute. The child is this file, run with REGBENCH_CONCURRENT_CHILD=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../src/engine/tfjs/backend';

const CHILDREN = 6;
const ROUNDS = 3;

async function child(): Promise<void> {
  const info = await initBackend('wasm');
  const sum = tf.sum(tf.conv2d(tf.ones([1, 8, 8, 4]) as tf.Tensor4D, tf.ones([3, 3, 4, 4]) as tf.Tensor4D, 1, 'valid')).dataSync()[0];
  process.stdout.write(`${JSON.stringify({ backend: info.backend, threads: info.threads, sum })}\n`);
  process.exit(0);
}

function start(): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [__filename], { env: { ...process.env, REGBENCH_CONCURRENT_CHILD: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => proc.kill('SIGKILL'), 120_000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

if (process.env.REGBENCH_CONCURRENT_CHILD === '1') {
  void child().catch((e: unknown) => {
    process.stderr.write(`${String(e instanceof Error ? e.stack : e)}\n`);
    process.exit(1);
  });
} else {
  test(`${CHILDREN} workers starting the threaded wasm backend at once all come up (${ROUNDS} rounds)`, async () => {
    for (let round = 0; round < ROUNDS; round++) {
      const results = await Promise.all(Array.from({ length: CHILDREN }, start));
      results.forEach((r, i) => {
        assert.equal(r.code, 0, `round ${round + 1}, child ${i}: exit ${r.code}\n${r.err.slice(-1500)}`);
        const line = JSON.parse(r.out.trim().split('\n').pop() ?? '{}') as { backend?: string; threads?: number; sum?: number };
        assert.equal(line.backend, 'wasm');
        assert.ok((line.threads ?? 0) > 1, `round ${round + 1}, child ${i} fell back to the single-threaded loader: ${r.out}`);
        assert.equal(line.sum, 36 * 6 * 6 * 4, 'a 3x3x4 all-ones filter over ones gives 36 at each of the 6x6x4 outputs');
      });
    }
  });
}
