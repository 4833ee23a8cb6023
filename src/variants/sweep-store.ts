/**
 * Where the variants of a sweep live: `.regbench/sweeps/<hash>/<file name>`, one copy of the
 * user's file per sweep point with the values rewritten (src/variants/sweep.ts); the user's file
 * is never modified. The copy keeps the file's name, so runs are named after it; the label
 * ("confidence-penalty BETA=0.3") says which point it is.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { engineForFile, UsageError, variantHash } from '../runs/run-request';
import { writeAtomic } from '../runs/run-store';
import type { EngineId } from '../protocol/benchmarks';
import { deriveSource, findTopLevelConsts, sweepLabel, sweepPoints, SweepError, type ConstValue, type SweepSpec } from './sweep';

export interface SweepVariant {
  /** The derived file in the store. */
  path: string;
  hash: string;
  label: string;
  engine: EngineId;
  origin: string;
  values: Record<string, ConstValue>;
}

export function sweepsDir(storeRoot: string): string {
  return path.join(storeRoot, 'sweeps');
}

/**
 * Writes one derived variant per grid point of `spec` over `file` into the store (idempotent: the
 * same point gives the same path). Throws UsageError (one line) on a missing file, an unknown
 * constant or a value of the wrong type; nothing is written then.
 */
export function deriveSweep(file: string, spec: SweepSpec, storeRoot: string): SweepVariant[] {
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`${file}: variant file not found`);
  }
  const engine = engineForFile(file);
  try {
    const points = sweepPoints(findTopLevelConsts(source, engine), spec, file);
    const derived = points.map((p) => {
      const text = deriveSource(source, engine, p.values, path.basename(file));
      return { p, text, hash: variantHash(text) };
    });
    return derived.map(({ p, text, hash }) => {
      const dir = path.join(sweepsDir(storeRoot), hash);
      const out = path.join(dir, path.basename(file));
      if (!fs.existsSync(out)) {
        fs.mkdirSync(dir, { recursive: true });
        writeAtomic(out, text);
      }
      return { path: out, hash, label: sweepLabel(file, p), engine, origin: path.resolve(file), values: p.values };
    });
  } catch (err) {
    if (err instanceof SweepError) throw new UsageError(err.message);
    throw err;
  }
}
