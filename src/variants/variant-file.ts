/**
 * Is a file a Regbench variant? A .ts/.js/.py file that defines the regularizer entry point
 * (computeRegularization / compute_regularization) or CustomNorm. Also where in the file those
 * definitions are, for code lenses: a cheap line regex, no parsing, so it can run on every edit.
 * No `vscode` import.
 */
import * as path from 'node:path';
import { detectVariantKind, engineForFile } from '../runs/run-request';
import type { EngineId } from '../protocol/benchmarks';
import type { VariantKind } from '../protocol/benchmark-tracks';

const VARIANT_EXTENSIONS: ReadonlySet<string> = new Set(['.ts', '.js', '.mjs', '.cjs', '.py']);

export function hasVariantExtension(file: string): boolean {
  return VARIANT_EXTENSIONS.has(path.extname(file).toLowerCase());
}

export type VariantCheck = { ok: true; engine: EngineId; kind: VariantKind } | { ok: false; reason: string };

/** Checks a file by name and source, with the same rules the runner applies before a run. */
export function checkVariant(file: string, source: string): VariantCheck {
  if (!hasVariantExtension(file)) {
    return { ok: false, reason: `${path.basename(file)} is not a variant: a variant is a .ts, .js or .py file` };
  }
  const engine = engineForFile(file);
  const kind = detectVariantKind(source, engine);
  if (!kind.regularizer && !kind.norm) {
    const names =
      engine === 'pytorch'
        ? '`def compute_regularization(...)` or `class CustomNorm(nn.Module)`'
        : '`export function computeRegularization(...)` or `export class CustomNorm`';
    return { ok: false, reason: `${path.basename(file)} is not a variant: it defines neither ${names}` };
  }
  return { ok: true, engine, kind };
}

export interface LensAnchor {
  /** 0-based line of the definition. */
  line: number;
  /** Column where the defined name starts and its length, for the lens range. */
  column: number;
  length: number;
  entry: 'regularizer' | 'norm';
}

const TS_ANCHOR =
  /^[ \t]*(?:export[ \t]+)?(?:(?:async[ \t]+)?function[ \t]*\*?[ \t]*(computeRegularization)\b|(?:const|let|var)[ \t]+(computeRegularization)\b|(?:default[ \t]+)?class[ \t]+(CustomNorm)\b)/gm;
const PY_ANCHOR = /^(?:def[ \t]+(compute_regularization)\b|class[ \t]+(CustomNorm)\b)/gm;

/** The definitions a lens sits on, in file order. Python definitions must be top level. */
export function findLensAnchors(file: string, text: string): LensAnchor[] {
  if (!hasVariantExtension(file)) return [];
  const python = path.extname(file).toLowerCase() === '.py';
  const pattern = new RegExp(python ? PY_ANCHOR : TS_ANCHOR);
  const anchors: LensAnchor[] = [];
  for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
    const name = m.slice(1).find((g) => g !== undefined) as string;
    const start = m.index + m[0].length - name.length;
    const lineStart = text.lastIndexOf('\n', m.index) + 1;
    const line = countNewlines(text, lineStart);
    anchors.push({ line, column: start - lineStart, length: name.length, entry: name === 'CustomNorm' ? 'norm' : 'regularizer' });
  }
  return anchors;
}

function countNewlines(text: string, end: number): number {
  let n = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < end; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/** Paths name the same variant file (case-insensitively on Windows and macOS file systems). */
export function sameFile(a: string, b: string, platform: NodeJS.Platform = process.platform): boolean {
  const norm = (p: string) => path.resolve(p);
  return platform === 'win32' || platform === 'darwin' ? norm(a).toLowerCase() === norm(b).toLowerCase() : norm(a) === norm(b);
}
