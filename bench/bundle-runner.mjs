// Bundles a benchmark's child program (TypeScript source that imports src/) with esbuild into
// <tmpdir>/regbench-bench-<pid> (one directory per bench process: on a shared machine another
// checkout's bench rewrote a shared runner file under a running bench), beside the wasm binaries the TensorFlow.js wasm backend loads, and returns
// the bundle's path. Shared by bench/step.mjs and bench/conv.mjs.
import { build } from 'esbuild';
import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const BENCH_DIR = join(tmpdir(), `regbench-bench-${process.pid}`);

export async function bundleRunner(root, name, source) {
  mkdirSync(BENCH_DIR, { recursive: true });
  process.once('exit', () => rmSync(BENCH_DIR, { recursive: true, force: true }));
  const outfile = join(BENCH_DIR, `${name}.js`);
  await build({
    stdin: { contents: source, resolveDir: root, loader: 'ts', sourcefile: `${name}.ts` },
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
