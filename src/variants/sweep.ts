/**
 * Sweeps over a variant's top-level constants: finding them (TypeScript `const NAME = literal`,
 * possibly exported and typed; Python `NAME = literal` at module level), parsing `--set
 * NAME=v1,v2` against them, and deriving the source of one sweep point with the values rewritten.
 * Pure functions (no file system): the editor's "Sweep…" action and `regbench sweep`/`race` share
 * them. The derived source keeps every line where it was (errors point at the same line as in the
 * user's file); the rewritten line ends with a comment naming its origin.
 */
import type { EngineId } from '../protocol/benchmarks';

export type ConstType = 'number' | 'string' | 'boolean';
export type ConstValue = number | string | boolean;

export interface TopLevelConst {
  name: string;
  type: ConstType;
  value: ConstValue;
  /** 0-based line and the column range of the literal in that line (for a code lens or an edit). */
  line: number;
  valueStart: number;
  valueEnd: number;
  /** The literal as written ("0.1", "'mean'", "True"). */
  text: string;
}

/** A value that could not be set: one line, naming the constant and what to fix. */
export class SweepError extends Error {}

const TS_CONST = /^(export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::\s*[^=]+?)?\s*=\s*/;
const PY_ASSIGN = /^([A-Za-z_]\w*)\s*(?::\s*[^=]+?)?\s*=\s*(?!=)/;

/** The top-level constants of a source whose value is a number, string or boolean literal. */
export function findTopLevelConsts(source: string, engine: EngineId): TopLevelConst[] {
  const lines = source.split('\n');
  const topLevel = engine === 'pytorch' ? pythonTopLevelLines(source) : tsTopLevelLines(source);
  const out: TopLevelConst[] = [];
  lines.forEach((raw, line) => {
    if (!topLevel.has(line)) return;
    const text = raw.replace(/\r$/, '');
    const m = (engine === 'pytorch' ? PY_ASSIGN : TS_CONST).exec(text);
    if (!m) return;
    const name = engine === 'pytorch' ? m[1] : m[2];
    const start = m[0].length;
    const lit = readLiteral(text.slice(start), engine);
    if (!lit) return;
    const rest = text.slice(start + lit.text.length).trim();
    const endOk = engine === 'pytorch' ? rest === '' || rest.startsWith('#') : /^;?\s*(\/\/.*|\/\*.*)?$/.test(rest);
    if (!endOk) return;
    out.push({ name, type: lit.type, value: lit.value, line, valueStart: start, valueEnd: start + lit.text.length, text: lit.text });
  });
  // A Python name assigned twice at module level is not a constant one could sweep.
  return out.filter((c) => out.filter((o) => o.name === c.name).length === 1);
}

/** A literal at the start of `s`: number, quoted string (no escapes of the quote), boolean. */
function readLiteral(s: string, engine: EngineId): { type: ConstType; value: ConstValue; text: string } | undefined {
  const num = /^[-+]?(\d[\d_]*\.?[\d_]*|\.\d[\d_]*)([eE][-+]?\d+)?(?![\w.])/.exec(s);
  if (num) {
    const value = Number(num[0].replace(/_/g, ''));
    if (Number.isFinite(value)) return { type: 'number', value, text: num[0] };
  }
  const str = /^(['"])((?:\\.|(?!\1)[^\\\n])*)\1/.exec(s);
  if (str) {
    if (engine === 'pytorch' && /^[rRbBfFuU]/.test(s)) return undefined;
    return { type: 'string', value: unescape(str[2]), text: str[0] };
  }
  const bools = engine === 'pytorch' ? { True: true, False: false } : { true: true, false: false };
  for (const [word, value] of Object.entries(bools)) {
    if (new RegExp(`^${word}(?![\\w$])`).test(s)) return { type: 'boolean', value, text: word };
  }
  return undefined;
}

function unescape(body: string): string {
  return body.replace(/\\(.)/g, (_m, c: string) => ({ n: '\n', t: '\t', r: '\r' })[c] ?? c);
}

/** Parses a `--set` value as the constant's type; throws SweepError naming the constant. */
export function parseSweepValue(c: TopLevelConst, text: string, file: string): ConstValue {
  const t = text.trim();
  if (c.type === 'number') {
    const v = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t) ? Number(t) : NaN;
    if (!Number.isFinite(v)) throw new SweepError(`${file}:${c.line + 1}: ${c.name} is a number (${c.text}); '${text}' is not a number`);
    return v;
  }
  if (c.type === 'boolean') {
    const b = t.toLowerCase();
    if (b !== 'true' && b !== 'false') throw new SweepError(`${file}:${c.line + 1}: ${c.name} is a boolean (${c.text}); '${text}' is neither true nor false`);
    return b === 'true';
  }
  return text;
}

/** The literal of a value in the engine's syntax. */
export function formatLiteral(value: ConstValue, engine: EngineId): string {
  if (typeof value === 'boolean') return engine === 'pytorch' ? (value ? 'True' : 'False') : String(value);
  if (typeof value === 'number') return Number.isInteger(value) && Math.abs(value) < 1e21 ? String(value) : String(value);
  return JSON.stringify(value);
}

export type SweepSpec = ReadonlyArray<{ name: string; values: readonly string[] }>;

export interface SweepPoint {
  /** Name -> typed value, in the order of the `--set` options. */
  values: Record<string, ConstValue>;
  /** "BETA=0.3 GAMMA=true". */
  suffix: string;
}

/** `NAME=v1,v2` -> { name, values }; throws SweepError on a malformed option. */
export function parseSetOption(text: string): { name: string; values: string[] } {
  const m = /^([A-Za-z_$][\w$]*)=(.*)$/s.exec(text);
  if (!m || m[2] === '') throw new SweepError(`--set takes NAME=v1,v2,...; got '${text}'`);
  return { name: m[1], values: m[2].split(',') };
}

/**
 * Every point of the grid (the cartesian product of the sets), each value checked against the
 * constant's type. Throws SweepError for a name that is not a top-level constant of the file
 * (listing the ones it has) or a value of the wrong type.
 */
export function sweepPoints(consts: readonly TopLevelConst[], spec: SweepSpec, file: string): SweepPoint[] {
  if (spec.length === 0) throw new SweepError('a sweep needs at least one --set NAME=v1,v2');
  const seen = new Set<string>();
  const axes = spec.map(({ name, values }) => {
    if (seen.has(name)) throw new SweepError(`--set ${name} is given twice`);
    seen.add(name);
    const c = consts.find((x) => x.name === name);
    if (!c) {
      const have = consts.length
        ? `its top-level constants are ${consts.map((x) => x.name).join(', ')}`
        : 'it has no top-level constant with a number, string or boolean value';
      throw new SweepError(`${file}: '${name}' is not a top-level constant of this file; ${have}`);
    }
    const typed = values.map((v) => parseSweepValue(c, v, file));
    if (new Set(typed.map(String)).size !== typed.length) throw new SweepError(`--set ${name}: a value is listed twice`);
    return { name, typed, texts: values.map((v) => v.trim()) };
  });
  let points: SweepPoint[] = [{ values: {}, suffix: '' }];
  for (const axis of axes) {
    points = points.flatMap((p) =>
      axis.typed.map((v, i) => ({
        values: { ...p.values, [axis.name]: v },
        suffix: `${p.suffix}${p.suffix ? ' ' : ''}${axis.name}=${axis.texts[i]}`,
      })),
    );
  }
  return points;
}

/**
 * The source of one sweep point: each named constant's literal replaced, every other byte as it
 * was; the rewritten line ends with a comment naming the original file and value.
 */
export function deriveSource(source: string, engine: EngineId, values: Readonly<Record<string, ConstValue>>, originName: string): string {
  const consts = findTopLevelConsts(source, engine);
  const lines = source.split('\n');
  for (const [name, value] of Object.entries(values)) {
    const c = consts.find((x) => x.name === name);
    if (!c) throw new SweepError(`${originName}: '${name}' is not a top-level constant of this file`);
    const old = lines[c.line];
    const cr = old.endsWith('\r') ? '\r' : '';
    const body = old.slice(0, old.length - cr.length);
    const mark = engine === 'pytorch' ? '#' : '//';
    lines[c.line] =
      `${body.slice(0, c.valueStart)}${formatLiteral(value, engine)}${body.slice(c.valueEnd)}  ${mark} regbench sweep: ${c.text} in ${originName}${cr}`;
  }
  return lines.join('\n');
}

/** "confidence-penalty BETA=0.3" from the file's base name and the point. */
export function sweepLabel(file: string, point: SweepPoint): string {
  const base =
    file
      .replace(/\\/g, '/')
      .split('/')
      .pop()
      ?.replace(/\.(ts|js|mjs|cjs|py)$/, '') ?? file;
  return `${base} ${point.suffix}`;
}

/**
 * Lines (0-based) that start at the top level of a TypeScript/JavaScript source: not inside a
 * brace, bracket or parenthesis, a block comment or a template literal.
 */
function tsTopLevelLines(source: string): Set<number> {
  const top = new Set<number>();
  let depth = 0;
  let line = 0;
  let state: 'code' | 'block' | 'line' | 'sq' | 'dq' | 'tpl' = 'code';
  let atLineStart = true;
  for (let i = 0; i < source.length; i++) {
    const ch = source[i];
    if (atLineStart) {
      if (state === 'code' && depth === 0) top.add(line);
      atLineStart = false;
    }
    const next = source[i + 1];
    if (ch === '\n') {
      line++;
      atLineStart = true;
      if (state === 'line' || state === 'sq' || state === 'dq') state = 'code';
      continue;
    }
    if (state === 'block') {
      if (ch === '*' && next === '/') {
        state = 'code';
        i++;
      }
    } else if (state === 'sq' || state === 'dq' || state === 'tpl') {
      if (ch === '\\') i++;
      else if ((state === 'sq' && ch === "'") || (state === 'dq' && ch === '"') || (state === 'tpl' && ch === '`')) state = 'code';
    } else if (state === 'code') {
      if (ch === '/' && next === '*') {
        state = 'block';
        i++;
      } else if (ch === '/' && next === '/') state = 'line';
      else if (ch === "'") state = 'sq';
      else if (ch === '"') state = 'dq';
      else if (ch === '`') state = 'tpl';
      else if ('{(['.includes(ch)) depth++;
      else if ('})]'.includes(ch)) depth = Math.max(0, depth - 1);
    }
  }
  return top;
}

/** Lines (0-based) at Python module level: no indentation, outside brackets and triple-quoted strings. */
function pythonTopLevelLines(source: string): Set<number> {
  const top = new Set<number>();
  let depth = 0;
  let triple: string | null = null;
  let continued = false;
  source.split('\n').forEach((text, line) => {
    const startsInside = triple !== null || depth > 0 || continued;
    if (!startsInside && /^[A-Za-z_]/.test(text)) top.add(line);
    let quote: string | null = null;
    for (let i = 0; i < text.length; i++) {
      const ch = text[i];
      if (triple) {
        if (text.startsWith(triple, i)) {
          i += 2;
          triple = null;
        }
        continue;
      }
      if (quote) {
        if (ch === '\\') i++;
        else if (ch === quote) quote = null;
        continue;
      }
      if (ch === '#') break;
      if (text.startsWith('"""', i) || text.startsWith("'''", i)) {
        triple = text.slice(i, i + 3);
        i += 2;
      } else if (ch === '"' || ch === "'") quote = ch;
      else if ('([{'.includes(ch)) depth++;
      else if (')]}'.includes(ch)) depth = Math.max(0, depth - 1);
    }
    continued = triple === null && /\\\r?$/.test(text);
  });
  return top;
}
