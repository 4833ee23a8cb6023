/**
 * Races in the store: `.regbench/races/<id>/race.json`, replaced atomically after every change
 * with a sha256 `integrity` field (src/runs/json-file.ts), so a flipped bit that still parses is
 * caught too. Reading is defensive: a damaged, missing or foreign race.json is reported as a
 * one-line problem naming the file, never a crash, and never deleted nor rewritten.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { RACE_FORMAT, type RaceRecord } from '../protocol/race';
import { readJsonFile, writeJsonFile } from '../runs/json-file';

export const RACE_FILE = 'race.json';

/** A race.json that cannot be read: `message` names the file and what is wrong. */
export class RaceFileError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(message);
  }
}

export function racesDir(storeRoot: string): string {
  return path.join(storeRoot, 'races');
}

export function raceFile(storeRoot: string, id: string): string {
  if (!/^[\w.-]+$/.test(id)) throw new RaceFileError(id, `invalid race id '${id}'`);
  return path.join(racesDir(storeRoot), id, RACE_FILE);
}

/** A new race id (sorts by creation time) and its folder. */
export function allocateRace(storeRoot: string, now = new Date()): string {
  fs.mkdirSync(racesDir(storeRoot), { recursive: true });
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${pad(now.getMonth() + 1)}${pad(now.getDate())}-${pad(now.getHours())}${pad(now.getMinutes())}${pad(now.getSeconds())}`;
  for (;;) {
    const id = `${stamp}-${randomBytes(2).toString('hex')}`;
    try {
      fs.mkdirSync(path.join(racesDir(storeRoot), id));
      return id;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}

export function writeRace(storeRoot: string, race: RaceRecord): void {
  const file = raceFile(storeRoot, race.id);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeJsonFile(file, race);
}

/** Reads one race; throws RaceFileError (naming the file) when it is missing or damaged. */
export function readRace(storeRoot: string, id: string): RaceRecord {
  const file = raceFile(storeRoot, id);
  const read = readJsonFile<unknown>(file);
  if (read.ok) return checkRace(read.value, file);
  if (read.missing && isDir(path.dirname(file)))
    throw new RaceFileError(file, `${file} is missing (deleted, or the race is being created); its folder is left as it is`);
  if (read.missing) throw new RaceFileError(file, `no race '${id}' (${file} does not exist)`);
  throw new RaceFileError(file, `${file} is damaged (${read.damage.reason.replace(/^is /, '')}); it is left as it is`);
}

/** Checks the shape a reader relies on; a damaged file gets a message naming it. */
function checkRace(data: unknown, file: string): RaceRecord {
  const r = data as Partial<RaceRecord> | null;
  if (!r || typeof r !== 'object' || Array.isArray(r)) throw new RaceFileError(file, `${file} is damaged: not a race record`);
  if (r.format !== RACE_FORMAT) throw new RaceFileError(file, `${file} has race format ${String(r.format)}; this Regbench reads format ${RACE_FORMAT}`);
  const missing = (['id', 'request', 'baseline', 'candidates', 'rungs'] as const).filter((k) => r[k] === undefined);
  if (missing.length || !Array.isArray(r.candidates) || !Array.isArray(r.rungs))
    throw new RaceFileError(file, `${file} is damaged: ${missing.length ? `missing ${missing.join(', ')}` : 'candidates and rungs must be lists'}`);
  return { taus: [], order: [], ...r } as RaceRecord;
}

/**
 * Every race in the store, oldest first, and the files that could not be read: a race folder
 * whose race.json is gone is a problem too (it may hold entrants' sources), not skipped.
 */
export function listRaces(storeRoot: string): { races: RaceRecord[]; problems: RaceFileError[] } {
  let names: string[];
  try {
    names = fs.readdirSync(racesDir(storeRoot)).sort();
  } catch {
    return { races: [], problems: [] };
  }
  const races: RaceRecord[] = [];
  const problems: RaceFileError[] = [];
  for (const n of names) {
    if (!isDir(path.join(racesDir(storeRoot), n))) continue;
    try {
      races.push(readRace(storeRoot, n));
    } catch (err) {
      if (err instanceof RaceFileError) problems.push(err);
      else throw err;
    }
  }
  return { races, problems };
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** A race marked running whose process is gone was interrupted (killed, machine rebooted). */
export function raceState(race: RaceRecord, alive: (pid: number) => boolean = pidAlive): RaceRecord['status'] {
  if (race.status === 'running' && (race.ownerPid === undefined || !alive(race.ownerPid))) return 'interrupted';
  return race.status;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
