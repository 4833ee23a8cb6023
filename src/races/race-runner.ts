/**
 * Drives a race up its rungs (src/races/race-plan.ts) through a RaceWorld: the world runs cells
 * (locally, on Slurm, or in a test's fake) and answers which runs exist; this module keeps the
 * bookkeeping. The race record is saved whenever a run is created, so a race that is killed and
 * resumed finds every run it made: a finished run is never repeated (an identical finished run in
 * the store is reused as well), a stopped one is continued from its checkpoint.
 */
import type { RunStatus } from '../protocol/events';
import { RACE_BASELINE_ID, type RaceCandidate, type RaceCell, type RaceEntrant, type RaceRecord, type RaceRung, type RaceTau } from '../protocol/race';
import { kendallTauB } from '../analysis/kendall';
import { judgeRung, type CellScores } from './race-rule';
import { raceCompute } from './race-compute';
import type { CellOrder, CellRun, RaceWorld } from './race-world';

export type { CellOrder, CellRun, RaceWorld } from './race-world';

const FINISHED: readonly RunStatus[] = ['completed', 'failed', 'diverged', 'cancelled'];

function cellKey(entrant: string, bench: string, seed: number, ladder: string): string {
  return `${entrant}|${bench}|${seed}|${ladder}`;
}

/** The cells of a rung for its live entrants: this rung's own, else carried from an earlier rung of the same ladder step. */
function rungCells(race: RaceRecord, rung: RaceRung, live: readonly RaceEntrant[]): RaceCell[] {
  const known = new Map<string, RaceCell>();
  for (const r of race.rungs)
    for (const c of r.cells) if (r.ladder.label === rung.ladder.label) known.set(cellKey(c.entrant, c.bench, c.seed, r.ladder.label), c);
  const own = new Map(rung.cells.map((c) => [cellKey(c.entrant, c.bench, c.seed, rung.ladder.label), c]));
  const cells: RaceCell[] = [];
  for (const e of live)
    for (const bench of rung.benches)
      for (const seed of rung.seeds) {
        const k = cellKey(e.id, bench, seed, rung.ladder.label);
        const c = own.get(k) ?? known.get(k);
        cells.push(c ? { ...c } : { entrant: e.id, bench, seed, status: 'pending', bestTestAcc: null });
      }
  return cells;
}

function applyRun(cell: RaceCell, run: CellRun): void {
  cell.runId = run.runId;
  cell.status = run.status;
  cell.bestTestAcc = run.bestTestAcc;
}

/** Sorts the rung's cells into finished (recorded), reused, and orders to run. */
function classify(rung: RaceRung, entrants: ReadonlyMap<string, RaceEntrant>, world: RaceWorld): CellOrder[] {
  const orders: CellOrder[] = [];
  for (const cell of rung.cells) {
    const entrant = entrants.get(cell.entrant) as RaceEntrant;
    const order: CellOrder = { entrant, rung, bench: cell.bench, seed: cell.seed };
    const run = cell.runId !== undefined ? world.get(cell.runId) : undefined;
    if (run) {
      applyRun(cell, run);
      if (run.live || run.resumable || !FINISHED.includes(run.status)) orders.push({ ...order, runId: run.runId });
      continue;
    }
    const reuse = world.findFinished(order);
    if (reuse) {
      applyRun(cell, reuse);
      cell.reused = true;
      continue;
    }
    cell.runId = undefined;
    cell.status = 'pending';
    orders.push(order);
  }
  return orders;
}

function throttle(fn: () => void, ms: number): { call(): void; flush(): void } {
  let last = 0;
  let pending = false;
  return {
    call() {
      const now = Date.now();
      if (now - last >= ms) {
        last = now;
        pending = false;
        fn();
      } else pending = true;
    },
    flush() {
      if (pending) fn();
      pending = false;
      last = Date.now();
    },
  };
}

/** Continues (or starts) a race from its first rung not done; resolves with the record as saved last. */
export async function runRace(race: RaceRecord, world: RaceWorld, now: () => Date = () => new Date()): Promise<RaceRecord> {
  const entrants = new Map<string, RaceEntrant>([[race.baseline.id, race.baseline], ...race.candidates.map((c) => [c.id, c] as const)]);
  race.status = 'running';
  race.reason = undefined;
  const saver = throttle(() => world.save(race), 250);
  for (const rung of race.rungs) {
    if (rung.status === 'done') continue;
    const alive = race.candidates.filter((c) => c.status === 'advanced');
    if (!alive.length) break;
    rung.status = 'running';
    rung.startedAt = rung.startedAt ?? now().toISOString();
    rung.cells = rungCells(race, rung, [race.baseline, ...alive]);
    const orders = classify(rung, entrants, world);
    world.save(race);
    const reused = rung.cells.filter((c) => c.reused).length;
    const done = rung.cells.length - orders.length;
    world.say(
      `rung ${rung.index + 1}/${race.rungs.length}: ${alive.length} candidate${alive.length === 1 ? '' : 's'} and the baseline, ${rung.cells.length} cells: ${orders.length} to run, ${done} done already${reused ? ` (${reused} reused from the store)` : ''}`,
    );
    const byRun = new Map<string, RaceCell>();
    for (const c of rung.cells) if (c.runId) byRun.set(c.runId, c);
    const stopped = await executeOrExplain(race, world, () =>
      world.execute(
        orders,
        (pairs) => {
          for (const [order, runId] of pairs) {
            const cell = rung.cells.find((c) => c.entrant === order.entrant.id && c.bench === order.bench && c.seed === order.seed) as RaceCell;
            cell.runId = runId;
            cell.status = 'queued';
            cell.reused = undefined;
            byRun.set(runId, cell);
          }
          world.save(race);
        },
        (runId) => {
          const cell = byRun.get(runId);
          const run = world.get(runId);
          if (cell && run) {
            applyRun(cell, run);
            const what =
              run.status === 'completed' ? `best ${run.bestTestAcc?.toFixed(2)}%` : `${run.status}${run.error ? `: ${run.error.split('\n')[0]}` : ''}`;
            world.say(`  ${entrants.get(cell.entrant)?.label} · ${cell.bench} · seed ${cell.seed}: ${what} (run ${runId})`);
          }
          saver.call();
        },
      ),
    );
    saver.flush();
    if (stopped) return race;
    if (world.stopped()) {
      race.status = 'interrupted';
      race.reason = 'stopped during a rung; `regbench race --resume ' + race.id + '` continues it';
      world.save(race);
      return race;
    }
    for (const cell of rung.cells) {
      const run = cell.runId ? world.get(cell.runId) : undefined;
      if (run) applyRun(cell, run);
    }
    if (failEntrants(race, rung, world)) {
      world.save(race);
      return race;
    }
    judge(race, rung);
    rung.status = 'done';
    rung.endedAt = now().toISOString();
    world.rungDone?.(race, rung);
    world.save(race);
  }
  finish(race, world, now);
  world.save(race);
  return race;
}

/**
 * Runs a rung's orders; an error of the world itself (a source it cannot find, a full disk)
 * ends the race as interrupted with that error as the reason, so it is never left marked as
 * running, and `--resume` continues it once the cause is fixed. True when it did.
 */
async function executeOrExplain(race: RaceRecord, world: RaceWorld, execute: () => Promise<void>): Promise<boolean> {
  try {
    await execute();
    return false;
  } catch (err) {
    race.status = 'interrupted';
    race.reason = (err as Error).message;
    world.say(`race ${race.id} stopped: ${race.reason}`);
    world.save(race);
    return true;
  }
}

/** Marks candidates with a failed cell as failed; true when the baseline failed (the race stops). */
function failEntrants(race: RaceRecord, rung: RaceRung, world: RaceWorld): boolean {
  for (const cell of rung.cells) {
    if (cell.status === 'completed' && cell.bestTestAcc !== null) continue;
    const run = cell.runId ? world.get(cell.runId) : undefined;
    const why = run?.error ?? (cell.status === 'pending' ? 'its run never started' : `its run ended ${cell.status}`);
    if (cell.entrant === RACE_BASELINE_ID) {
      race.status = 'failed';
      race.reason = `the baseline failed on ${cell.bench} seed ${cell.seed} (run ${cell.runId ?? '-'}): ${why}`;
      race.ended = new Date().toISOString();
      return true;
    }
    const c = race.candidates.find((x) => x.id === cell.entrant) as RaceCandidate;
    if (c.status !== 'advanced') continue;
    Object.assign(c, { status: 'failed', rung: rung.index, rule: 'failed', error: `${cell.bench} seed ${cell.seed}: ${why}`, errorRunId: cell.runId });
  }
  return false;
}

function scoresOf(rung: RaceRung, entrant: string): CellScores {
  return new Map(
    rung.cells
      .filter((c) => c.entrant === entrant && c.status === 'completed' && c.bestTestAcc !== null)
      .map((c) => [`${c.bench}/${c.seed}`, c.bestTestAcc as number]),
  );
}

function judge(race: RaceRecord, rung: RaceRung): void {
  const alive = race.candidates.filter((c) => c.status === 'advanced');
  if (!alive.length) return;
  const j = judgeRung(scoresOf(rung, RACE_BASELINE_ID), new Map(alive.map((c) => [c.id, scoresOf(rung, c.id)])), {
    alpha: race.request.alpha,
    rungs: race.rungs.length,
    eta: race.request.eta,
  });
  rung.tests = j.tests;
  rung.ranking = j.ranking;
  for (const c of alive) c.rung = rung.index;
  for (const d of j.drops) Object.assign(race.candidates.find((c) => c.id === d.candidate) as RaceCandidate, { status: 'dropped', rule: d.rule, p: d.p });
  const prev = race.rungs[rung.index - 1];
  if (prev?.tests) race.taus = [...race.taus.filter((t) => t.to !== rung.index), rungTau(prev, rung)];
}

/** Kendall's tau-b of the candidates' mean differences on two rungs (those ranked on both). */
export function rungTau(a: RaceRung, b: RaceRung): RaceTau {
  const diff = (r: RaceRung) => new Map((r.tests ?? []).filter((t) => t.vsBaseline).map((t) => [t.candidate, t.vsBaseline?.meanDiff as number]));
  const da = diff(a);
  const db = diff(b);
  const both = [...da.keys()].filter((k) => db.has(k));
  return {
    from: a.index,
    to: b.index,
    n: both.length,
    tau: kendallTauB(
      both.map((k) => da.get(k) as number),
      both.map((k) => db.get(k) as number),
    ),
  };
}

function finish(race: RaceRecord, world: RaceWorld, now: () => Date): void {
  const survivors = race.candidates.filter((c) => c.status === 'advanced');
  const deepest = (c: RaceCandidate) => race.rungs[c.rung]?.tests?.find((t) => t.candidate === c.id)?.vsBaseline ?? null;
  race.ranking = survivors
    .map((c) => ({ c, vs: deepest(c) }))
    .sort((x, y) => (y.vs?.meanDiff ?? -Infinity) - (x.vs?.meanDiff ?? -Infinity))
    .map(({ c, vs }, i) => ({ candidate: c.id, rank: i + 1, rung: c.rung, vsBaseline: vs }));
  race.compute = raceCompute(race, (id) => world.get(id));
  race.status = 'completed';
  race.ended = now().toISOString();
}
