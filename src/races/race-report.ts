/**
 * The text a race prints: its climbing order at the start, each rung's outcome (every candidate's
 * paired comparison and who was dropped by which rule with which p), and the final report (the
 * ranking, the drops, rank stability between rungs, compute against the exhaustive alternative).
 */
import type { RaceCandidate, RacePairedResult, RaceRecord, RaceRung } from '../protocol/race';

const RULE_TEXT: Record<string, string> = {
  'worse-than-baseline': 'worse than the baseline',
  'worse-than-leader': 'worse than the leader',
  halving: 'successive halving (heuristic)',
  failed: 'failed',
};

function pp(x: number): string {
  return `${x >= 0 ? '+' : ''}${x.toFixed(2)}`;
}

export function pText(p: number | null | undefined): string {
  if (p === null || p === undefined) return 'p n/a';
  return p < 0.001 ? `p=${p.toExponential(1)}` : `p=${p.toFixed(3)}`;
}

export function pairedText(r: RacePairedResult | null | undefined): string {
  if (!r) return 'no matched cells';
  const ci = r.ci95 ? ` [${r.ci95[0].toFixed(2)}, ${r.ci95[1].toFixed(2)}]` : '';
  const pooled = r.pooledOver !== undefined ? `, variance pooled over ${r.pooledOver} entrants (df ${r.df})` : '';
  return `${pp(r.meanDiff)} pp${ci} over ${r.n} cell${r.n === 1 ? '' : 's'}${pooled}`;
}

function labelOf(race: RaceRecord, id: string): string {
  return race.candidates.find((c) => c.id === id)?.label ?? id;
}

export function startText(race: RaceRecord): string {
  const rule =
    race.request.eta !== undefined
      ? `successive halving, keep the best 1/${race.request.eta} per rung (a heuristic: no error rate)`
      : `drop when worse than the baseline or the leader, paired over seeds (variance pooled over the live entrants), Holm over candidates, alpha ${race.request.alpha} split over ${race.rungs.length} rung${race.rungs.length === 1 ? '' : 's'}`;
  return [
    `${race.candidates.length} candidate${race.candidates.length === 1 ? '' : 's'} against ${race.baseline.label}: ${race.candidates.map((c) => `${c.id} ${c.label}`).join(', ')}`,
    `rule: ${rule}`,
    'climbing order:',
    ...race.order.map((o) => `  ${o}`),
  ].join('\n');
}

/**
 * True when every entrant scored the same in every cell of the rung: a budget too small to learn
 * anything (the smoke budget's four SGD steps leave every network at one class), so the rung can
 * tell no entrant apart.
 */
export function rungWithoutSignal(rung: RaceRung): boolean {
  const byCell = new Map<string, Set<number>>();
  for (const c of rung.cells) {
    if (c.bestTestAcc === null || c.status !== 'completed') continue;
    const key = `${c.bench}/${c.seed}`;
    byCell.set(key, (byCell.get(key) ?? new Set()).add(c.bestTestAcc));
  }
  const entrants = new Set(rung.cells.map((c) => c.entrant)).size;
  return entrants >= 2 && byCell.size > 0 && [...byCell.values()].every((values) => values.size === 1);
}

export function rungResultText(race: RaceRecord, rung: RaceRung): string {
  const lines = [`rung ${rung.index + 1} done:`];
  for (const id of rung.ranking ?? []) {
    const t = rung.tests?.find((x) => x.candidate === id);
    if (!t) continue;
    const drop = t.dropped ? `  DROPPED (${RULE_TEXT[race.candidates.find((c) => c.id === id)?.rule ?? ''] ?? ''})` : '';
    lines.push(`  ${labelOf(race, id)}: ${pairedText(t.vsBaseline)} vs baseline, adjusted ${pText(t.adjustedP)} (level ${t.level.toPrecision(2)})${drop}`);
  }
  for (const c of race.candidates.filter((x) => x.status === 'failed' && x.rung === rung.index)) lines.push(`  ${c.label}: FAILED: ${c.error ?? ''}`);
  if (rungWithoutSignal(rung))
    lines.push(
      `  no signal: every entrant scored the same in each cell, so this budget tells none apart (it is too small to learn); a larger first rung (e.g. --ladder smoke:epochs=2:train=2048,...) saves these runs`,
    );
  const tau = race.taus.find((x) => x.to === rung.index);
  if (tau) lines.push(`  rank stability vs rung ${tau.from + 1}: Kendall tau ${tau.tau === null ? 'n/a' : tau.tau.toFixed(2)} over ${tau.n} candidates`);
  return lines.join('\n');
}

function dropLine(c: RaceCandidate): string {
  const how =
    c.status === 'failed'
      ? `failed at rung ${c.rung + 1}: ${c.error ?? ''}`
      : `dropped at rung ${c.rung + 1}: ${RULE_TEXT[c.rule ?? ''] ?? c.rule}${c.p !== undefined ? `, adjusted ${pText(c.p)}` : ''}`;
  return `  ${c.label}: ${how}`;
}

export function finalText(race: RaceRecord): string {
  const lines: string[] = [];
  if (race.status !== 'completed') lines.push(`race ${race.id} ${race.status}${race.reason ? `: ${race.reason}` : ''}`);
  else lines.push(`race ${race.id} completed`);
  if (race.ranking?.length) {
    lines.push('ranking (each survivor against the baseline on its deepest rung):');
    for (const r of race.ranking)
      lines.push(
        `  ${r.rank}. ${labelOf(race, r.candidate)}: ${pairedText(r.vsBaseline)} (rung ${r.rung + 1}, ${pText(r.vsBaseline?.p ?? null)} one-sided that it is worse)`,
      );
  } else if (race.status === 'completed') lines.push('no candidate survived');
  const out = race.candidates.filter((c) => c.status !== 'advanced');
  if (out.length) {
    lines.push('out of the race:');
    lines.push(...out.map(dropLine));
  }
  if (race.taus.length)
    lines.push(
      `rank stability (Kendall tau between consecutive rungs): ${race.taus.map((t) => `${t.from + 1}->${t.to + 1}: ${t.tau === null ? 'n/a' : t.tau.toFixed(2)} (n=${t.n})`).join(', ')}`,
    );
  const c = race.compute;
  if (c) {
    const ratio = c.exhaustiveHours > 0 ? ` (${((100 * c.hours) / c.exhaustiveHours).toFixed(0)}%)` : '';
    lines.push(
      `compute: ${c.runs} runs trained, ${c.hours.toFixed(3)} h${c.reusedRuns ? `, ${c.reusedRuns} reused` : ''}; every candidate and the baseline at the last rung: ${c.exhaustiveRuns} runs, ${c.exhaustiveHours.toFixed(3)} h${ratio}`,
    );
  }
  return lines.join('\n');
}
