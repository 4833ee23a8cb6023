/**
 * Runs the PyTorch half of the parity check: src/engine/pytorch/parity.py (shipped as
 * dist/pytorch/parity.py) in a child Python, one JSON request on stdin, one JSON answer on the
 * last stdout line, the tensors in one float32 file. See parity.py for what the child computes.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Recipe } from '../../protocol/benchmarks';
import { TENSOR_KINDS, type HostTensor, type TensorKind } from './layout';

export interface TorchSideRequest {
  arch: string;
  numClasses: number;
  seed: number;
  batch: number;
  /** float32 little-endian NCHW `[batch, 3, 32, 32]`. */
  inputPath: string;
  labels: number[];
  /** A regularizer-only Python variant; its term is added in the training step. */
  variantPath: string;
  recipe: Pick<Recipe, 'lr' | 'momentum' | 'weightDecay' | 'bnMomentum' | 'bnEpsilon'>;
  outDir: string;
  /** The PyTorch device of the step (default cpu). */
  device?: string;
}

/** One state_dict entry, in PyTorch layout. */
export interface TorchStateEntry extends HostTensor {
  name: string;
  kind: TensorKind;
  /** A parameter (gets gradients); false for buffers such as running statistics. */
  trainable: boolean;
}

/** How close the step's forward came to a point where float32 rounding could pick another branch. */
export interface KinkDistance {
  margin: number;
  /** The module (PyTorch name) where it was smallest. */
  at: string;
}

export interface TorchSideResult {
  torchVersion: string;
  threads: number;
  /** The state the TensorFlow.js model is loaded with. */
  initial: TorchStateEntry[];
  evalLogits: HostTensor;
  /** Parameters and buffers after one training step. */
  after: TorchStateEntry[];
  /** Each parameter's gradient of the step's loss (cross-entropy + term), without weight decay. */
  grads: TorchStateEntry[];
  ce: number;
  term: number;
  /** See ParityReport.reluMargin / poolTieGap; Infinity when the model has no such module. */
  reluMargin: KinkDistance;
  poolTieGap: KinkDistance;
  seconds: { process: number; build: number; eval: number; step: number };
}

/** The JSON line parity.py prints; tensors are offsets into tensors.bin. */
interface RawTensor {
  offset: number;
  shape: number[];
}
interface RawEntry extends RawTensor {
  name: string;
  kind: string;
  trainable: boolean;
}
interface RawAnswer {
  error?: string;
  torch: string;
  threads: number;
  tensorsPath: string;
  initial: RawEntry[];
  evalLogits: RawTensor;
  after: RawEntry[];
  grads: RawEntry[];
  ce: number;
  term: number;
  reluMargin: { margin: number | null; at: string };
  poolTieGap: { margin: number | null; at: string };
  seconds: { build: number; eval: number; step: number };
}

export interface TorchSideOptions {
  python: string;
  script: string;
  env?: NodeJS.ProcessEnv;
  /** Default 600 s: VGG's step on a loaded 2-core machine takes seconds, importing torch a few more. */
  timeoutSeconds?: number;
  /** Receives the child's stderr, line by line (torch warnings, a traceback). */
  onStderr?: (line: string) => void;
}

export async function runTorchSide(request: TorchSideRequest, opts: TorchSideOptions): Promise<TorchSideResult> {
  if (os.endianness() !== 'LE') throw new Error('the parity check exchanges float32 little-endian files and needs a little-endian machine');
  const started = Date.now();
  const { stdout, stderr } = await runChild(opts, JSON.stringify(request));
  const lines = stdout.trim().split('\n');
  let answer: RawAnswer;
  try {
    answer = JSON.parse(lines[lines.length - 1] ?? '') as RawAnswer;
  } catch {
    throw new Error(`${opts.script} gave no JSON answer${stderr.trim() ? `; stderr ends with:\n${tail(stderr)}` : ''}`);
  }
  if (answer.error !== undefined) throw new Error(`PyTorch side failed: ${answer.error}${stderr.trim() ? `\n${tail(stderr)}` : ''}`);
  const values = readFloat32File(answer.tensorsPath);
  const tensor = (t: RawTensor, what: string): HostTensor => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    if (t.offset + size > values.length)
      throw new Error(`${what}: [${t.offset}, ${t.offset + size}) lies outside ${answer.tensorsPath} (${values.length} values)`);
    return { data: values.subarray(t.offset, t.offset + size), shape: t.shape };
  };
  const entries = (raw: RawEntry[]): TorchStateEntry[] =>
    raw.map((e) => {
      if (!TENSOR_KINDS.includes(e.kind as TensorKind)) throw new Error(`${e.name}: PyTorch tensor of kind '${e.kind}' has no TensorFlow.js layout`);
      return { ...tensor(e, e.name), name: e.name, kind: e.kind as TensorKind, trainable: e.trainable };
    });
  return {
    torchVersion: answer.torch,
    threads: answer.threads,
    initial: entries(answer.initial),
    evalLogits: tensor(answer.evalLogits, 'eval logits'),
    after: entries(answer.after),
    grads: entries(answer.grads),
    ce: answer.ce,
    term: answer.term,
    // null: the model has no such module (JSON has no Infinity).
    reluMargin: { margin: answer.reluMargin.margin ?? Number.POSITIVE_INFINITY, at: answer.reluMargin.at },
    poolTieGap: { margin: answer.poolTieGap.margin ?? Number.POSITIVE_INFINITY, at: answer.poolTieGap.at },
    seconds: { process: (Date.now() - started) / 1000, ...answer.seconds },
  };
}

function runChild(opts: TorchSideOptions, input: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(opts.python, [opts.script], { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
    let stdout = '';
    let stderr = '';
    let pending = '';
    const timeoutMs = (opts.timeoutSeconds ?? 600) * 1000;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
      if (!opts.onStderr) return;
      pending += s;
      const parts = pending.split('\n');
      pending = parts.pop() ?? '';
      for (const line of parts) opts.onStderr(line);
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${opts.python}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (pending && opts.onStderr) opts.onStderr(pending);
      // A failing script still answers with {"error": ...}, which the caller reports.
      if (code === 0 || stdout.trim()) resolve({ stdout, stderr });
      else
        reject(
          new Error(
            `${opts.python} ${opts.script} ${signal === 'SIGKILL' ? `was stopped after ${timeoutMs / 1000} s` : `exited with ${signal ?? code}`}${stderr.trim() ? `:\n${tail(stderr)}` : ''}`,
          ),
        );
    });
    child.stdin.on('error', () => {
      // The child may exit before reading its request (e.g. a broken interpreter); 'close' reports it.
    });
    child.stdin.end(input);
  });
}

function readFloat32File(file: string): Float32Array {
  const buf = fs.readFileSync(file);
  if (buf.byteLength % 4 !== 0) throw new Error(`${file}: ${buf.byteLength} bytes is not a whole number of float32 values`);
  // A Float32Array view needs a 4-byte aligned offset; small reads may come from a shared pool.
  if (buf.byteOffset % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
  return new Float32Array(new Uint8Array(buf).buffer);
}

function tail(text: string, lines = 15): string {
  return text.trim().split('\n').slice(-lines).join('\n');
}

/** parity.py beside the bundle: dist/pytorch/ for dist/*.js, the same folder for dist/test/*.js. */
export function findParityScript(distDir?: string): string {
  const dirs = distDir ? [distDir] : [__dirname, path.join(__dirname, '..')];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'pytorch', 'parity.py');
    if (fs.existsSync(candidate)) return candidate;
  }
  throw new Error(`no pytorch/parity.py in ${dirs.join(' or ')} (run \`node scripts/build.mjs\`, which copies src/engine/pytorch to dist/pytorch)`);
}
