/**
 * The PyTorch engine's data step, run by the runner as its own Node process (dist/prepare-data.js)
 * before it spawns the Python worker, so that reading a dataset (up to ~180 MB) never happens in
 * the editor's extension host. Reads the RunSpec as one JSON line on stdin, prepares the run's
 * tensor files with the TypeScript data layer (src/engine/data/tensor-files.ts) and answers one
 * JSON line on stdout: `{"ok":true,"tensors":{...}}`, or `{"ok":false,"kind","message","file"?}`
 * with exit code 1. Download progress goes to stderr.
 */
import type { RunSpec, TensorFiles } from '../../protocol/benchmarks';
import { DataError } from '../data/errors';
import { prepareTensorFiles } from '../data/tensor-files';

export type PrepareAnswer = { ok: true; tensors: TensorFiles } | { ok: false; kind: 'data' | 'internal'; message: string; file?: string };

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function main(): Promise<number> {
  let answer: PrepareAnswer;
  try {
    const spec = JSON.parse(await readStdin()) as RunSpec;
    const tensors = await prepareTensorFiles(spec, {
      allowDownload: process.env.REGBENCH_OFFLINE !== '1',
      log: (m) => process.stderr.write(`${m}\n`),
    });
    answer = { ok: true, tensors };
  } catch (err) {
    answer =
      err instanceof DataError
        ? { ok: false, kind: 'data', message: err.message, file: err.file }
        : { ok: false, kind: 'internal', message: `preparing the data failed: ${(err as Error).message}` };
  }
  process.stdout.write(JSON.stringify(answer) + '\n');
  return answer.ok ? 0 : 1;
}

if (require.main === module) {
  main().then((code) => {
    process.exitCode = code;
  });
}
