/**
 * Turns an official CIFAR `.tar.gz` into the extracted folder in the cache, once: the archive is
 * checked against its MD5, gunzipped, only the expected members are written (no path from the
 * archive is trusted), into a temporary folder that is renamed into place, so a concurrent or
 * interrupted extraction never leaves a half folder under the real name.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip as gunzipCb } from 'node:zlib';
import { isCompleteCifarFolder } from './cifar';
import type { CifarSource } from './catalog';
import { DataError } from './errors';
import { normalizeEntryName, readTar } from './tar';

const gunzip = promisify(gunzipCb);

export function md5OfFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('md5');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}

export interface ExtractOptions {
  /** Expected MD5 of the archive; undefined skips the check. */
  md5?: string;
  log?: (msg: string) => void;
}

/** Extracts into `<cacheDir>/<source.folder>` and returns that folder. */
export async function extractCifarArchive(source: CifarSource, archive: string, cacheDir: string, opts: ExtractOptions = {}): Promise<string> {
  const log = opts.log ?? (() => undefined);
  const target = join(cacheDir, source.folder);
  if (opts.md5) {
    const actual = await md5OfFile(archive);
    if (actual !== opts.md5) {
      throw new DataError(
        `${archive} is corrupt or not the official ${source.title} archive: MD5 ${actual}, expected ${opts.md5}; download it again from ${source.baseUrls[0]}${source.archive}`,
        archive,
        'corrupt',
      );
    }
  }
  log(`extracting ${archive} into ${target}`);
  let tar: Uint8Array;
  try {
    tar = await gunzip(await readFile(archive));
  } catch (err) {
    throw new DataError(`${archive} is corrupt: it does not gunzip (${(err as Error).message})`, archive, 'corrupt', { cause: err });
  }
  const entries = new Map(readTar(tar, archive).map((e) => [normalizeEntryName(e.name), e]));
  const tmp = join(cacheDir, `.extract-${process.pid}-${randomBytes(4).toString('hex')}`);
  const tmpFolder = join(tmp, source.folder);
  try {
    await mkdir(tmpFolder, { recursive: true });
    for (const name of [...source.trainFiles, source.testFile]) {
      const entry = entries.get(`${source.folder}/${name}`);
      if (!entry || entry.type !== 'file') {
        throw new DataError(`${archive} is corrupt: it has no ${source.folder}/${name}`, archive, 'corrupt');
      }
      await writeFile(join(tmpFolder, name), entry.data);
    }
    try {
      await rename(tmpFolder, target);
    } catch (err) {
      // Another process may have finished the same extraction first; its result is as good.
      if (!isCompleteCifarFolder(source, target)) {
        throw new DataError(`cannot extract ${archive}: ${target} exists and is incomplete; delete it and retry`, target, 'corrupt', { cause: err });
      }
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return target;
}
