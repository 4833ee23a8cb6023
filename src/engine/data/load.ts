/**
 * loadDataset: finds a dataset on disk (see locations.ts for the order), else downloads it into
 * the cache when allowed, and reads it into memory as uint8 NHWC [N,32,32,3] with its labels.
 * Real data only: nothing here ever substitutes synthetic images for a missing dataset.
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { DatasetId } from '../../protocol/benchmarks';
import { extractCifarArchive } from './archive';
import { downloadUrls, expectedMd5, idxFileList, SOURCES, type CifarSource, type IdxSource, type RemoteOverride } from './catalog';
import { findCifar, isCompleteCifarFolder, readCifarFolder } from './cifar';
import { downloadFile, NetworkError } from './download';
import { DataError } from './errors';
import { findIdx, readIdxDataset } from './fashion-mnist';
import { cacheDirOf, explicitDataDir, searchLocations, type LocationOptions } from './locations';
import type { LoadedDataset } from './types';

export interface LoadOptions extends LocationOptions {
  /** Download into the cache when the data is nowhere on disk (default true). */
  allowDownload?: boolean;
  log?: (msg: string) => void;
  /** Replaces the official download URLs and checksums (tests, private mirrors). */
  remote?: RemoteOverride;
}

export async function loadDataset(dataset: DatasetId, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const source = SOURCES[dataset];
  if (!source) throw new Error(`unknown dataset '${dataset}'`);
  return source.format === 'cifar' ? loadCifar(source, opts) : loadIdx(source, opts);
}

function lookedIn(source: CifarSource | IdxSource, opts: LoadOptions): string {
  return searchLocations(source, opts)
    .map((l) => l.dir)
    .join(', ');
}

function missingError(message: string, file: string, cause?: unknown): DataError {
  return new DataError(message, file, 'missing', cause === undefined ? undefined : { cause });
}

async function loadCifar(source: CifarSource, opts: LoadOptions): Promise<LoadedDataset> {
  const log = opts.log ?? (() => undefined);
  const cacheDir = cacheDirOf(opts);
  const md5 = expectedMd5(source, source.archive, opts.remote);
  for (const loc of searchLocations(source, opts)) {
    const found = findCifar(source, loc.dir);
    if (!found) continue;
    if (found.kind === 'folder') {
      log(`reading ${source.title} from ${found.path}`);
      return { ...(await readCifarFolder(source, found.path)), source: found.path };
    }
    const cached = join(cacheDir, source.folder);
    // An archive that passes the checksum extracts to exactly what a complete cache folder holds.
    const folder = isCompleteCifarFolder(source, cached) ? cached : await extractCifarArchive(source, found.path, cacheDir, { md5, log });
    log(`reading ${source.title} from ${folder}`);
    return { ...(await readCifarFolder(source, folder)), source: `${found.path} (extracted to ${folder})` };
  }

  const putDir = explicitDataDir(opts) ?? cacheDir;
  const urls = downloadUrls(source, source.archive, opts.remote);
  const where = `${source.title} not found: put ${source.archive} (or its extracted ${source.folder}/ folder) in ${putDir}; get it from ${urls[0]}`;
  if (opts.allowDownload === false) {
    throw missingError(`${where} (downloads are disabled; looked in ${lookedIn(source, opts)})`, join(putDir, source.archive));
  }
  const dest = join(cacheDir, source.archive);
  try {
    await downloadFile(urls, dest, { md5, log });
  } catch (err) {
    if (err instanceof NetworkError) throw missingError(`${where} (download failed: ${err.message})`, join(putDir, source.archive), err);
    throw err;
  }
  // The download was verified as it streamed; no second checksum pass.
  const folder = await extractCifarArchive(source, dest, cacheDir, { log });
  await rm(dest, { force: true });
  log(`reading ${source.title} from ${folder}`);
  return { ...(await readCifarFolder(source, folder)), source: `${urls[0]} (downloaded to ${folder})` };
}

async function loadIdx(source: IdxSource, opts: LoadOptions): Promise<LoadedDataset> {
  const log = opts.log ?? (() => undefined);
  const cacheDir = cacheDirOf(opts);
  const downloadDir = join(cacheDir, source.subfolders[0]);
  for (const loc of searchLocations(source, opts)) {
    let found;
    try {
      found = findIdx(source, loc.dir);
    } catch (err) {
      // A partial set in the download folder is an interrupted download: resume it below.
      if (loc.origin === 'cache' && err instanceof DataError && err.file.startsWith(downloadDir)) continue;
      throw err;
    }
    if (!found) continue;
    log(`reading ${source.title} from ${found.folder}`);
    return { ...(await readIdxDataset(source, found)), source: found.folder };
  }

  const putDir = explicitDataDir(opts) ?? cacheDir;
  const gzNames = idxFileList(source.files).map((n) => `${n}.gz`);
  const base = opts.remote?.baseUrl ?? source.baseUrls[0];
  const where = `${source.title} not found: put ${gzNames.join(', ')} in ${putDir}; get them from ${base} (or install Debian's dataset-fashion-mnist)`;
  if (opts.allowDownload === false) {
    throw missingError(`${where} (downloads are disabled; looked in ${lookedIn(source, opts)})`, join(putDir, gzNames[0]));
  }
  for (const name of gzNames) {
    const dest = join(downloadDir, name);
    if (existsSync(dest)) continue;
    try {
      await downloadFile(downloadUrls(source, name, opts.remote), dest, { md5: expectedMd5(source, name, opts.remote), log });
    } catch (err) {
      if (err instanceof NetworkError) throw missingError(`${where} (download of ${name} failed: ${err.message})`, join(putDir, name), err);
      throw err;
    }
  }
  const found = findIdx(source, downloadDir);
  if (!found) throw new Error(`internal: ${downloadDir} holds no ${source.title} files after download`);
  log(`reading ${source.title} from ${found.folder}`);
  return { ...(await readIdxDataset(source, found)), source: `${base} (downloaded to ${found.folder})` };
}
