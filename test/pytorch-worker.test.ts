/**
 * The PyTorch engine: its Python unit tests (models, data, templates, variant guards), the worker's
 * event stream on a smoke run over synthetic CIFAR-10 files (prepared for it by the TypeScript data
 * layer, as the runner does), every failing-variant path, SIGTERM, the SIGUSR2 stack dump of a
 * stuck variant, the model facts it must agree on with src/protocol, and the interpreter lookup.
 * Needs a Python with torch (Debian: /usr/bin/python3 from python3-torch); without one these tests
 * are skipped with the launcher's message.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { NORM_COUNTS, PARAM_COUNTS, RECIPE, type BenchId, type RunSpec, type TensorFiles } from '../src/protocol/benchmarks';
import { parseEventLine, validateEvent, type ErrorEvent, type RunEndEvent, type RunEvent } from '../src/protocol/events';
import { DataError } from '../src/engine/data/errors';
import { prepareTensorFiles } from '../src/engine/data/tensor-files';
import { findPython, pythonCandidates, workerScriptPath } from '../src/engine/pytorch/launcher';
import { requireTool } from './requirements';
import { seededRandom } from './seeded-values';

const root = path.resolve(__dirname, '..', '..');
const pytorchSrc = path.join(root, 'src/engine/pytorch');
// The shipped copy (scripts/build.mjs copies src/engine/pytorch to dist/pytorch) when built.
const worker = fs.existsSync(workerScriptPath(path.join(root, 'dist'))) ? workerScriptPath(path.join(root, 'dist')) : path.join(pytorchSrc, 'worker.py');

let python: string | undefined;
let noPython = '';
let tmp = '';
let dataDir = '';
let tensors: TensorFiles;

before(async () => {
  try {
    python = (await findPython({ setting: '/usr/bin/python3' })).python;
  } catch (err) {
    noPython = (err as Error).message;
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-pytorch-'));
  dataDir = path.join(tmp, 'data');
  writeSyntheticCifar10(path.join(dataDir, 'cifar-10-batches-bin'));
  tensors = await prepareTensorFiles(
    { dataset: 'cifar10', dataDir, trainSubset: 256, testSubset: 128 },
    { allowDownload: false, cacheDir: path.join(tmp, 'cache', 'datasets'), systemDir: null },
  );
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** CIFAR-10 binary records (label byte + 3072 channel-major pixels), 5 x 52 train and 128 test images. */
function writeSyntheticCifar10(folder: string): void {
  fs.mkdirSync(folder, { recursive: true });
  const next = seededRandom(12345);
  const byte = () => Math.floor(next() * 256);
  const records = (n: number) => {
    const out = Buffer.alloc(n * 3073);
    for (let i = 0; i < n; i++) {
      const label = i % 10;
      out[i * 3073] = label;
      // A class-dependent brightness plus noise: learnable, but nothing here depends on it.
      for (let p = 0; p < 3072; p++) out[i * 3073 + 1 + p] = (label * 20 + (byte() >> 2)) & 0xff;
    }
    return out;
  };
  for (let b = 1; b <= 5; b++) fs.writeFileSync(path.join(folder, `data_batch_${b}.bin`), records(52));
  fs.writeFileSync(path.join(folder, 'test_batch.bin'), records(128));
}

function smokeSpec(variantPath: string, extra: Partial<RunSpec> = {}): RunSpec {
  return {
    runId: `pytorch-test-${path.basename(variantPath, '.py')}`,
    bench: 'resnet20-cifar10',
    arch: 'resnet20',
    dataset: 'cifar10',
    numClasses: 10,
    budget: 'smoke',
    epochs: 1,
    trainSubset: 256,
    testSubset: 128,
    seed: 0,
    recipe: RECIPE,
    engine: 'pytorch',
    device: 'cpu',
    dataDir,
    variantPath,
    variantHash: '0000000000000000',
    variantKind: { regularizer: true, norm: false },
    runDir: tmp,
    tensors,
    ...extra,
  };
}

interface WorkerResult {
  events: RunEvent[];
  /** stdout after the last newline (must be empty: every event ends its line). */
  partial: string;
  code: number | null;
  stderr: string;
  seconds: number;
}

/** Runs the worker as the runner does; `onEvent` may act on the live stream (e.g. send SIGTERM). */
function runWorker(spec: RunSpec, env: NodeJS.ProcessEnv = {}, onEvent?: (e: RunEvent, kill: () => void) => void): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(python!, ['-u', worker], {
      cwd: tmp,
      env: { ...process.env, XDG_CACHE_HOME: path.join(tmp, 'empty-cache'), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const events: RunEvent[] = [];
    let out = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl);
        out = out.slice(nl + 1);
        try {
          const raw = JSON.parse(line) as Record<string, unknown>;
          assert.equal(validateEvent(raw), undefined, `schema violation: ${line}`);
          const event = parseEventLine(line);
          assert.ok(event, `unknown event type: ${line}`);
          events.push(event);
          onEvent?.(event, () => child.kill('SIGTERM'));
        } catch (err) {
          child.kill('SIGKILL');
          reject(new Error(`bad stdout line ${JSON.stringify(line)}: ${(err as Error).message}\nstderr:\n${stderr}`));
        }
      }
    });
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      resolve({ events, partial: out, code, stderr, seconds: (Date.now() - started) / 1000 });
    });
    child.stdin.end(JSON.stringify(spec) + '\n');
  });
}

function writeVariant(name: string, source: string): string {
  const file = path.join(tmp, 'variants', name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, source);
  return file;
}

function checkShape(r: WorkerResult): RunEndEvent {
  assert.equal(r.partial, '', 'stdout ended with a partial line');
  const types = r.events.map((e) => e.type);
  assert.equal(types[0], 'hello', `first event: ${types.join(',')}`);
  assert.equal(types[types.length - 1], 'run-end', `last event: ${types.join(',')}\n${r.stderr}`);
  assert.ok(types.filter((t) => t === 'error').length <= 1, 'at most one error');
  for (const e of r.events) assert.ok(!Number.isNaN(Date.parse(e.time)) && e.runId.startsWith('pytorch-test'));
  return r.events[r.events.length - 1] as RunEndEvent;
}

test('python unit tests of the worker pass', (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const r = spawnSync(python, ['-m', 'unittest', 'discover', '-s', path.join(pytorchSrc, 'tests'), '-t', pytorchSrc], {
    cwd: root,
    encoding: 'utf8',
    // PASSIVE: spinning OpenMP waits make torch crawl on 2 busy cores (see threads.py).
    env: { ...process.env, REGBENCH_DATA: '', OMP_WAIT_POLICY: 'PASSIVE' },
  });
  assert.equal(r.status, 0, `python -m unittest failed:\n${r.stdout}\n${r.stderr}`);
  assert.match(r.stderr, /Ran [1-9]\d* tests/);
});

test("the worker's models have the parameter and norm counts of protocol.json", (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const script = [
    'import json, torch, models',
    'benches = {"resnet20-cifar10": ("resnet20", 10), "resnet56-cifar100": ("resnet56", 100), "resnet110-cifar100": ("resnet110", 100),',
    '           "vgg16bn-cifar100": ("vgg16bn", 100), "mobilenetv2-fmnist": ("mobilenetv2", 10)}',
    'out = {"params": {}, "norms": {}}',
    'for b, (a, c) in benches.items():',
    '    m = models.build_model(a, c)',
    '    out["params"][b] = models.count_parameters(m)',
    '    out["norms"][b] = sum(isinstance(x, torch.nn.BatchNorm2d) for x in m.modules())',
    'print(json.dumps(out))',
  ].join('\n');
  const r = spawnSync(python, ['-c', script], { cwd: pytorchSrc, encoding: 'utf8', env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' } });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as {
    params: Record<BenchId, number>;
    norms: Record<BenchId, number>;
  };
  assert.deepEqual(got.params, PARAM_COUNTS);
  assert.deepEqual(got.norms, NORM_COUNTS);
});

test('smoke run: hello, run-start, progress, epoch, run-end completed; every line valid', async (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  // The DropBlock-style template registers forward hooks on its first call; the print must not reach stdout.
  const template = fs.readFileSync(path.join(root, 'templates/regularizers/dropblock_penalty.py'), 'utf8');
  const variant = writeVariant('dropblock_noisy.py', `${template}\nprint("a variant that prints at import")\n`);
  const r = await runWorker(smokeSpec(variant));
  t.diagnostic(`smoke run (resnet20, 256 train / 128 test images, 1 epoch): ${r.seconds.toFixed(1)} s`);
  const end = checkShape(r);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /a variant that prints at import/);
  const types = r.events.map((e) => e.type).filter((ty) => ty !== 'log');
  assert.deepEqual(types, ['hello', 'run-start', 'progress', 'epoch', 'checkpoint', 'run-end']);
  const ckpt = r.events.find((e) => e.type === 'checkpoint');
  assert.ok(ckpt && ckpt.type === 'checkpoint' && ckpt.epoch === 1 && ckpt.step === 0 && ckpt.bytes > 0, JSON.stringify(ckpt));
  assert.match(ckpt.weightsSha256, /^[0-9a-f]{64}$/);
  const start = r.events.find((e) => e.type === 'run-start');
  assert.ok(start && start.type === 'run-start');
  assert.equal(start.stepsPerEpoch, 2);
  assert.equal(start.trainImages, 256);
  assert.equal(start.testImages, 128);
  assert.equal(start.env.engine, 'pytorch');
  assert.equal(start.env.backend, 'torch-cpu');
  assert.match(start.env.versions.torch ?? '', /^\d+\.\d+/);
  assert.equal(start.spec.variantPath, variant);
  const progress = r.events.filter((e) => e.type === 'progress');
  assert.deepEqual(
    progress.map((e) => e.type === 'progress' && [e.epoch, e.step, e.steps]),
    [[0, 2, 2]],
  );
  const hello = r.events[0];
  assert.ok(hello.type === 'hello' && hello.protocol === 1 && hello.pid > 0);
  const epoch = r.events.find((e) => e.type === 'epoch');
  assert.ok(epoch && epoch.type === 'epoch');
  assert.equal(epoch.epoch, 0);
  assert.equal(epoch.totalEpochs, 1);
  assert.equal(epoch.lr, RECIPE.lr);
  // Step 1 has no term (the hooks are registered during it); step 2 has a positive one.
  assert.ok(epoch.regTerm > 0 && epoch.regTerm < 0.1, `regTerm ${epoch.regTerm}`);
  assert.ok(Math.abs(epoch.trainLoss - (epoch.trainCe + epoch.regTerm)) < 1e-4);
  for (const acc of [epoch.trainAcc, epoch.testAcc]) assert.ok(acc >= 0 && acc <= 100);
  assert.equal(epoch.bestTestAcc, epoch.testAcc);
  assert.ok(epoch.trainImagesPerSec > 0 && epoch.seconds > 0);
  assert.equal(end.status, 'completed');
  assert.equal(end.epochsCompleted, 1);
  assert.equal(end.bestTestAcc, epoch.testAcc);
  assert.equal(end.finalTestAcc, epoch.testAcc);
});

interface FailureCase {
  name: string;
  source: string;
  /** The line the error must name; undefined: it must name none. */
  line: number | undefined;
  message: RegExp;
  norm?: boolean;
}

const FAILURES: FailureCase[] = [
  {
    name: 'syntax_error.py',
    source: 'import torch\n\ndef compute_regularization(model, inputs, outputs, targets, config)\n    return outputs.sum()\n',
    line: 3,
    message: /SyntaxError/,
  },
  {
    name: 'raises.py',
    source: 'import torch\n\ndef compute_regularization(model, inputs, outputs, targets, config):\n    scale = config["no such key"]\n    return scale\n',
    line: 4,
    message: /KeyError: 'no such key'/,
  },
  {
    name: 'returns_nan.py',
    source: 'import torch\n\ndef compute_regularization(model, inputs, outputs, targets, config):\n    return outputs.sum() * float("nan")\n',
    line: 3,
    message: /returned NaN/,
  },
  {
    name: 'returns_vector.py',
    source: 'import torch\n\ndef compute_regularization(model, inputs, outputs, targets, config):\n    return outputs.pow(2).mean(dim=1)\n',
    line: 3,
    message: /shape \[128\]/,
  },
  {
    name: 'shape_norm.py',
    source:
      'import torch\nfrom torch import nn\n\nclass CustomNorm(nn.Module):\n    def __init__(self, num_features):\n        super().__init__()\n\n' +
      '    def forward(self, x):\n        return torch.cat([x, x], dim=1)\n',
    line: 8,
    message: /CustomNorm at bn1 returned shape \[128, 32, 32, 32\]/,
    norm: true,
  },
];

test('failing variants: one variant error naming file and line, run-end failed, exit 1', async (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const results = await Promise.all(
    FAILURES.map(async (c) => {
      const file = writeVariant(c.name, c.source);
      const spec = smokeSpec(file, { variantKind: { regularizer: !c.norm, norm: !!c.norm } });
      return { c, file, r: await runWorker(spec, { REGBENCH_THREADS: '1' }) };
    }),
  );
  for (const { c, file, r } of results) {
    t.diagnostic(`${c.name}: failed in ${r.seconds.toFixed(1)} s`);
    const end = checkShape(r);
    const errors = r.events.filter((e): e is ErrorEvent => e.type === 'error');
    assert.equal(errors.length, 1, `${c.name}: ${JSON.stringify(r.events)}`);
    const err = errors[0];
    assert.equal(err.kind, 'variant', c.name);
    assert.equal(err.file, file, c.name);
    assert.equal(err.line, c.line, `${c.name}: ${err.message}`);
    assert.ok(err.message.startsWith(`${file}:${c.line}: `), `${c.name}: ${err.message}`);
    assert.match(err.message, c.message, c.name);
    assert.ok(!err.message.includes('\n'));
    assert.equal(end.status, 'failed', c.name);
    assert.equal(end.epochsCompleted, 0);
    assert.equal(r.code, 1, c.name);
    assert.ok(r.seconds < 120, `${c.name} took ${r.seconds} s`);
  }
  const raised = results.find((x) => x.c.name === 'raises.py')!.r.events.find((e): e is ErrorEvent => e.type === 'error')!;
  assert.match(raised.detail ?? '', /Traceback[\s\S]*raises\.py", line 4/);
  assert.equal(raised.step, 1);
});

test('a missing dataset is a data error that says what to put where; a missing prepared file too', async (t) => {
  const empty = path.join(tmp, 'no-data');
  fs.mkdirSync(empty, { recursive: true });
  // The data layer prepares the worker's files: a missing dataset fails there, before any spawn.
  await assert.rejects(
    prepareTensorFiles(
      { dataset: 'cifar10', dataDir: empty, trainSubset: 256, testSubset: 128 },
      { allowDownload: false, cacheDir: path.join(tmp, 'empty-cache', 'datasets'), systemDir: null },
    ),
    (err: unknown) => {
      assert.ok(err instanceof DataError);
      assert.equal(err.file, path.join(empty, 'cifar-10-binary.tar.gz'));
      assert.match(err.message, /CIFAR-10 not found: put cifar-10-binary\.tar\.gz .* in /);
      return true;
    },
  );
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const variant = path.join(root, 'templates/regularizers/blank.py');
  const gone = path.join(tmp, 'gone.u8');
  const r = await runWorker(smokeSpec(variant, { tensors: { ...tensors, train: { path: gone, n: 256 } } }));
  const end = checkShape(r);
  const err = r.events.find((e): e is ErrorEvent => e.type === 'error');
  assert.ok(err);
  assert.equal(err.kind, 'data');
  assert.equal(err.file, gone);
  assert.equal(end.status, 'failed');
  assert.equal(r.code, 1);
});

test('a cuda request without cuda is a usage error; a bad spec too', async (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const variant = path.join(root, 'templates/regularizers/blank.py');
  const r = await runWorker(smokeSpec(variant, { device: 'cuda' }), { CUDA_VISIBLE_DEVICES: '' });
  checkShape(r);
  const err = r.events.find((e): e is ErrorEvent => e.type === 'error');
  assert.equal(err?.kind, 'usage');
  assert.match(err?.message ?? '', /CUDA is not available/);
  assert.equal(r.code, 1);

  const { recipe: _dropped, ...noRecipe } = smokeSpec(variant);
  const bad = await runWorker({ ...noRecipe, epochs: 0 } as unknown as RunSpec);
  const badEnd = checkShape(bad);
  const badErr = bad.events.find((e): e is ErrorEvent => e.type === 'error');
  assert.equal(badErr?.kind, 'usage');
  assert.match(badErr?.message ?? '', /lacks recipe/);
  assert.equal(badEnd.status, 'failed');
  assert.equal(bad.code, 1);
});

test('SIGTERM ends a run promptly with run-end interrupted and exit 0, after a checkpoint once training has begun', async (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const variant = path.join(root, 'templates/regularizers/confidence_penalty.py');
  const runDir = path.join(tmp, 'sigterm-run');
  fs.mkdirSync(runDir, { recursive: true });
  let sentAt = 0;
  const r = await runWorker(smokeSpec(variant, { epochs: 50, runDir }), {}, (e, kill) => {
    if (e.type === 'run-start') {
      sentAt = Date.now();
      kill();
    }
  });
  const end = checkShape(r);
  assert.equal(end.status, 'interrupted');
  assert.equal(r.code, 0);
  const latency = (Date.now() - sentAt) / 1000;
  t.diagnostic(`ended ${latency.toFixed(2)} s after SIGTERM: ${end.reason}`);
  assert.ok(latency < 15, `took ${latency} s after SIGTERM`);
  // Either before the loop took over the signal, or at the first step boundary with a checkpoint.
  const checkpoints = r.events.filter((e) => e.type === 'checkpoint');
  if (checkpoints.length) {
    assert.match(end.reason ?? '', /^stopped by SIGTERM at epoch 1, step \d+; checkpoint written$/);
    assert.ok(fs.existsSync(path.join(runDir, 'checkpoint', 'last.json')));
  } else {
    assert.equal(end.reason, 'stopped by SIGTERM before training began; no checkpoint written');
  }
});

test("SIGUSR2 prints every thread's stack to stderr, naming the line where a stuck variant loops; the run goes on", async (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const source = 'import torch\n\ndef compute_regularization(model, inputs, outputs, targets, config):\n    while True:\n        pass\n';
  const variant = writeVariant('loops_forever.py', source);
  const dumped = new Promise<string>((resolve, reject) => {
    const started = Date.now();
    const proc = spawn(python!, ['-u', worker], {
      cwd: tmp,
      env: { ...process.env, REGBENCH_THREADS: '1', XDG_CACHE_HOME: path.join(tmp, 'empty-cache') },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    let sent = 0;
    let done = false;
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no stack dump within 120 s:\n${stderr}`));
    }, 120_000);
    proc.stdout.setEncoding('utf8');
    proc.stderr.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      stdout += chunk;
      // Once training runs, the variant loops: ask for the stacks (again every 2 s until they come).
      if (!sent && stdout.includes('"type":"run-start"')) {
        const ask = () => {
          if (stderr.includes(variant)) return;
          sent++;
          proc.kill('SIGUSR2');
          setTimeout(ask, 2000);
        };
        setTimeout(ask, 1000);
      }
    });
    proc.stderr.on('data', (chunk: string) => {
      stderr += chunk;
      if (!done && (stderr.includes(`File "${variant}", line 5`) || stderr.includes(`File "${variant}", line 4`))) {
        done = true;
        setTimeout(() => {
          const alive = proc.exitCode === null && proc.signalCode === null;
          clearTimeout(timer);
          proc.kill('SIGKILL');
          resolve(`${alive ? 'alive' : 'dead'} ${((Date.now() - started) / 1000).toFixed(1)} s ${sent} signal(s)\n${stderr}`);
        }, 300);
      }
    });
    proc.on('error', reject);
    proc.on('close', () => reject(new Error(`worker ended before the stack dump:\n${stdout}\n${stderr}`)));
    proc.stdin.end(JSON.stringify(smokeSpec(variant)) + '\n');
  });
  const text = await dumped;
  const [head] = text.split('\n');
  t.diagnostic(`stack dump: ${head}`);
  assert.match(head, /^alive /, 'the run must go on after SIGUSR2');
  assert.match(text, /Thread 0x[0-9a-f]+|Current thread 0x[0-9a-f]+/);
  assert.match(text, new RegExp(`File "${variant.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}", line [45] in compute_regularization`));
  assert.match(text, /train\.py", line \d+ in train_step/);
});

test('findPython: lookup order, first interpreter with torch, and an install hint when none has it', async (t) => {
  assert.deepEqual(pythonCandidates({ setting: '/opt/py', env: { REGBENCH_PYTHON: '/env/py' } }), [
    '/opt/py',
    '/env/py',
    'python3',
    '/usr/bin/python3',
    'python',
  ]);
  assert.deepEqual(pythonCandidates({ env: {} }), ['python3', '/usr/bin/python3', 'python']);
  assert.equal(workerScriptPath('/x/dist'), path.join('/x/dist', 'pytorch', 'worker.py'));
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const found = await findPython({ setting: path.join(tmp, 'no-such-python'), env: { ...process.env, REGBENCH_PYTHON: python } });
  assert.equal(found.python, python);
  assert.match(found.torchVersion, /^\d+\.\d+/);
  // A torch module that cannot be imported shadows the real one for every candidate.
  const fake = path.join(tmp, 'fake-torch');
  fs.mkdirSync(fake, { recursive: true });
  fs.writeFileSync(path.join(fake, 'torch.py'), 'raise ImportError("broken torch for the test")\n');
  await assert.rejects(findPython({ setting: path.join(tmp, 'no-such-python'), env: { ...process.env, PYTHONPATH: fake } }), (err: Error) => {
    assert.match(err.message, /apt-get install python3-torch/);
    assert.match(err.message, /pip install torch/);
    assert.match(err.message, /no-such-python: not found/);
    assert.match(err.message, /\/usr\/bin\/python3: cannot import torch/);
    return true;
  });
});

test('regbench run on a .py variant: the runner prepares the images, the worker trains on them; missing data fails before the worker', async (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const cli = path.join(root, 'bin', 'regbench.js');
  const workspace = path.join(tmp, 'ws');
  fs.mkdirSync(workspace, { recursive: true });
  const cache = path.join(tmp, 'cli-cache');
  const env = { ...process.env, XDG_CACHE_HOME: cache, REGBENCH_OFFLINE: '1', REGBENCH_DATA: '', REGBENCH_PYTHON: python, OMP_WAIT_POLICY: 'PASSIVE' };
  const variant = path.join(root, 'templates/regularizers/blank.py');
  const args = [
    'run',
    variant,
    '--bench',
    'resnet20-cifar10',
    '--budget',
    'smoke',
    '--train-subset',
    '256',
    '--test-subset',
    '128',
    '--device',
    'cpu',
    '--json',
    '--workspace',
    workspace,
  ];
  const started = Date.now();
  const r = spawnSync(process.execPath, [cli, ...args, '--data-dir', dataDir], { encoding: 'utf8', env, timeout: 300_000 });
  t.diagnostic(`regbench run (pytorch, smoke 256/128): ${((Date.now() - started) / 1000).toFixed(1)} s`);
  assert.equal(r.status, 0, r.stderr);
  const events = r.stdout
    .trim()
    .split('\n')
    .map((l) => parseEventLine(l)!);
  const start = events.find((e) => e.type === 'run-start');
  assert.ok(start && start.type === 'run-start');
  assert.equal(start.trainImages, 256);
  assert.equal(start.testImages, 128);
  const files = fs.readdirSync(path.join(cache, 'regbench', 'tensors')).sort();
  assert.deepEqual(
    files.map((f) => f.replace(/-[0-9a-f]{16}\./, '-<sha>.')),
    ['cifar10-test-128-<sha>.json', 'cifar10-test-128-<sha>.u8', 'cifar10-train-256-<sha>.json', 'cifar10-train-256-<sha>.u8'],
  );
  // The worker was handed the files prepared here: the same bytes as the test's own preparation.
  assert.deepEqual(files.filter((f) => f.endsWith('.u8')).sort(), [path.basename(tensors.test.path), path.basename(tensors.train.path)]);
  const end = events[events.length - 1];
  assert.ok(end.type === 'run-end' && end.status === 'completed');

  const empty = path.join(tmp, 'cli-no-data');
  fs.mkdirSync(empty, { recursive: true });
  const missing = spawnSync(process.execPath, [cli, ...args, '--data-dir', empty], { encoding: 'utf8', env, timeout: 120_000 });
  assert.equal(missing.status, 1, missing.stderr);
  assert.match(missing.stderr, /run failed: CIFAR-10 not found: put cifar-10-binary\.tar\.gz/);
  assert.ok(missing.stderr.includes(empty), missing.stderr);
  const record = spawnSync(process.execPath, [cli, 'list', '--json', '--workspace', workspace], { encoding: 'utf8', env });
  assert.match(record.stdout, /"status":"failed"/);
});
