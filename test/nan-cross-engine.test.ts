/**
 * Both engines treat non-finite values alike: a CustomNorm that is fine in training mode and
 * returns NaN in evaluation mode, run on MobileNetV2 (whose ReLU6 once turned NaN into 0 on the
 * wasm backend, so the run "completed" at chance accuracy), fails in TypeScript and in Python
 * with a variant error that names the file and says "evaluation mode".
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeSyntheticDataset } from '../src/engine/data';
import { findPython } from '../src/engine/pytorch/launcher';
import { RunStore } from '../src/runs/run-store';
import { startRun } from '../src/runs/runner';
import { requireTool } from './requirements';

const repo = path.resolve(__dirname, '..', '..');
const fixtures = path.join(repo, 'test', 'fixtures', 'variants');
let dataDir = '';
let python: string | undefined;

before(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-nan-data-'));
  await writeSyntheticDataset('fashion-mnist', dataDir, { train: 128, test: 64 });
  try {
    python = (await findPython({ setting: '/usr/bin/python3' })).python;
  } catch (err) {
    console.log(`# the PyTorch half is skipped: no Python with torch (${(err as Error).message})`);
  }
});

async function runNorm(file: string) {
  const ws = fs.mkdtempSync(path.join(os.tmpdir(), 'regbench-nan-'));
  const variant = path.join(ws, file);
  fs.copyFileSync(path.join(fixtures, file), variant);
  const handle = await startRun(
    { variantPath: variant, bench: 'mobilenetv2-fmnist', budget: 'smoke', dataDir, trainSubset: 64, testSubset: 32 },
    { store: RunStore.forWorkspace(ws), python, distDir: path.join(repo, 'dist') },
  );
  return handle.done;
}

for (const [engine, file] of [
  ['TypeScript', 'nan-in-eval.ts'],
  ['Python', 'nan_in_eval.py'],
] as const) {
  test(`${engine}: NaN from CustomNorm in evaluation mode fails the run, naming the file and evaluation mode`, async (t) => {
    if (engine === 'Python' && (!requireTool(t, 'torch', Boolean(python)) || !python)) return;
    const record = await runNorm(file);
    assert.equal(record.status, 'failed', `${record.status}: ${record.reason}`);
    assert.equal(record.error?.kind, 'variant');
    assert.match(record.error?.message ?? '', new RegExp(`${file.replace('.', '\\.')}.*evaluation mode`));
    assert.equal(record.bestTestAcc, null, 'no accuracy is recorded from NaN logits');
  });
}
