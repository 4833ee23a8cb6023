// Bundles a benchmark's child program (a TypeScript file in bench/runners/ that imports src/) with
// esbuild into a fresh private directory of this bench process (mkdtemp: unique, 0700, removed at
// exit; a shared or predictable folder could be rewritten under a running bench, or planted), beside
// the wasm binaries the TensorFlow.js wasm backend loads, and returns
// the bundle's path. Shared by bench/step.mjs and bench/conv.mjs.
import { build } from 'esbuild';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BENCH_DIR = mkdtempSync(join(tmpdir(), 'regbench-bench-'));
process.once('exit', () => rmSync(BENCH_DIR, { recursive: true, force: true }));

export async function bundleRunner(root, name, entry) {
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
