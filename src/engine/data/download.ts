/**
 * Downloads one file over http(s) with node's own client: follows redirects, streams into a
 * temporary file beside the target while computing its MD5, and renames it into place only when
 * the checksum matches, so a crash or a bad transfer never leaves a file that looks complete.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import * as http from 'node:http';
import * as https from 'node:https';
import { basename, dirname } from 'node:path';
import { DataError } from './errors';

const MAX_REDIRECTS = 5;
const IDLE_TIMEOUT_MS = 30_000;

/** The server could not be reached or refused the file: the caller turns it into a "missing" message. */
export class NetworkError extends Error {
  override readonly name = 'NetworkError';
}

function get(url: string, redirectsLeft: number): Promise<{ res: http.IncomingMessage; finalUrl: string }> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new NetworkError(`bad URL ${url}`));
      return;
    }
    const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (!client) {
      reject(new NetworkError(`unsupported protocol in ${url}`));
      return;
    }
    const req = client.get(parsed, { headers: { 'user-agent': 'regbench' } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirectsLeft <= 0) {
          reject(new NetworkError(`too many redirects from ${url}`));
          return;
        }
        get(new URL(res.headers.location, parsed).toString(), redirectsLeft - 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        reject(new NetworkError(`HTTP ${status} for ${url}`));
        return;
      }
      resolve({ res, finalUrl: url });
    });
    req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(new NetworkError(`no response from ${url} for ${IDLE_TIMEOUT_MS / 1000} s`)));
    req.on('error', (err) => reject(err instanceof NetworkError ? err : new NetworkError(`${err.message} (${url})`)));
  });
}

export interface DownloadOptions {
  /** Expected lowercase hex MD5; undefined skips verification. */
  md5?: string;
  log?: (msg: string) => void;
}

/** Streams `res` into `tmp`, returning the MD5 of what was written. */
function save(res: http.IncomingMessage, tmp: string, url: string, log: (msg: string) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    const out = createWriteStream(tmp);
    const total = Number(res.headers['content-length'] ?? 0);
    let received = 0;
    let nextReport = 0.1;
    res.setTimeout(IDLE_TIMEOUT_MS, () => res.destroy(new NetworkError(`transfer of ${url} stalled`)));
    res.on('data', (chunk: Buffer) => {
      hash.update(chunk);
      received += chunk.length;
      if (total > 0 && received / total >= nextReport) {
        log(`  ${basename(tmp).replace(/\.part-.*$/, '')}: ${Math.floor((100 * received) / total)}%`);
        nextReport += 0.1;
      }
    });
    res.on('error', (err) => {
      out.destroy();
      reject(err instanceof NetworkError ? err : new NetworkError(`${err.message} (${url})`));
    });
    out.on('error', reject);
    out.on('finish', () => {
      if (total > 0 && received !== total) reject(new NetworkError(`transfer of ${url} ended after ${received} of ${total} bytes`));
      else resolve(hash.digest('hex'));
    });
    res.pipe(out);
  });
}

/**
 * Fetches the first of `urls` that answers into `dest`. Network failures on every URL raise a
 * NetworkError (with each URL's reason); a checksum mismatch raises a "corrupt" DataError at once.
 */
export async function downloadFile(urls: readonly string[], dest: string, opts: DownloadOptions = {}): Promise<void> {
  const log = opts.log ?? (() => undefined);
  await mkdir(dirname(dest), { recursive: true });
  const reasons: string[] = [];
  for (const url of urls) {
    const tmp = `${dest}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      log(`downloading ${url}`);
      const { res } = await get(url, MAX_REDIRECTS);
      const md5 = await save(res, tmp, url, log);
      if (opts.md5 && md5 !== opts.md5) {
        throw new DataError(
          `${basename(dest)} downloaded from ${url} is corrupt: MD5 ${md5} does not match the expected ${opts.md5}; nothing was saved`,
          dest,
          'corrupt',
        );
      }
      await rename(tmp, dest);
      return;
    } catch (err) {
      await rm(tmp, { force: true });
      if (err instanceof NetworkError) {
        reasons.push(err.message);
        continue;
      }
      throw err;
    }
  }
  throw new NetworkError(reasons.join('; '));
}
