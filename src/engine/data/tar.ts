/**
 * A minimal tar reader and writer: 512-byte blocks, ustar headers (with the POSIX `prefix`
 * field), GNU long names (`L`) and pax `path`/`size` records, which covers the CIFAR archives
 * and what common tar tools write. The reader works on a whole buffer: the archives here are a
 * few hundred MB at most and are read once per machine.
 */
import { DataError } from './errors';

const BLOCK = 512;

export interface TarEntry {
  name: string;
  type: 'file' | 'directory' | 'other';
  /** A view into the archive buffer (no copy). */
  data: Uint8Array;
}

const decoder = new TextDecoder('utf-8');

function field(block: Uint8Array, start: number, length: number): string {
  let end = start;
  while (end < start + length && block[end] !== 0) end++;
  return decoder.decode(block.subarray(start, end));
}

function parseNumber(block: Uint8Array, start: number, length: number): number {
  // GNU base-256: high bit of the first byte set, big-endian binary in the rest (files >= 8 GiB).
  if (block[start] & 0x80) {
    let v = block[start] & 0x7f;
    for (let i = start + 1; i < start + length; i++) v = v * 256 + block[i];
    return v;
  }
  const text = field(block, start, length).trim();
  return text === '' ? 0 : parseInt(text, 8);
}

function headerChecksum(block: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i];
  return sum;
}

function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

/** Parses pax extended-header records (`<len> key=value\n`). */
function parsePax(data: Uint8Array): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    let sp = pos;
    while (sp < data.length && data[sp] !== 0x20) sp++;
    const len = parseInt(decoder.decode(data.subarray(pos, sp)), 10);
    if (!(len > 0)) break;
    const record = decoder.decode(data.subarray(sp + 1, pos + len - 1));
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

/** Lists the entries of an uncompressed tar archive. `file` names the archive in errors. */
export function readTar(buf: Uint8Array, file: string): TarEntry[] {
  const entries: TarEntry[] = [];
  let offset = 0;
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  while (offset + BLOCK <= buf.length) {
    const header = buf.subarray(offset, offset + BLOCK);
    if (isZeroBlock(header)) break;
    const stored = parseNumber(header, 148, 8);
    if (stored !== headerChecksum(header)) {
      throw new DataError(`${file} is not a valid tar archive: bad header checksum at byte ${offset}`, file, 'corrupt');
    }
    let size = parseNumber(header, 124, 12);
    const typeflag = String.fromCharCode(header[156] || 0x30);
    let name = field(header, 0, 100);
    if (field(header, 257, 5) === 'ustar') {
      const prefix = field(header, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (pax?.has('size')) size = Number(pax.get('size'));
    const dataStart = offset + BLOCK;
    if (dataStart + size > buf.length) {
      throw new DataError(`${file} is truncated: entry '${name}' needs ${size} bytes past byte ${dataStart}`, file, 'corrupt');
    }
    const data = buf.subarray(dataStart, dataStart + size);
    offset = dataStart + Math.ceil(size / BLOCK) * BLOCK;
    if (typeflag === 'L') {
      longName = field(data, 0, data.length);
      continue;
    }
    if (typeflag === 'x') {
      pax = parsePax(data);
      continue;
    }
    if (typeflag === 'g') continue;
    if (pax?.has('path')) name = pax.get('path') as string;
    if (longName !== undefined) name = longName;
    longName = undefined;
    pax = undefined;
    const type = typeflag === '0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other';
    entries.push({ name, type, data });
  }
  return entries;
}

/** Strips `./` prefixes and trailing slashes so that names compare as paths. */
export function normalizeEntryName(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

function writeString(block: Uint8Array, start: number, length: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  if (bytes.length > length) throw new Error(`tar field too long: '${text}'`);
  block.set(bytes, start);
}

function writeOctal(block: Uint8Array, start: number, length: number, value: number): void {
  writeString(block, start, length, value.toString(8).padStart(length - 1, '0'));
}

/** Builds a ustar archive (directories end with '/'); names up to 255 bytes via `prefix`. */
export function writeTar(entries: ReadonlyArray<{ name: string; data?: Uint8Array }>): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const entry of entries) {
    const isDir = entry.name.endsWith('/');
    const data = entry.data ?? new Uint8Array(0);
    const header = new Uint8Array(BLOCK);
    let name = entry.name;
    let prefix = '';
    if (name.length > 100) {
      const cut = name.lastIndexOf('/', name.length - 2);
      if (cut <= 0 || cut > 155 || name.length - cut - 1 > 100) throw new Error(`tar name too long: '${name}'`);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    }
    writeString(header, 0, 100, name);
    writeOctal(header, 100, 8, isDir ? 0o755 : 0o644);
    writeOctal(header, 108, 8, 0);
    writeOctal(header, 116, 8, 0);
    writeOctal(header, 124, 12, isDir ? 0 : data.length);
    writeOctal(header, 136, 12, 0);
    header[156] = isDir ? 0x35 : 0x30;
    writeString(header, 257, 6, 'ustar');
    writeString(header, 263, 2, '00');
    writeString(header, 345, 155, prefix);
    writeString(header, 148, 8, headerChecksum(header).toString(8).padStart(6, '0') + '\0 ');
    parts.push(header);
    if (!isDir && data.length) {
      const padded = new Uint8Array(Math.ceil(data.length / BLOCK) * BLOCK);
      padded.set(data);
      parts.push(padded);
    }
  }
  parts.push(new Uint8Array(2 * BLOCK));
  const total = parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}
