/**
 * The dashboard's Race view payload (src/protocol/race-view.ts) from a race record
 * (src/protocol/race.ts): per rung and entrant its state (running, advanced, dropped and by which
 * rule at which p, failed with its error), the rung's leader, the final ranking with the paired
 * comparisons against the baseline, Kendall's tau between rungs and the compute used against an
 * exhaustive grid. Also the one-line texts of the notifications sent when a rung ends. Pure (race.json is read by src/races/race-store.ts).
 */
import { RACE_BASELINE_ID, type DropRule, type RaceCandidate, type RacePairedResult, type RaceRecord, type RaceRung } from '../protocol/race';
import type { RaceCellState, RaceView, RaceViewCell, RaceViewEntrant, RaceViewRanking, RaceViewRung } from '../protocol/race-view';
import { benchShortName } from './run-label';

export function formatP(p: number | null | undefined): string {
  if (typeof p !== 'number' || !Number.isFinite(p)) return 'p —';
  return p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`;
}

export function formatDiff(d: number | null | undefined): string {
  if (typeof d !== 'number' || !Number.isFinite(d)) return '—';
  return `${d > 0 ? '+' : d < 0 ? '−' : '±'}${Math.abs(d).toFixed(2)}`;
}

function labelOf(race: RaceRecord, id: string | undefined): string {
  if (!id) return '?';
  if (id === RACE_BASELINE_ID) return race.baseline.label;
  return race.candidates.find((c) => c.id === id)?.label ?? id;
}

/** "worse than the baseline (p = 0.004, level 0.0125)", "successive halving", the error of a failed run. */
export function dropText(race: RaceRecord, c: RaceCandidate): string {
  const test = race.rungs[c.rung]?.tests?.find((t) => t.candidate === c.id);
  const level = test ? `, level ${Number(test.level.toPrecision(3))}` : '';
  const p = `${formatP(c.p ?? test?.adjustedP)}${level}`;
  const rules: Record<DropRule, string> = {
    'worse-than-baseline': `worse than the baseline (${p})`,
    'worse-than-leader': `worse than the leader ${labelOf(race, test?.leader)} (${p})`,
    halving: 'successive halving (a heuristic, no test)',
    failed: `failed: ${c.error ?? 'a run failed'}`,
  };
  if (c.status === 'failed') return rules.failed;
  return c.rule ? rules[c.rule] : `dropped (${p})`;
}

function rungTitle(r: RaceRung): string {
  const seeds = r.seeds.length === 1 ? `seed ${r.seeds[0]}` : `seeds ${r.seeds.join(',')}`;
  const epochs = `${r.epochs} epoch${r.epochs === 1 ? '' : 's'}`;
  return [`Rung ${r.index + 1}`, r.ladder.label, epochs, seeds, r.benches.map(benchShortName).join(', ')].join(' · ');
}

/** The entrant's state on rung `i` (see RaceCellState). */
function cellState(race: RaceRecord, rung: RaceRung, id: string): RaceCellState {
  if (id === RACE_BASELINE_ID) return rung.status === 'pending' ? 'pending' : 'baseline';
  const c = race.candidates.find((x) => x.id === id);
  if (c && c.status !== 'advanced') {
    if (rung.index > c.rung) return 'out';
    if (rung.index === c.rung) return c.status;
  }
  if (rung.status === 'done') return 'advanced';
  return rung.status;
}

function viewCell(race: RaceRecord, rung: RaceRung, id: string): RaceViewCell {
  const cells = rung.cells.filter((x) => x.entrant === id);
  const accs = cells.flatMap((x) => (x.status === 'completed' && typeof x.bestTestAcc === 'number' ? [x.bestTestAcc] : []));
  const test = rung.tests?.find((t) => t.candidate === id);
  const state = cellState(race, rung, id);
  const c = race.candidates.find((x) => x.id === id);
  return {
    state,
    mean: accs.length ? accs.reduce((s, a) => s + a, 0) / accs.length : null,
    done: accs.length,
    total: cells.length,
    diff: test?.vsBaseline?.meanDiff ?? null,
    p: test?.adjustedP ?? null,
    note: c && (state === 'dropped' || state === 'failed') ? dropText(race, c) : '',
    leader: id !== RACE_BASELINE_ID && rung.ranking?.[0] === id,
  };
}

function entrantView(race: RaceRecord, id: string): RaceViewEntrant {
  const c = race.candidates.find((x) => x.id === id);
  const e: RaceViewEntrant = { id, label: labelOf(race, id), cells: race.rungs.map((r) => viewCell(race, r, id)) };
  if (c) {
    e.status = c.status;
    if (c.rule) e.rule = c.rule;
    if (typeof c.p === 'number') e.p = c.p;
  }
  return e;
}

function rankingRow(race: RaceRecord, r: { candidate: string; rank: number; rung: number; vsBaseline: RacePairedResult | null }): RaceViewRanking {
  const v = r.vsBaseline;
  return {
    rank: r.rank,
    candidate: r.candidate,
    label: labelOf(race, r.candidate),
    reached: `rung ${r.rung + 1}`,
    n: v?.n ?? null,
    diff: v?.meanDiff ?? null,
    ci95: v?.ci95 ?? null,
    p: v?.p ?? null,
  };
}

/** "14 runs (+2 reused), 0.8 h; exhaustive: 36 runs, 2.1 h; the race used 38% of it" */
export function computeText(race: RaceRecord): string | null {
  const c = race.compute;
  if (!c) return null;
  const share = c.exhaustiveHours > 0 ? c.hours / c.exhaustiveHours : c.exhaustiveRuns > 0 ? c.runs / c.exhaustiveRuns : null;
  const reused = c.reusedRuns ? ` (+${c.reusedRuns} reused)` : '';
  const pct = share === null ? '' : `; the race used ${Math.round(share * 100)}% of it`;
  return `${c.runs} runs${reused}, ${c.hours.toFixed(1)} h; exhaustive: ${c.exhaustiveRuns} runs, ${c.exhaustiveHours.toFixed(1)} h${pct}`;
}

/** The leader now: the top of the deepest rung that has a ranking. */
export function currentLeader(race: RaceRecord): string | null {
  for (let i = race.rungs.length - 1; i >= 0; i--) {
    const top = race.rungs[i].ranking?.[0];
    if (top) return top;
  }
  return null;
}

export function raceTitle(race: RaceRecord): string {
  const n = race.candidates.length;
  const req = race.request;
  const benches = (req?.benches ?? []).map(benchShortName).join(', ');
  const ladder = (req?.ladder ?? []).map((s) => s.label).join(' → ');
  return [`${n} candidate${n === 1 ? '' : 's'} vs ${race.baseline.label}`, benches, ladder, req ? `alpha ${req.alpha}` : ''].filter(Boolean).join(' · ');
}

export function raceView(race: RaceRecord): RaceView {
  const ids = [RACE_BASELINE_ID, ...race.candidates.map((c) => c.id)];
  const rungs: RaceViewRung[] = race.rungs.map((r) => ({
    index: r.index,
    title: rungTitle(r),
    status: r.status,
    level: r.tests?.[0]?.level ?? null,
    leader: r.ranking?.[0] ?? null,
  }));
  const view: RaceView = {
    id: race.id,
    status: race.status,
    title: raceTitle(race),
    created: race.created,
    baseline: race.baseline.label,
    entrants: ids.map((id) => entrantView(race, id)),
    rungs,
    leader: currentLeader(race),
    ranking: (race.ranking ?? []).map((r) => rankingRow(race, r)).sort((a, b) => a.rank - b.rank),
    taus: (race.taus ?? []).map((t) => ({ label: `rung ${t.from + 1} → ${t.to + 1}`, tau: t.tau, n: t.n })),
    compute: computeText(race),
    command: race.request?.command ?? '',
  };
  if (race.reason) view.reason = race.reason;
  if (race.ended) view.ended = race.ended;
  return view;
}

/** Rungs done in `now` that were not done in `before` (undefined: the race is new). */
export function finishedRungs(before: RaceRecord | undefined, now: RaceRecord): RaceRung[] {
  return now.rungs.filter((r) => r.status === 'done' && before?.rungs[r.index]?.status !== 'done');
}

/** "Rung 2 done: 2 advance (leader c1 +0.81), 1 dropped: c3 worse than the baseline (p = 0.004, level 0.0125)" */
export function rungNotification(race: RaceRecord, rung: RaceRung): string {
  const dropped = race.candidates.filter((c) => c.status !== 'advanced' && c.rung === rung.index);
  const advancing = race.candidates.filter((c) => c.status === 'advanced' || c.rung > rung.index);
  const leader = rung.ranking?.[0];
  const leaderDiff = rung.tests?.find((t) => t.candidate === leader)?.vsBaseline?.meanDiff;
  const lead = leader ? ` (leader ${labelOf(race, leader)}${leaderDiff === undefined ? '' : ` ${formatDiff(leaderDiff)}`})` : '';
  const drops = dropped.map((c) => `${c.label} ${dropText(race, c)}`).join('; ');
  return `Race ${race.id}, rung ${rung.index + 1} done: ${advancing.length} advance${lead}${dropped.length ? `, ${dropped.length} out: ${drops}` : ''}`;
}

/** "Race r1 completed: 1. c1 +0.81 (p = 0.010), 2. c2 +0.10 (p = 0.400)", or why it stopped. */
export function raceEndNotification(race: RaceRecord): string {
  if (race.status !== 'completed') return `Race ${race.id} ${race.status}${race.reason ? `: ${race.reason}` : ''}`;
  const rows = (race.ranking ?? []).slice().sort((a, b) => a.rank - b.rank);
  if (!rows.length) return `Race ${race.id} completed: no candidate survived (baseline ${race.baseline.label})`;
  const list = rows.map((r) => `${r.rank}. ${labelOf(race, r.candidate)} ${formatDiff(r.vsBaseline?.meanDiff)} (${formatP(r.vsBaseline?.p)})`).join(', ');
  return `Race ${race.id} completed: ${list}`;
}
