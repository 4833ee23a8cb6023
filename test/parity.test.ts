/**
 * Cross-engine parity on all five architectures (src/engine/parity/run-parity.ts): PyTorch's
 * weights copied into TensorFlow.js by name, then eval logits, running statistics after a training
 * forward, and one SGD step with weight decay and the confidence penalty, each within
 * PARITY_TOLERANCES. Batch 4 (VGG-16-BN and MobileNetV2 too; about 6-12 s per architecture on a
 * loaded 2-core machine). Needs a Python with torch (Debian: /usr/bin/python3 from python3-torch);
 * without one the architecture tests are skipped with the launcher's message.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { BENCHMARKS, type BenchId } from '../src/protocol/benchmarks';
import { findPython } from '../src/engine/pytorch/launcher';
import { PARITY_TOLERANCES, runParity, type ParityReport } from '../src/engine/parity/run-parity';
import { runParityCommand } from '../src/cli/parity-command';
import { UsageError } from '../src/runs/run-request';
import { requireTool } from './requirements';

let python: string | undefined;
let noPython = '';

before(async () => {
  try {
    python = (await findPython({ setting: process.env.REGBENCH_PYTHON ?? '/usr/bin/python3' })).python;
  } catch (err) {
    noPython = (err as Error).message;
  }
});

/** state_dict entries without num_batches_tracked (docs/architectures.md) and dropout layers. */
const EXPECTED: Record<BenchId, { tensors: number; dropout: number }> = {
  'resnet20-cifar10': { tensors: 107, dropout: 0 },
  'resnet56-cifar100': { tensors: 287, dropout: 0 },
  'resnet110-cifar100': { tensors: 557, dropout: 0 },
  'vgg16bn-cifar100': { tensors: 84, dropout: 2 },
  'mobilenetv2-fmnist': { tensors: 262, dropout: 1 },
};

function assertWithinTolerances(r: ParityReport): void {
  const summary = r.checks
    .map((c) => `${c.id} ${c.error} (<= ${c.tolerance}${c.worst ? `, worst ${c.worst}` : ''}${c.pass ? '' : `; ${c.note ?? ''}`})`)
    .join('\n');
  assert.deepEqual(
    r.checks.map((c) => c.id),
    Object.keys(PARITY_TOLERANCES),
    summary,
  );
  for (const c of r.checks) assert.ok(c.pass && c.error <= PARITY_TOLERANCES[c.id], `${r.bench}: ${c.id} failed\n${summary}`);
  assert.equal(r.pass, true);
  assert.equal(r.tensors, EXPECTED[r.bench].tensors);
  assert.equal(r.dropoutLayersDisabled, EXPECTED[r.bench].dropout);
  // The comparisons mean something only if the step and the training forward changed the state a
  // lot more than the tolerances, and no ReLU input sat within float32 rounding of its kink.
  assert.ok(r.stepMagnitude > 1e-2, `the step moved parameters by only ${r.stepMagnitude}`);
  assert.ok(r.statsMagnitude > 1e-2, `the training forward moved running statistics by only ${r.statsMagnitude}`);
  assert.ok(r.reluMargin.margin > 1e-5, `a ReLU input sits ${r.reluMargin.margin} from its kink at ${r.reluMargin.at}`);
}

for (const bench of BENCHMARKS.filter((b) => b.id !== 'resnet20-cifar10')) {
  test(`parity ${bench.id}: both engines agree within the tolerances at batch 4`, async (t) => {
    if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
    const report = await runParity({ bench: bench.id, batch: 4, python });
    t.diagnostic(report.checks.map((c) => `${c.id} ${c.error.toExponential(2)}`).join(', ') + ` (${report.seconds.total.toFixed(1)} s)`);
    assertWithinTolerances(report);
  });
}

test('regbench parity --bench resnet20-cifar10 --json: exit 0 and a report within the tolerances; the table names every check', async (t) => {
  if (!requireTool(t, 'torch', Boolean(python), noPython) || !python) return;
  const written: string[] = [];
  const errors: string[] = [];
  const code = await runParityCommand(['--bench', 'resnet20-cifar10', '--batch', '3', '--python', python, '--json'], {
    stdout: (s) => written.push(s),
    stderr: (s) => errors.push(s),
  });
  assert.equal(code, 0, written.join('') + errors.join(''));
  const report = JSON.parse(written.join('')) as ParityReport;
  assert.equal(report.batch, 3);
  assertWithinTolerances(report);
  const { formatParityReport } = await import('../src/cli/parity-command');
  const table = formatParityReport(report);
  for (const c of report.checks) assert.match(table, new RegExp(`${c.title.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(${c.unit}\\) +\\S+ +\\S+  pass`));
  assert.match(table, /PASS: 6\/6 checks/);
});

test('regbench parity rejects a missing or unknown benchmark and a bad batch before doing any work', async () => {
  await assert.rejects(runParityCommand([]), (e: unknown) => e instanceof UsageError && /--bench/.test(e.message));
  await assert.rejects(runParityCommand(['--bench', 'resnet18-imagenet']), (e: unknown) => e instanceof UsageError && /unknown benchmark/.test(e.message));
  await assert.rejects(runParityCommand(['--bench', 'resnet20-cifar10', '--batch', '0']), (e: unknown) => e instanceof UsageError && /--batch/.test(e.message));
  await assert.rejects(
    runParityCommand(['--bench', 'resnet20-cifar10', '--backend', 'webgl']),
    (e: unknown) => e instanceof UsageError && /--backend/.test(e.message),
  );
});
