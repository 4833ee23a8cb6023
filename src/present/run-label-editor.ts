/**
 * Labels that tell runs apart (the editor's tree, pickers, notifications, diff titles): the name a
 * user gave the run, else the variant file with its edit number (the n-th distinct source of that
 * file that was run), then benchmark, seed and best accuracy. And the compact diff of a run's
 * source against the previous run of the same file, for the tree's hover. Pure; no `vscode`.
 * The label itself is the dashboard's (src/present/run-label.ts): one format everywhere.
 */
import type { RunRecord } from '../runs/run-record';
import { runLabel, shortHash } from './run-label';

type Labelled = Pick<RunRecord, 'id' | 'spec' | 'bestTestAcc' | 'displayName'>;
type Ended = Labelled & Pick<RunRecord, 'status'>;

/** "my-reg" from ".../variants/my-reg.ts". */
export function variantBase(variantPath: string): string {
  return (
    variantPath
      .replace(/\\/g, '/')
      .split('/')
      .pop()
      ?.replace(/\.(ts|js|py|mjs|cjs)$/, '') ?? variantPath
  );
}

/** What names the run's source: "#2 (a1b2c3)", or "(a1b2c3)" when the edit is unknown. */
export function sourceTag(r: Labelled, edit: number | undefined): string {
  return `${edit ? `#${edit} ` : ''}(${shortHash(r.spec.variantHash)})`;
}

/** A record's label in the one format (runLabel): "my-reg #2 (a1b2c3) · ResNet-20/C10 · s0 · 71.3%". */
export function recordLabel(r: Labelled, edit: number | undefined): string {
  return runLabel({
    displayName: r.displayName,
    variantName: variantBase(r.spec.variantPath),
    variantHash: r.spec.variantHash,
    edit: edit ?? null,
    bench: r.spec.bench,
    seed: r.spec.seed,
    bestTestAcc: r.bestTestAcc,
  });
}

/** The tree's label under variant → benchmark: the name, then the edit and short hash, and the seed. */
export function runTreeLabel(r: Labelled, edit: number | undefined): string {
  const named = r.displayName?.trim();
  return [named, sourceTag(r, edit), `s${r.spec.seed}`].filter(Boolean).join(' · ');
}

/** "6 runs ended: 5 completed, 1 failed. Best: my-reg edit 2 · ResNet-20/C10 · seed 0 · 71.3%." */
export function batchSummary<T extends Ended>(records: readonly T[], label: (r: T) => string): string {
  const counts = new Map<string, number>();
  for (const r of records) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  const order = ['completed', 'interrupted', 'diverged', 'failed', 'cancelled'];
  const parts = [...counts].sort((a, b) => order.indexOf(a[0]) - order.indexOf(b[0])).map(([s, n]) => `${n} ${s}`);
  const scored = records.filter((r) => r.status === 'completed' && r.bestTestAcc !== null);
  const best = scored.reduce<T | undefined>((b, r) => (!b || (r.bestTestAcc ?? 0) > (b.bestTestAcc ?? 0) ? r : b), undefined);
  return `${records.length} runs ended: ${parts.join(', ')}.${best ? ` Best: ${label(best)}.` : ''}`;
}

/** The latest run of the same file created before `r` (any benchmark or seed). */
export function previousRunOfFile<T extends Labelled>(records: readonly T[], r: Labelled): T | undefined {
  let best: T | undefined;
  for (const x of records) {
    if (x.spec.variantPath !== r.spec.variantPath || x.id >= r.id) continue;
    if (!best || x.id > best.id) best = x;
  }
  return best;
}

/**
 * A unified diff of two sources with `context` lines around each change and `@@ -a,n +b,m @@`
 * hunk headers; at most `maxLines` lines (then "…"). Empty when the sources are equal.
 */
export function compactDiff(before: string, after: string, context = 1, maxLines = 40): string[] {
  const a = before.split('\n');
  const b = after.split('\n');
  const ops = diffOps(a, b);
  const out: string[] = [];
  const changed = ops.map((o) => o.kind !== ' ');
  let i = 0;
  while (i < ops.length) {
    if (!changed[i]) {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // Extend the hunk while the next change is within 2 * context lines.
    for (let j = i; j < ops.length; j++) {
      if (changed[j]) end = j;
      else if (j - end > 2 * context) break;
    }
    const stop = Math.min(ops.length, end + context + 1);
    const hunk = ops.slice(start, stop);
    const first = hunk[0];
    const aCount = hunk.filter((o) => o.kind !== '+').length;
    const bCount = hunk.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${first.aLine + 1},${aCount} +${first.bLine + 1},${bCount} @@`);
    for (const o of hunk) out.push(`${o.kind}${o.text}`);
    i = stop;
  }
  return out.length > maxLines ? [...out.slice(0, maxLines), `… ${out.length - maxLines} more lines`] : out;
}

interface DiffOp {
  kind: ' ' | '-' | '+';
  text: string;
  /** Line index in `a` (for '+': where it would go) and in `b`. */
  aLine: number;
  bLine: number;
}

/** Line operations from a longest common subsequence (variants are a few hundred lines at most). */
function diffOps(a: readonly string[], b: readonly string[]): DiffOp[] {
  const n = a.length;
  const m = b.length;
  // lcs[i][j]: length of the LCS of a[i..] and b[j..], in one flat array.
  const lcs = new Uint32Array((n + 1) * (m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * (m + 1) + j] = a[i] === b[j] ? lcs[(i + 1) * (m + 1) + j + 1] + 1 : Math.max(lcs[(i + 1) * (m + 1) + j], lcs[i * (m + 1) + j + 1]);
    }
  }
  const ops: DiffOp[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) ops.push({ kind: ' ', text: a[i++], aLine: i - 1, bLine: j++ });
    // Removals before additions, as diff tools show a changed line.
    else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j] >= lcs[i * (m + 1) + j + 1])) ops.push({ kind: '-', text: a[i++], aLine: i - 1, bLine: j });
    else ops.push({ kind: '+', text: b[j++], aLine: i, bLine: j - 1 });
  }
  return ops;
}
