/**
 * Labels that tell runs apart: "my-reg #3 (a1b2c3) · ResNet-20/C10 · s0 · 91.2%". Two runs of
 * the same variant file before and after an edit differ in the edit number and the short source
 * hash; a user-given name (`displayName`) replaces both. Pure (no `vscode`): the dashboard, the
 * runs tree, the pickers and the notifications all call it.
 */
import { getBenchmark, isBenchId } from '../protocol/benchmarks';

/** What a label is made of; a RunSummary has all of it. */
export interface LabelParts {
  /** The user's name for the run, when they gave one; replaces variant, edit and hash. */
  displayName?: string;
  /** Variant file name without folder and extension. */
  variantName: string;
  variantHash: string;
  /** 1-based edit number of the variant file (see editNumbers); null or absent when unknown. */
  edit?: number | null;
  bench: string;
  seed: number;
  /** Percent; null before the first epoch (and for held-out benchmarks). */
  bestTestAcc: number | null;
}

/** The first 6 hex digits of a source hash: enough to tell a file's versions apart. */
export function shortHash(hash: string): string {
  return hash.slice(0, 6);
}

export function benchShortName(bench: string): string {
  return isBenchId(bench) ? getBenchmark(bench).short : bench;
}

/** "91.2%" (one decimal, as people quote accuracies); "" when there is none yet. */
export function formatBestAcc(acc: number | null | undefined): string {
  return typeof acc === 'number' && Number.isFinite(acc) ? `${acc.toFixed(1)}%` : '';
}

/** The variant part: "my-reg #3 (a1b2c3)", "my-reg (a1b2c3)" without an edit number, or the user's name. */
export function variantLabel(p: Pick<LabelParts, 'displayName' | 'variantName' | 'variantHash' | 'edit'>): string {
  const given = p.displayName?.trim();
  if (given) return given;
  const edit = typeof p.edit === 'number' && p.edit > 0 ? ` #${p.edit}` : '';
  return `${p.variantName}${edit} (${shortHash(p.variantHash)})`;
}

/** "my-reg #3 (a1b2c3) · ResNet-20/C10 · s0 · 91.2%" (the accuracy part only once there is one). */
export function runLabel(p: LabelParts): string {
  const parts = [variantLabel(p), benchShortName(p.bench), `s${p.seed}`, formatBestAcc(p.bestTestAcc)];
  return parts.filter((x) => x !== '').join(' · ');
}

/** What editNumbers needs of a run; a RunRecord fits as it is. */
export interface EditSource {
  id: string;
  createdAt: string;
  spec: { variantPath: string; variantHash: string };
}

/** Either slash names the same file (Windows paths arrive both ways). */
function fileKey(variantPath: string): string {
  return variantPath.replace(/\\/g, '/');
}

/**
 * The edit number of every run: the n-th distinct source hash of its variant file, counted in
 * order of the runs' creation (the first version of a file is #1; a file changed back to an
 * older version keeps that version's number). Keyed by run id.
 */
export function editNumbers(runs: Iterable<EditSource>): Map<string, number> {
  const ordered = [...runs].sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  const versions = new Map<string, Map<string, number>>();
  const out = new Map<string, number>();
  for (const r of ordered) {
    const file = fileKey(r.spec.variantPath);
    let seen = versions.get(file);
    if (!seen) versions.set(file, (seen = new Map()));
    let n = seen.get(r.spec.variantHash);
    if (n === undefined) seen.set(r.spec.variantHash, (n = seen.size + 1));
    out.set(r.id, n);
  }
  return out;
}
