/**
 * The workspace's races in memory (`.regbench/races/<id>/race.json`, read through
 * src/races/race-store.ts), for the dashboard's Race view and the race notifications. Loaded on
 * the first read (activation reads nothing); `refresh(id)` re-reads one race when the store
 * watcher sees its race.json change, and tells listeners the record before and after. A damaged
 * race.json is kept as a one-line problem naming the file, never dropped silently. No `vscode`.
 */
import * as path from 'node:path';
import { listRaces, readRace } from './race-store';
import type { RaceRecord } from '../protocol/race';

export interface RaceChange {
  race: RaceRecord;
  /** The record held before (undefined: a race new to this window). */
  before?: RaceRecord;
}

export class RaceIndex {
  private races: Map<string, RaceRecord> | undefined;
  private readonly listeners = new Set<(c: RaceChange) => void>();
  /** race id -> the one-line reason its race.json could not be read. */
  readonly problems = new Map<string, string>();

  /** `storeRoot`: the `.regbench` folder. */
  constructor(readonly storeRoot: string) {}

  onChange(listener: (c: RaceChange) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Every race, newest first. */
  all(): RaceRecord[] {
    return [...this.map().values()].sort((a, b) => b.created.localeCompare(a.created) || b.id.localeCompare(a.id));
  }

  get(id: string): RaceRecord | undefined {
    return this.map().get(id);
  }

  /** Re-reads one race from disk; emits when it differs from the one held. */
  refresh(id: string): void {
    const races = this.map();
    let fresh: RaceRecord;
    try {
      fresh = readRace(this.storeRoot, id);
      this.problems.delete(id);
    } catch (err) {
      // Mid-write files are replaced atomically, so this is a damaged or foreign file: say so.
      this.problems.set(id, (err as Error).message);
      return;
    }
    const before = races.get(id);
    if (before && JSON.stringify(before) === JSON.stringify(fresh)) return;
    races.set(id, fresh);
    for (const l of [...this.listeners]) l({ race: fresh, before });
  }

  dispose(): void {
    this.listeners.clear();
  }

  private map(): Map<string, RaceRecord> {
    if (!this.races) {
      const { races, problems } = listRaces(this.storeRoot);
      this.races = new Map(races.map((r) => [r.id, r]));
      // Keyed by race id (the folder), as refresh() keys them.
      for (const p of problems) this.problems.set(path.basename(path.dirname(p.file)), p.message);
    }
    return this.races;
  }
}
