// Bundles a benchmark's child program (a TypeScript file in bench/runners/ that imports src/) with esbuild into
// /tmp/regbench-bench, beside the wasm binaries the TensorFlow.js wasm backend loads, and returns
// the bundle's path. Shared by bench/step.mjs and bench/conv.mjs.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export const BENCH_DIR = '/tmp/regbench-bench';

export async function bundleRunner(root, name, entry) {
  mkdirSync(BENCH_DIR, { recursive: true });
  const outfile = join(BENCH_DIR, `${name}.js`);
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    logLevel: 'warning',
    external: ['@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  });
  const wasmDir = join(root, 'node_modules/@tensorflow/tfjs-backend-wasm/dist');
  for (const f of readdirSync(wasmDir)) if (f.endsWith('.wasm')) cpSync(join(wasmDir, f), join(BENCH_DIR, f));
  return outfile;
}
