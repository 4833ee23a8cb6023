/**
 * Where the "Sweep…" code lens sits: on every top-level constant with a number, string or boolean
 * value (src/variants/sweep.ts finds them) of a variant file, titled with the constant's name and
 * value. A file that is not a variant (no computeRegularization / CustomNorm) gets none. Pure.
 */
import { checkVariant } from '../variants/variant-file';
import { findTopLevelConsts, type TopLevelConst } from '../variants/sweep';
import { engineForFile } from '../runs/run-request';

export interface SweepLens {
  constant: TopLevelConst;
  /** "Sweep BETA (0.1)…" */
  title: string;
}

export function sweepLenses(file: string, source: string): SweepLens[] {
  if (!checkVariant(file, source).ok) return [];
  return findTopLevelConsts(source, engineForFile(file)).map((c) => ({ constant: c, title: `Sweep ${c.name} (${c.text})…` }));
}
