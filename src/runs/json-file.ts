/**
 * Reading and writing the JSON files of the store (a run's record.json, a matrix's matrix.json and
 * tasks.json; later a race's race.json) so that damage is reported, never thrown nor hidden: a
 * read answers the value, or that the file is missing, or that it is damaged and why (one line
 * naming the file). An object written here carries an `integrity` field (sha256 of the rest), so a
 * flipped bit that still parses (a digit of an accuracy, a letter of a key) is caught too; files
 * written before, or by hand, without that field are read as they are. A damaged file is never
 * overwritten by a repair: `keepAside` renames it to `<file>.damaged-<timestamp>` first.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';

export const INTEGRITY_FIELD = 'integrity';
const INTEGRITY_PATTERN = /^sha256-[0-9a-f]{64}$/;

/** What is wrong with one file of the store: the file, a one-line reason, the line if known. */
export interface FileDamage {
  file: string;
  reason: string;
  line?: number;
}

export type JsonRead<T> =
  { ok: true; value: T } | { ok: false; missing: true; file: string; reason: string } | { ok: false; missing: false; damage: FileDamage };

/** Checks a parsed value's shape: undefined when it is fine, else what is wrong ("no 'spec'"). */
export type ShapeCheck = (value: unknown) => string | undefined;

/** "record.json (…/runs/x/record.json): reason" as one line. */
export function damageText(d: FileDamage): string {
  return `${d.file}${d.line !== undefined ? `:${d.line}` : ''}: ${d.reason}`;
}

/** Writes via a temporary file and rename, so readers see the old or the new content, never half. */
export function writeAtomic(file: string, content: string): void {
  const tmp = `${file}.${process.pid}.${randomBytes(3).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, content);
  fs.renameSync(tmp, file);
}

function digest(text: string): string {
  return `sha256-${createHash('sha256').update(text).digest('hex')}`;
}

/** The file's text for `value`: an object gets its integrity field (last); an array is written as is. */
export function jsonText(value: unknown): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return JSON.stringify(value, null, 2) + '\n';
  const body = { ...(value as Record<string, unknown>) };
  delete body[INTEGRITY_FIELD];
  return JSON.stringify({ ...body, [INTEGRITY_FIELD]: digest(JSON.stringify(body)) }, null, 2) + '\n';
}

/** Writes `value` atomically with its integrity field. */
export function writeJsonFile(file: string, value: unknown): void {
  writeAtomic(file, jsonText(value));
}

/** Why an object's integrity does not hold, or undefined (fine, or written without one). */
function integrityProblem(value: Record<string, unknown>): string | undefined {
  const stored = value[INTEGRITY_FIELD];
  if (stored === undefined) {
    // A flipped bit in the field's name leaves a stray checksum under another name.
    const stray = Object.keys(value).find((k) => typeof value[k] === 'string' && /^sha\d{3}-[0-9a-f]{64}$/.test(value[k] as string));
    return stray ? `its checksum is under an unknown field '${stray}'` : undefined;
  }
  if (typeof stored !== 'string' || !INTEGRITY_PATTERN.test(stored)) return `its '${INTEGRITY_FIELD}' field is not a sha256 checksum`;
  const body = { ...value };
  delete body[INTEGRITY_FIELD];
  return digest(JSON.stringify(body)) === stored ? undefined : 'its content does not match its checksum (changed on disk since it was written)';
}

/**
 * Reads a JSON file of the store. `name` is how messages call it (a path relative to the
 * workspace reads best); the integrity field is checked and removed from the value.
 */
export function readJsonFile<T>(file: string, check?: ShapeCheck, name = file): JsonRead<T> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { ok: false, missing: true, file: name, reason: 'is missing' };
    return { ok: false, missing: false, damage: { file: name, reason: `cannot be read (${code ?? (err as Error).message})` } };
  }
  if (!text.trim()) return { ok: false, missing: false, damage: { file: name, reason: 'is empty (cut off when it was written?)' } };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { ok: false, missing: false, damage: { file: name, reason: `is not valid JSON (${(err as Error).message.split('\n')[0]})` } };
  }
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const bad = integrityProblem(value as Record<string, unknown>);
    if (bad) return { ok: false, missing: false, damage: { file: name, reason: bad } };
    value = { ...(value as Record<string, unknown>) };
    delete (value as Record<string, unknown>)[INTEGRITY_FIELD];
  }
  const shape = check?.(value);
  if (shape) return { ok: false, missing: false, damage: { file: name, reason: shape } };
  return { ok: true, value: value as T };
}

/**
 * Renames a damaged file to `<file>.damaged-<timestamp>` (it stays for the user to look at) and
 * returns the new path, or undefined when there was no file.
 */
export function keepAside(file: string, now = new Date()): string | undefined {
  if (!fs.existsSync(file)) return undefined;
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
  let target = `${file}.damaged-${stamp}`;
  for (let i = 2; fs.existsSync(target); i++) target = `${file}.damaged-${stamp}-${i}`;
  fs.renameSync(file, target);
  return target;
}

/** A path as messages show it: relative to `base` when inside it. */
export function shownPath(file: string, base: string): string {
  const rel = path.relative(base, file);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

/** Small shape checks for ShapeCheck functions. */
export function fieldProblems(value: unknown, fields: Record<string, 'string' | 'number' | 'object' | 'array'>): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'does not hold a JSON object';
  const v = value as Record<string, unknown>;
  for (const [key, kind] of Object.entries(fields)) {
    const x = v[key];
    const ok = kind === 'array' ? Array.isArray(x) : kind === 'object' ? typeof x === 'object' && x !== null && !Array.isArray(x) : typeof x === kind;
    if (!ok)
      return x === undefined ? `has no '${key}' field` : `its '${key}' field is not ${kind === 'array' || kind === 'object' ? `an ${kind}` : `a ${kind}`}`;
  }
  return undefined;
}
