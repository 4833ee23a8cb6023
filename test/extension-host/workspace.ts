/**
 * The workspace the in-host tests open: a template variant in variants/ and a .regbench store
 * with two completed runs of it (seeds 0 and 1, records from test/fixtures/run-records.ts).
 * Run as `node dist/test-host/workspace.js <folder>`; the constants are what the suite expects.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fixtureRecord } from '../fixtures/run-records';

export const VARIANT_FILE = 'variants/l2-penalty.ts';
export const TEMPLATE = 'templates/regularizers/l2-penalty.ts';
/** Best test accuracies of the two runs, seed 0 then seed 1. */
export const ACCURACIES = [72.4, 73.0];

export function makeWorkspace(repoRoot: string, folder: string): void {
  const variant = path.join(folder, VARIANT_FILE);
  fs.mkdirSync(path.dirname(variant), { recursive: true });
  const source = fs.readFileSync(path.join(repoRoot, TEMPLATE), 'utf8');
  fs.writeFileSync(variant, source);
  ACCURACIES.forEach((acc, seed) => {
    const id = `20260101-000${seed}00-resnet56-s${seed}-host`;
    const dir = path.join(folder, '.regbench', 'runs', id);
    fs.mkdirSync(dir, { recursive: true });
    const createdAt = `2026-01-01T00:0${seed}:00.000Z`;
    const record = fixtureRecord(id, createdAt, { variantPath: variant, variantHash: 'host0001', seed, runDir: dir }, { bestTestAcc: acc });
    fs.writeFileSync(path.join(dir, 'record.json'), JSON.stringify(record, null, 2) + '\n');
    fs.writeFileSync(path.join(dir, record.variantSnapshot), source);
    fs.writeFileSync(path.join(dir, 'events.jsonl'), '');
  });
}

if (require.main === module) {
  const folder = process.argv[2];
  if (!folder) throw new Error('usage: node dist/test-host/workspace.js <folder>');
  makeWorkspace(path.resolve(__dirname, '..', '..'), path.resolve(folder));
}
