/**
 * Checkpoints of the TensorFlow.js engine, in `<runDir>/checkpoint/` (the Python engine follows
 * the same contract with a .pt data file):
 * - `ckpt-e<epoch>-s<step>.bin`: 8 bytes `RBCKPT01`, a uint32 (little endian) header length, the
 *   header JSON (loop state, random streams, the tensor table), zero padding to a multiple of 4,
 *   then every tensor's values (float32/int32, little endian) in table order: the model's
 *   variables (trainable and buffers, as namedVariables() lists them, with names and shapes),
 *   then the SGD momentum buffers.
 * - `last.json`: written after the data file is complete and synced, replaced atomically (temp
 *   file, fsync, rename); it names the data file with its size and sha256 and says what run it
 *   belongs to. Older data files are deleted afterwards: only the last checkpoint is kept.
 * A resume refuses a checkpoint that is torn (size or sha256 differ) or from another variant,
 * benchmark, budget, seed, engine version or backend, with one line saying what differs.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type { RunSpec } from '../../protocol/benchmarks';
import { version as regbenchVersion } from '../../../package.json';
import type { TrainSnapshot, TrainState } from './train';
import type { Model } from './types';

export const CHECKPOINT_FORMAT = 1;
const MAGIC = Buffer.from('RBCKPT01', 'ascii');

/** The contents of last.json (names shared with the Python engine). */
export interface CheckpointMeta {
  format: number;
  engine: 'tfjs';
  regbenchVersion: string;
  engineVersions: Record<string, string>;
  backend: string;
  threads: number | null;
  /** Gradient slice size (null: whole batches); a resume must use the same. */
  microBatch: number | null;
  bench: string;
  arch: string;
  variantHash: string;
  seed: number;
  epochs: number;
  trainSubset: number | null;
  testSubset: number | null;
  budget: string;
  /** Where a resume continues: 0-based epoch and the steps of it already done. */
  epoch: number;
  step: number;
  /** Data file name (inside the checkpoint directory), its size and sha256 (hex). */
  file: string;
  bytes: number;
  sha256: string;
  weightsSha256: string;
  bestTestAcc: number | null;
  finalTestAcc: number | null;
  time: string;
}

/** What the running worker is: a checkpoint is valid only for the same. */
export interface CheckpointOwner {
  spec: RunSpec;
  engineVersions: Record<string, string>;
  backend: string;
  threads?: number;
  microBatch?: number;
}

interface TensorEntry {
  name: string;
  group: 'model' | 'momentum';
  shape: number[];
  dtype: 'float32' | 'int32';
  /** Byte offset from the start of the values section. */
  offset: number;
}

interface Header {
  format: number;
  state: TrainState;
  random: number[][];
  tensors: TensorEntry[];
}

export class CheckpointError extends Error {
  constructor(
    message: string,
    readonly file: string,
  ) {
    super(message);
  }
}

export function checkpointDir(runDir: string): string {
  return path.join(runDir, 'checkpoint');
}

interface NamedValues {
  name: string;
  group: TensorEntry['group'];
  shape: number[];
  values: Float32Array | Int32Array;
}

function readValues(model: Model, momenta: readonly tf.Variable[]): NamedValues[] {
  const out: NamedValues[] = [];
  const add = (name: string, group: TensorEntry['group'], v: tf.Variable) => {
    if (v.dtype !== 'float32' && v.dtype !== 'int32') throw new Error(`cannot checkpoint ${name}: dtype ${v.dtype} (float32 and int32 only)`);
    out.push({ name, group, shape: v.shape.slice(), values: v.dataSync() as Float32Array | Int32Array });
  };
  for (const v of model.namedVariables()) add(v.name, 'model', v.variable);
  momenta.forEach((m, i) => add(`momentum.${i}`, 'momentum', m));
  return out;
}

const bytesOf = (a: Float32Array | Int32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** sha256 over the model's variables (name, shape, values), in namedVariables() order. */
function hashWeights(values: readonly NamedValues[]): string {
  const h = createHash('sha256');
  for (const v of values) {
    if (v.group !== 'model') continue;
    h.update(`${v.name}\0${v.shape.join(',')}\0`);
    h.update(bytesOf(v.values));
  }
  return h.digest('hex');
}

/** sha256 (hex) of the model's weights and buffers, as checkpoint events report it. */
export function weightsSha256(model: Model): string {
  return hashWeights(readValues(model, []));
}

function encode(snapshot: TrainSnapshot, model: Model, values: readonly NamedValues[]): Buffer[] {
  let offset = 0;
  const tensors: TensorEntry[] = values.map((v) => {
    const e: TensorEntry = { name: v.name, group: v.group, shape: v.shape, dtype: v.values instanceof Int32Array ? 'int32' : 'float32', offset };
    offset += v.values.byteLength;
    return e;
  });
  const header: Header = { format: CHECKPOINT_FORMAT, state: snapshot.state, random: model.randomState?.() ?? [], tensors };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(json.length);
  const pad = Buffer.alloc((4 - ((MAGIC.length + 4 + json.length) % 4)) % 4);
  return [MAGIC, length, json, pad, ...values.map((v) => bytesOf(v.values))];
}

/** Writes the buffers to `file` and syncs it to disk before returning. */
function writeDurable(file: string, buffers: readonly Buffer[]): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const b of buffers) {
      let done = 0;
      while (done < b.length) done += fs.writeSync(fd, b, done, b.length - done);
    }
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Not every platform can sync a directory (Windows); the rename is still atomic.
  }
}

export interface WrittenCheckpoint {
  meta: CheckpointMeta;
  seconds: number;
}

/** Writes the data file, then last.json atomically, then deletes older data files. */
export function writeCheckpoint(owner: CheckpointOwner, model: Model, snapshot: TrainSnapshot): WrittenCheckpoint {
  const t0 = performance.now();
  const dir = checkpointDir(owner.spec.runDir);
  fs.mkdirSync(dir, { recursive: true });
  const values = readValues(model, snapshot.momenta);
  const buffers = encode(snapshot, model, values);
  const { state } = snapshot;
  const file = `ckpt-e${state.epoch}-s${state.step}.bin`;
  writeDurable(path.join(dir, file), buffers);
  const sha = createHash('sha256');
  for (const b of buffers) sha.update(b);
  const meta = metaFor(owner, state, { file, bytes: buffers.reduce((n, b) => n + b.length, 0), sha256: sha.digest('hex'), weightsSha256: hashWeights(values) });
  const tmp = path.join(dir, `last.json.tmp-${process.pid}`);
  writeDurable(tmp, [Buffer.from(JSON.stringify(meta, null, 1) + '\n', 'utf8')]);
  fs.renameSync(tmp, path.join(dir, 'last.json'));
  syncDir(dir);
  for (const name of fs.readdirSync(dir)) {
    if (/^ckpt-e\d+-s\d+\.bin$/.test(name) && name !== file) fs.rmSync(path.join(dir, name), { force: true });
  }
  return { meta, seconds: (performance.now() - t0) / 1000 };
}

function metaFor(owner: CheckpointOwner, state: TrainState, data: Pick<CheckpointMeta, 'file' | 'bytes' | 'sha256' | 'weightsSha256'>): CheckpointMeta {
  const { spec } = owner;
  return {
    format: CHECKPOINT_FORMAT,
    engine: 'tfjs',
    regbenchVersion,
    engineVersions: owner.engineVersions,
    backend: owner.backend,
    threads: owner.threads ?? null,
    microBatch: owner.microBatch ?? null,
    bench: spec.bench,
    arch: spec.arch,
    variantHash: spec.variantHash,
    seed: spec.seed,
    epochs: spec.epochs,
    trainSubset: spec.trainSubset,
    testSubset: spec.testSubset,
    budget: spec.budget,
    epoch: state.epoch,
    step: state.step,
    ...data,
    bestTestAcc: state.best,
    finalTestAcc: state.final,
    time: new Date().toISOString(),
  };
}

export interface LoadedCheckpoint {
  meta: CheckpointMeta;
  state: TrainState;
  momenta: Float32Array[];
  /** Differences that do not stop a resume but may change the numbers (thread count). */
  warnings: string[];
}

/**
 * Reads `<runDir>/checkpoint/last.json` (undefined when there is none), checks it and its data
 * file against this run, and restores the model's variables and random streams from it.
 * Throws CheckpointError (one line: the file, what differs, what to do).
 */
export function loadCheckpoint(owner: CheckpointOwner, model: Model): LoadedCheckpoint | undefined {
  const dir = checkpointDir(owner.spec.runDir);
  const metaFile = path.join(dir, 'last.json');
  if (!fs.existsSync(metaFile)) return undefined;
  const startOver = `delete ${dir} to start this run from epoch 0, or start a new run`;
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as CheckpointMeta;
  } catch (err) {
    throw new CheckpointError(`refusing checkpoint ${metaFile}: it is not readable JSON (${(err as Error).message}); ${startOver}`, metaFile);
  }
  const differences = compareOwner(meta, owner);
  if (differences.length) {
    const hint = resumeHint(meta, differences);
    throw new CheckpointError(
      `refusing checkpoint ${metaFile}: it belongs to another run (${differences.join('; ')}); ${hint ? `${hint}, or ` : ''}${startOver}`,
      metaFile,
    );
  }
  const dataFile = path.join(dir, path.basename(String(meta.file)));
  const data = readVerified(dataFile, meta, startOver);
  const { state, momenta } = restore(data, model, dataFile, startOver);
  const warnings =
    (meta.threads ?? null) !== (owner.threads ?? null)
      ? [
          `checkpoint ${metaFile} was written with ${meta.threads ?? '?'} threads, this worker uses ${owner.threads ?? '?'}: the results may differ in the last bits from an uninterrupted run`,
        ]
      : [];
  return { meta, state, momenta, warnings };
}

/** The fields that must match, as "field: checkpoint X, this run Y". */
function compareOwner(meta: CheckpointMeta, owner: CheckpointOwner): string[] {
  const { spec } = owner;
  const expected: Array<[string, unknown, unknown]> = [
    ['format', meta.format, CHECKPOINT_FORMAT],
    ['engine', meta.engine, 'tfjs'],
    ['regbenchVersion', meta.regbenchVersion, regbenchVersion],
    ['engineVersions', versionsText(meta.engineVersions), versionsText(owner.engineVersions)],
    ['backend', meta.backend, owner.backend],
    ['microBatch', meta.microBatch ?? null, owner.microBatch ?? null],
    ['variantHash', meta.variantHash, spec.variantHash],
    ['bench', meta.bench, spec.bench],
    ['arch', meta.arch, spec.arch],
    ['budget', meta.budget, spec.budget],
    ['seed', meta.seed, spec.seed],
    ['epochs', meta.epochs, spec.epochs],
    ['trainSubset', meta.trainSubset, spec.trainSubset],
    ['testSubset', meta.testSubset, spec.testSubset],
  ];
  return expected.filter(([, a, b]) => a !== b).map(([name, a, b]) => `${name}: checkpoint ${String(a)}, this run ${String(b)}`);
}

/** How to resume anyway when only the environment differs (backend, slice size, versions). */
function resumeHint(meta: CheckpointMeta, differences: readonly string[]): string | undefined {
  const fields = differences.map((d) => d.slice(0, d.indexOf(':')));
  const only = (allowed: readonly string[]) => fields.every((f) => allowed.includes(f));
  if (only(['backend', 'engineVersions'])) return `resume with --backend ${meta.backend} (${versionsText(meta.engineVersions)})`;
  if (only(['microBatch'])) return `resume with REGBENCH_MICRO_BATCH=${meta.microBatch ?? 0}`;
  if (only(['regbenchVersion', 'engineVersions'])) return `resume with Regbench ${meta.regbenchVersion} (${versionsText(meta.engineVersions)})`;
  return undefined;
}

/** Versions as sorted "name version" pairs: comparable and readable. */
function versionsText(o: Record<string, string> | undefined): string {
  return Object.entries(o ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

function readVerified(dataFile: string, meta: CheckpointMeta, startOver: string): Buffer {
  let data: Buffer;
  try {
    data = fs.readFileSync(dataFile);
  } catch (err) {
    throw new CheckpointError(
      `refusing checkpoint ${dataFile}: last.json names it but it cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); ${startOver}`,
      dataFile,
    );
  }
  const sha = createHash('sha256').update(data).digest('hex');
  if (data.length !== meta.bytes || sha !== meta.sha256) {
    throw new CheckpointError(
      `refusing checkpoint ${dataFile}: it is torn or altered (${data.length} bytes, sha256 ${sha.slice(0, 12)}…; last.json recorded ${meta.bytes} bytes, ${String(meta.sha256).slice(0, 12)}…); ${startOver}`,
      dataFile,
    );
  }
  return data;
}

function parseHeader(data: Buffer, dataFile: string, startOver: string): { header: Header; valuesStart: number } {
  if (data.length < 12 || !data.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CheckpointError(`refusing checkpoint ${dataFile}: not a Regbench TensorFlow.js checkpoint (bad magic); ${startOver}`, dataFile);
  }
  const length = data.readUInt32LE(MAGIC.length);
  const jsonEnd = MAGIC.length + 4 + length;
  const header = JSON.parse(data.subarray(MAGIC.length + 4, jsonEnd).toString('utf8')) as Header;
  if (header.format !== CHECKPOINT_FORMAT)
    throw new CheckpointError(`refusing checkpoint ${dataFile}: format ${header.format}, this engine reads ${CHECKPOINT_FORMAT}; ${startOver}`, dataFile);
  return { header, valuesStart: jsonEnd + ((4 - (jsonEnd % 4)) % 4) };
}

/** Copies one tensor's values out of the file (aligned, independent of the file buffer). */
function valuesOf(data: Buffer, start: number, e: TensorEntry): Float32Array | Int32Array {
  const size = e.shape.reduce((a, b) => a * b, 1);
  const from = data.byteOffset + start + e.offset;
  const copy = data.buffer.slice(from, from + size * 4);
  return e.dtype === 'int32' ? new Int32Array(copy) : new Float32Array(copy);
}

function restore(data: Buffer, model: Model, dataFile: string, startOver: string): { state: TrainState; momenta: Float32Array[] } {
  const { header, valuesStart } = parseHeader(data, dataFile, startOver);
  const saved = header.tensors.filter((t) => t.group === 'model');
  const vars = model.namedVariables();
  const describe = (list: Array<{ name: string; shape: readonly number[] }>) => list.map((v) => `${v.name}[${v.shape.join(',')}]`).join(' ');
  if (describe(saved) !== describe(vars.map((v) => ({ name: v.name, shape: v.variable.shape })))) {
    const firstBad = vars.findIndex((v, i) => !saved[i] || saved[i].name !== v.name || saved[i].shape.join() !== v.variable.shape.join());
    const at = firstBad >= 0 ? `first difference at ${vars[firstBad].name}` : `the checkpoint has ${saved.length - vars.length} more`;
    throw new CheckpointError(
      `refusing checkpoint ${dataFile}: its ${saved.length} model variables do not match this model's ${vars.length} (${at}); ${startOver}`,
      dataFile,
    );
  }
  const momenta = header.tensors.filter((t) => t.group === 'momentum').map((e) => valuesOf(data, valuesStart, e) as Float32Array);
  saved.forEach((e, i) => {
    const t = tf.tensor(valuesOf(data, valuesStart, e), e.shape, e.dtype);
    vars[i].variable.assign(t);
    t.dispose();
  });
  if (model.setRandomState) model.setRandomState(header.random);
  return { state: header.state, momenta };
}
