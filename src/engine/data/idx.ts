/**
 * The IDX format of (Fashion)MNIST: a big-endian header (two zero bytes, a type byte, 0x08 for
 * unsigned bytes, a dimension count), one 32-bit size per dimension, then the raw values.
 * Images are magic 2051 (0x00000803, [n,28,28]); labels magic 2049 (0x00000801, [n]).
 */
import { promisify } from 'node:util';
import { gunzip as gunzipCb, gzipSync } from 'node:zlib';
import { readFile } from 'node:fs/promises';
import { DataError } from './errors';

const gunzip = promisify(gunzipCb);

export const IDX_IMAGES_MAGIC = 2051;
export const IDX_LABELS_MAGIC = 2049;

export interface IdxArray {
  dims: number[];
  /** A view of the values (no copy). */
  data: Uint8Array;
}

export function isGzip(buf: Uint8Array): boolean {
  return buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b;
}

/** Reads a file, gunzipping it when it starts with the gzip magic (whatever its name says). */
export async function readMaybeGzip(file: string): Promise<Uint8Array> {
  const raw = await readFile(file);
  if (!isGzip(raw)) return raw;
  try {
    return await gunzip(raw);
  } catch (err) {
    throw new DataError(`${file} is corrupt: gzip data does not decompress (${(err as Error).message})`, file, 'corrupt', { cause: err });
  }
}

/** Decodes an IDX buffer, checking its magic number and that its size matches the header. */
export function decodeIdx(buf: Uint8Array, expectedMagic: number, file: string): IdxArray {
  if (buf.length < 8) throw new DataError(`${file} is corrupt: ${buf.length} bytes, too short for an IDX header`, file, 'corrupt');
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== expectedMagic) {
    throw new DataError(`${file} is corrupt: bad IDX magic number ${magic} (expected ${expectedMagic})`, file, 'corrupt');
  }
  const ndim = buf[3];
  const headerBytes = 4 + 4 * ndim;
  if (buf.length < headerBytes) throw new DataError(`${file} is corrupt: truncated IDX header`, file, 'corrupt');
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  if (buf.length !== headerBytes + count) {
    throw new DataError(
      `${file} is corrupt: size ${buf.length} bytes does not match its header [${dims.join(',')}] (expected ${headerBytes + count})`,
      file,
      'corrupt',
    );
  }
  return { dims, data: buf.subarray(headerBytes) };
}

/** Encodes unsigned bytes as IDX with the given dims, gzipped (the form the official files have). */
export function encodeIdxGz(magic: number, dims: readonly number[], data: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * dims.length);
  const view = new DataView(header.buffer);
  view.setUint32(0, magic, false);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const whole = new Uint8Array(header.length + data.length);
  whole.set(header);
  whole.set(data, header.length);
  return gzipSync(whole);
}
