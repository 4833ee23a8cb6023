/** Terminal output of the CLI: the progress line and the run listings. */
import type { ProgressEvent, RunEvent } from '../protocol/events';
import type { RunRecord } from '../runs/run-record';
import type { DamagedRun } from '../runs/run-store';
import { damageText, type FileDamage } from '../runs/json-file';
import { resumePointText } from '../runs/checkpoint-info';
import type { RunHealth } from '../runs/run-repair';

export class ProgressLine {
  private shown = false;
  constructor(private readonly stream: NodeJS.WriteStream) {}

  update(e: ProgressEvent): void {
    const width = 30;
    const filled = Math.round((e.step / Math.max(1, e.steps)) * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    this.stream.write(`\r  epoch ${e.epoch + 1} [${bar}] ${e.step}/${e.steps}  loss ${e.loss.toFixed(4)}  ${e.imagesPerSec.toFixed(0)} img/s `);
    this.shown = true;
  }

  clear(): void {
    if (!this.shown) return;
    this.stream.write('\r\x1b[2K');
    this.shown = false;
  }
}

const pct = (v: number | null) => (v === null ? '   —  ' : `${v.toFixed(2).padStart(6)}%`);

export function formatRecordLine(r: RunRecord): string {
  const engine = r.env ? `${r.spec.engine}/${r.env.backend}` : r.spec.engine;
  return `${r.id}  ${r.status.padEnd(9)} best ${pct(r.bestTestAcc)}  ${String(r.epochsCompleted).padStart(3)}/${r.totalEpochs} ep  ${engine.padEnd(16)} ${nameOf(r)}`;
}

/** The run's name with a given name (a sweep point's "confidence-penalty BETA=0.3", --name) in place of the file's. */
function nameOf(r: RunRecord): string {
  const given = r.displayName?.trim();
  if (!given) return r.name;
  const rest = r.name.split(' · ').slice(1);
  return [given, ...rest].join(' · ');
}

/** A damaged run in `regbench list`: the file, the reason and what to do. */
export function formatDamagedLine(d: DamagedRun): string {
  const what = d.spec
    ? ` (${d.spec.variantPath.split(/[\\/]/).pop()} on ${d.spec.bench}, seed ${d.spec.seed}; events: ${d.lastStatus ?? '?'}, ${d.epochsCompleted} epochs)`
    : '';
  return `${d.id}  DAMAGED   ${damageText(d.damage)}; regbench repair ${d.id} rebuilds it${what}`;
}

/** The warnings of `show`: one line per damaged file or line. */
export function formatProblems(problems: readonly FileDamage[]): string {
  return problems.map((p) => `  warning     ${damageText(p)}`).join('\n');
}

/** `show` of a run whose record.json is damaged: what its other files still say. */
export function formatDamagedDetail(h: RunHealth, dir: string): string {
  const start = h.events.find((e) => e.type === 'run-start');
  const spec = start?.type === 'run-start' ? start.spec : undefined;
  const lines = [`run ${h.id} is DAMAGED: ${h.recordDamage ? damageText(h.recordDamage) : 'record.json is unreadable'}`, `  stored in   ${dir}`];
  if (spec) {
    lines.push(
      `  benchmark   ${spec.bench} (${spec.budget}: ${spec.epochs} epochs), seed ${spec.seed}`,
      `  variant     ${spec.variantPath} (sha256 ${spec.variantHash})`,
    );
  }
  const end = [...h.events].reverse().find((e) => e.type === 'run-end');
  lines.push(
    `  events      ${h.events.length} readable${end?.type === 'run-end' ? `, ended ${end.status}${end.reason ? ` (${end.reason})` : ''}` : start ? ', no run-end (it may have been running)' : ''}`,
  );
  lines.push(`  checkpoint  ${h.checkpoint ? `${h.checkpoint.engine}, a resume continues at ${resumePointText(h.checkpoint)}` : 'none readable'}`);
  if (h.snapshot)
    lines.push(
      `  snapshot    ${h.snapshot.file}${h.snapshot.matches === true ? ' (the source the run recorded)' : h.snapshot.matches === false ? ' (altered)' : ' (missing)'}`,
    );
  const others = h.problems.filter((p) => p !== h.recordDamage);
  if (others.length) lines.push(formatProblems(others));
  lines.push(...epochTable(h.events));
  lines.push(`regbench repair ${h.id} rebuilds record.json from events.jsonl (the damaged file is kept aside).`);
  return lines.join('\n');
}

function epochTable(events: readonly RunEvent[]): string[] {
  const lines: string[] = [];
  const epochs = events.filter((e) => e.type === 'epoch');
  if (epochs.length) {
    lines.push('  epoch   train loss  train acc  test loss  test acc   reg term   lr       seconds');
    for (const e of epochs) {
      if (e.type !== 'epoch') continue;
      lines.push(
        `  ${String(e.epoch + 1).padStart(5)}   ${e.trainLoss.toFixed(4).padStart(10)}  ${e.trainAcc.toFixed(2).padStart(8)}%  ${e.testLoss.toFixed(4).padStart(9)}  ${e.testAcc.toFixed(2).padStart(7)}%  ${e.regTerm.toExponential(2).padStart(9)}  ${e.lr.toFixed(4)}  ${e.seconds.toFixed(1).padStart(7)}`,
      );
    }
  }
  return lines;
}

export function formatRecordDetail(r: RunRecord, events: RunEvent[], dir: string): string {
  const lines = [
    `${r.name}`,
    `  id          ${r.id}`,
    `  status      ${r.status}${r.reason && r.status !== 'completed' ? ` (${r.reason})` : ''}`,
    `  benchmark   ${r.spec.bench} (${r.spec.budget}: ${r.spec.epochs} epochs, train ${r.spec.trainSubset ?? 'all'}, test ${r.spec.testSubset ?? 'all'}), seed ${r.spec.seed}`,
    `  variant     ${r.spec.variantPath} (sha256 ${r.spec.variantHash})`,
    `  engine      ${r.spec.engine}${
      r.env
        ? `, backend ${r.env.backend}, ${Object.entries(r.env.versions)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`
        : ''
    }`,
    `  best/final  ${pct(r.bestTestAcc)} / ${pct(r.finalTestAcc)}`,
    `  stored in   ${dir}`,
  ];
  if (r.error) lines.push(`  error       ${r.error.kind}: ${r.error.message}`);
  lines.push(...epochTable(events));
  return lines.join('\n');
}
