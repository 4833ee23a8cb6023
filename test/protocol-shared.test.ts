/**
 * Both engines read one protocol (src/protocol/protocol.json, events.schema.json) and see the same
 * images: the PyTorch worker (spawned with /usr/bin/python3, the interpreter with torch) is asked
 * for the values it reads, its seeded generator and cosine schedule, and its first batches of a
 * seed, from the tensor files the TypeScript data layer prepares for it; they must equal the
 * TypeScript side's. Skipped without a Python that has torch.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { requireTool } from './requirements';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import protocolJson from '../src/protocol/protocol.json';
import schemaJson from '../src/protocol/events.schema.json';
import {
  BENCHMARKS,
  budgetSize,
  BUDGET_IDS,
  cosineLr,
  DATASET_STATS,
  NORM_COUNTS,
  PARAM_COUNTS,
  PROTOCOL,
  RECIPE,
  type ArchId,
  type BenchId,
  type BudgetId,
  type DatasetId,
  type RunSpec,
  type TensorFiles,
} from '../src/protocol/benchmarks';
import {
  ERROR_KINDS,
  EVENT_FIELDS,
  FINAL_STATUSES,
  PROTOCOL_VERSION,
  RUN_STATUSES,
  STOPPED_STATUSES,
  type ErrorKind,
  type RunEventType,
  type RunStatus,
} from '../src/protocol/events';
import { BatchIterator, epochSeed, loadDataset, permutation, Rng, selectSubset, writeSyntheticDataset } from '../src/engine/data';
import { seedState } from '../src/engine/data/random';
import { CROP_PADDING } from '../src/engine/data/augment';
import { IMAGE_BYTES } from '../src/engine/data/types';
import { prepareTensorFiles } from '../src/engine/data/tensor-files';
import { findPython } from '../src/engine/pytorch/launcher';

const root = path.resolve(__dirname, '..', '..');
const srcWorker = path.join(root, 'src/engine/pytorch');
const distWorker = path.join(root, 'dist/pytorch');

let python: string | undefined;
let noPython = '';
let tmp = '';

before(async () => {
  try {
    python = (await findPython({ setting: '/usr/bin/python3' })).python;
  } catch (err) {
    noPython = (err as Error).message;
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-protocol-'));
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs a Python script in the worker's folder; returns its stdout parsed as JSON. */
function runPython(cwd: string, script: string, input?: string): unknown {
  const r = spawnSync(python!, ['-c', script], { cwd, input, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
  assert.equal(r.status, 0, `python failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as unknown;
}

const VALUES_SCRIPT = `
import json, protocol, events, errors
out = {
  "dir": protocol.PROTOCOL_DIR, "protocol": protocol.PROTOCOL, "schema": protocol.EVENTS_SCHEMA,
  "version": protocol.PROTOCOL_VERSION, "stats": protocol.DATASET_STATS, "cropPadding": protocol.CROP_PADDING,
  "imageSize": protocol.IMAGE_SIZE, "errorKinds": protocol.ERROR_KINDS, "endStatuses": protocol.END_STATUSES,
  "kinds": [errors.VARIANT, errors.DATA, errors.DIVERGED, errors.USAGE, errors.INTERNAL],
  "exit": [protocol.EXIT_COMPLETED, protocol.EXIT_NOT_COMPLETED],
  "fields": {t: {f: [r[0], list(r[1]), r[2]] for f, r in rules.items()} for t, rules in events.EVENT_FIELDS.items()},
}
print(json.dumps(out))
`;

interface PythonValues {
  dir: string;
  protocol: unknown;
  schema: unknown;
  version: number;
  stats: Record<string, { mean: number[]; std: number[] }>;
  cropPadding: number;
  imageSize: number;
  errorKinds: string[];
  endStatuses: string[];
  kinds: string[];
  exit: number[];
  fields: Record<string, Record<string, [boolean, string[], string[]]>>;
}

test('the PyTorch worker reads the protocol the TypeScript side imports, from the repository and from dist', (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  for (const [where, cwd, expectedDir] of [
    ['src', srcWorker, path.join(root, 'src/protocol')],
    ['dist', distWorker, distWorker],
  ] as const) {
    if (!fs.existsSync(cwd)) {
      t.diagnostic(`${where}: ${cwd} not built, skipped`);
      continue;
    }
    const got = runPython(cwd, VALUES_SCRIPT) as PythonValues;
    assert.equal(got.dir, expectedDir, where);
    assert.deepEqual(got.protocol, protocolJson, where);
    assert.deepEqual(got.schema, schemaJson, where);
    assert.equal(got.version, PROTOCOL_VERSION);
    for (const [id, s] of Object.entries(DATASET_STATS)) assert.deepEqual(got.stats[id], { mean: s.mean, std: s.std }, id);
    assert.equal(got.cropPadding, CROP_PADDING);
    assert.equal(got.imageSize * got.imageSize * 3, IMAGE_BYTES);
    assert.deepEqual(got.errorKinds, ERROR_KINDS);
    assert.deepEqual(got.endStatuses, STOPPED_STATUSES);
    for (const k of got.kinds) assert.ok(ERROR_KINDS.includes(k as (typeof ERROR_KINDS)[number]), k);
    assert.deepEqual(got.exit, [PROTOCOL.exitCodes.worker.completed, PROTOCOL.exitCodes.worker.notCompleted]);
    // The same field table on both sides: required flag, JSON types, allowed values.
    const ts = Object.fromEntries(
      Object.entries(EVENT_FIELDS).map(([type, fields]) => [
        type,
        Object.fromEntries(Object.entries(fields).map(([f, r]) => [f, [r.required, [...r.types], r.values ? [...r.values] : []]])),
      ]),
    );
    assert.deepEqual(got.fields, ts, where);
  }
});

/**
 * The literal unions of the TypeScript side name exactly the values of the JSON files: a key
 * missing here does not compile (a union member the files lack), a value of the files missing
 * from the union fails below.
 */
const UNION_MEMBERS = {
  bench: { 'resnet56-cifar100': 1, 'vgg16bn-cifar100': 1, 'mobilenetv2-fmnist': 1, 'resnet110-cifar100': 1, 'resnet20-cifar10': 1 } satisfies Record<
    BenchId,
    1
  >,
  arch: { resnet20: 1, resnet56: 1, resnet110: 1, vgg16bn: 1, mobilenetv2: 1 } satisfies Record<ArchId, 1>,
  dataset: { cifar10: 1, cifar100: 1, 'fashion-mnist': 1 } satisfies Record<DatasetId, 1>,
  budget: { smoke: 1, quick: 1, full: 1 } satisfies Record<BudgetId, 1>,
  kind: { variant: 1, data: 1, diverged: 1, usage: 1, internal: 1, cancelled: 1 } satisfies Record<ErrorKind, 1>,
  status: { queued: 1, running: 1, completed: 1, failed: 1, diverged: 1, cancelled: 1, interrupted: 1 } satisfies Record<RunStatus, 1>,
  event: { hello: 1, 'run-start': 1, progress: 1, epoch: 1, checkpoint: 1, log: 1, error: 1, 'run-end': 1 } satisfies Record<RunEventType, 1>,
};

test('the TypeScript literal types name exactly the values of protocol.json and events.schema.json', () => {
  const keys = (o: object) => Object.keys(o).sort();
  const uniq = (a: readonly string[]) => [...new Set(a)].sort();
  assert.deepEqual(keys(UNION_MEMBERS.bench), uniq(protocolJson.benchmarks.map((b) => b.id)));
  assert.deepEqual(keys(UNION_MEMBERS.arch), uniq(protocolJson.benchmarks.map((b) => b.arch)));
  assert.deepEqual(keys(UNION_MEMBERS.dataset), keys(protocolJson.datasets));
  assert.deepEqual(keys(UNION_MEMBERS.budget), keys(protocolJson.budgets));
  assert.deepEqual(keys(UNION_MEMBERS.kind), uniq(ERROR_KINDS));
  assert.deepEqual(keys(UNION_MEMBERS.status), uniq(RUN_STATUSES));
  assert.ok(STOPPED_STATUSES.every((s) => RUN_STATUSES.includes(s)));
  assert.ok(FINAL_STATUSES.every((s) => STOPPED_STATUSES.includes(s)) && !FINAL_STATUSES.includes('interrupted'));
  assert.deepEqual(keys(UNION_MEMBERS.event), keys(EVENT_FIELDS));
});

test('the typed views of protocol.json: every benchmark, budget and recipe value as the JSON states it', () => {
  assert.deepEqual(
    BENCHMARKS.map((b) => b.id),
    protocolJson.benchmarks.map((b) => b.id),
  );
  for (const b of protocolJson.benchmarks) {
    const id = b.id as BenchId;
    assert.equal(PARAM_COUNTS[id], b.paramCount);
    assert.equal(NORM_COUNTS[id], b.normCount);
  }
  assert.deepEqual(RECIPE, protocolJson.recipe);
  assert.deepEqual(BUDGET_IDS, ['smoke', 'quick', 'full']);
  assert.deepEqual(budgetSize('quick', 'mobilenetv2-fmnist'), { epochs: 4, trainSubset: 10000, testSubset: 2000 });
  assert.deepEqual(budgetSize('quick', 'resnet56-cifar100'), { epochs: 5, trainSubset: 10000, testSubset: 2000 });
  assert.deepEqual(budgetSize('full', 'resnet20-cifar10'), { epochs: 200, trainSubset: null, testSubset: null });
  assert.deepEqual(budgetSize('smoke', 'vgg16bn-cifar100'), { epochs: 1, trainSubset: 512, testSubset: 256 });
  // A budget is a copy: a caller changing it must not change the protocol.
  budgetSize('smoke', 'vgg16bn-cifar100').epochs = 99;
  assert.equal(budgetSize('smoke', 'vgg16bn-cifar100').epochs, 1);
});

test('the seeded generator and the cosine schedule: one algorithm, two implementations that agree', (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const seeds = [0, 1, 7, -3, 2 ** 40 + 5, 123456789];
  const script = `
import json, rng, train
seeds = ${JSON.stringify(seeds)}
r = rng.Rng(42)
out = {
  "states": [rng.seed_state(s) for s in seeds],
  "stream": [r.next_uint32() for _ in range(8)],
  "perm": rng.permutation(1000, 7),
  "cosine": [train.cosine_lr(0.1, s, 1000) for s in (0, 1, 250, 500, 999, 1000)] + [train.cosine_lr(0.1, 0, 1)],
}
print(json.dumps(out))
`;
  const got = runPython(srcWorker, script) as { states: number[]; stream: number[]; perm: number[]; cosine: number[] };
  assert.deepEqual(got.states, seeds.map(seedState));
  const r = new Rng(42);
  assert.deepEqual(
    got.stream,
    Array.from({ length: 8 }, () => r.nextUint32()),
  );
  assert.deepEqual(got.perm, Array.from(permutation(1000, 7)));
  const expected = [0, 1, 250, 500, 999, 1000].map((s) => cosineLr(0.1, s, 1000)).concat([cosineLr(0.1, 0, 1)]);
  // Both compute 0.5 * lr * (1 + cos(pi * s / n)) in doubles.
  assert.deepEqual(got.cosine, expected);
});

test('both engines see the same images in the same order, and the same first batch for a seed', async (t) => {
  const dataDir = path.join(tmp, 'data');
  await writeSyntheticDataset('fashion-mnist', dataDir, { train: 700, test: 300, seed: 3 });
  const load = { allowDownload: false, cacheDir: path.join(tmp, 'cache', 'datasets'), systemDir: null } as const;
  const spec = { dataset: 'fashion-mnist' as const, dataDir, trainSubset: 512, testSubset: 256 };
  const tensors: TensorFiles = await prepareTensorFiles(spec, load);
  // Content-addressed: preparing again gives the same files and does not rewrite them.
  const mtime = fs.statSync(tensors.train.path).mtimeMs;
  assert.deepEqual(await prepareTensorFiles(spec, load), tensors);
  assert.equal(fs.statSync(tensors.train.path).mtimeMs, mtime);
  assert.equal(tensors.train.n, 512);
  assert.equal(tensors.test.n, 256);

  // The TypeScript engine's view: the data layer's split, the subsets, its batch iterators.
  const data = await loadDataset('fashion-mnist', { ...load, dataDir });
  const trainIdx = selectSubset(data.train.n, spec.trainSubset);
  const testIdx = selectSubset(data.test.n, spec.testSubset);
  const seed = 5;
  const batch = RECIPE.batchSize;
  const trainIt = new BatchIterator(data.train, { dataset: 'fashion-mnist', batchSize: batch, indices: trainIdx, train: true, seed });
  const testIt = new BatchIterator(data.test, { dataset: 'fashion-mnist', batchSize: batch, indices: testIdx, train: false });
  trainIt.prepareEpoch(0);
  const tsTrain = trainIt.batch(0);
  const tsTrainX = tsTrain.x.slice();
  const tsTrainY = Array.from(tsTrain.y);
  const tsTest = testIt.batch(0);

  // The epoch-0 draws of the TypeScript engine (batches.ts): its order, as positions in the
  // prepared file, and per position in that order a crop offset (top, left of the padded image)
  // and a flip.
  const rng = new Rng(epochSeed(seed, 0));
  const order = trainIdx.slice();
  rng.shuffle(order);
  const span = 2 * CROP_PADDING + 1;
  const offsets: [number, number][] = [];
  const flips: boolean[] = [];
  for (let p = 0; p < order.length; p++) {
    offsets.push([rng.nextInt(span), rng.nextInt(span)]);
    flips.push(rng.nextFloat() < 0.5);
  }
  const position = new Map(Array.from(trainIdx, (v, i) => [v, i] as const));
  const first = Array.from(order.subarray(0, batch), (v) => position.get(v)!);

  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const out = path.join(tmp, 'py-batches.bin');
  const runSpec: Partial<RunSpec> = { dataset: 'fashion-mnist', tensors };
  const script = `
import json, sys, torch, data, data_cache
req = json.loads(sys.stdin.read())
train, test = data_cache.load_run_data(req["spec"], torch.device("cpu"))
tf = data.BatchTransform("fashion-mnist", torch.device("cpu"), torch.Generator())
idx = torch.tensor(req["first"])
b = req["batch"]
x = tf.normalize(tf.crop_flip(train.images[idx], torch.tensor(req["offsets"][:b]), torch.tensor(req["flips"][:b])))
e = tf.eval_batch(test.images[:req["batch"]])
with open(req["out"], "wb") as f:
    f.write(x.permute(0, 2, 3, 1).contiguous().numpy().tobytes())
    f.write(e.permute(0, 2, 3, 1).contiguous().numpy().tobytes())
print(json.dumps({"n": [len(train), len(test)], "trainLabels": train.labels[idx].tolist(), "testLabels": test.labels[:req["batch"]].tolist(),
                  "u8": [int(train.images.sum()), int(test.images.sum())]}))
`;
  const got = runPython(srcWorker, script, JSON.stringify({ spec: runSpec, first, offsets, flips, batch, out })) as {
    n: number[];
    trainLabels: number[];
    testLabels: number[];
    u8: number[];
  };
  assert.deepEqual(got.n, [512, 256]);
  // The same uint8 images (the subsets, in subset order).
  const sum = (split: { images: Uint8Array }, idx: Int32Array) => {
    let s = 0;
    for (const i of idx) for (let k = 0; k < IMAGE_BYTES; k++) s += split.images[i * IMAGE_BYTES + k];
    return s;
  };
  assert.deepEqual(got.u8, [sum(data.train, trainIdx), sum(data.test, testIdx)]);
  assert.deepEqual(got.trainLabels, tsTrainY);
  assert.deepEqual(got.testLabels, Array.from(tsTest.y));
  const raw = fs.readFileSync(out);
  const floats = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const pyTrain = floats.subarray(0, batch * IMAGE_BYTES);
  const pyTest = floats.subarray(batch * IMAGE_BYTES);
  // The same normalized pixels: TypeScript rounds a double once, PyTorch after each float32 step.
  const maxDiff = (a: Float32Array, b: Float32Array) => {
    assert.equal(a.length, b.length);
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
    return m;
  };
  const trainDiff = maxDiff(pyTrain, tsTrainX);
  const testDiff = maxDiff(pyTest, tsTest.x);
  t.diagnostic(`first batch: max |PyTorch - TypeScript| train ${trainDiff.toExponential(2)}, test ${testDiff.toExponential(2)}`);
  assert.ok(trainDiff < 1e-5, `train batch differs by ${trainDiff}`);
  assert.ok(testDiff < 1e-5, `test batch differs by ${testDiff}`);
});
