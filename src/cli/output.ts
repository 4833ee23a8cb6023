/** Terminal output of the CLI: the progress line and the run listings. */
import type { ProgressEvent, RunEvent } from '../protocol/events';
import type { RunRecord } from '../runs/run-record';

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
  return `${r.id}  ${r.status.padEnd(9)} best ${pct(r.bestTestAcc)}  ${String(r.epochsCompleted).padStart(3)}/${r.totalEpochs} ep  ${engine.padEnd(16)} ${r.name}`;
}

export function formatRecordDetail(r: RunRecord, events: RunEvent[], dir: string): string {
  const lines = [
    `${r.name}`,
    `  id          ${r.id}`,
    `  status      ${r.status}${r.reason && r.status !== 'completed' ? ` (${r.reason})` : ''}`,
    `  benchmark   ${r.spec.bench} (${r.spec.budget}: ${r.spec.epochs} epochs, train ${r.spec.trainSubset ?? 'all'}, test ${r.spec.testSubset ?? 'all'}), seed ${r.spec.seed}`,
    `  variant     ${r.spec.variantPath} (sha256 ${r.spec.variantHash})`,
    `  engine      ${r.spec.engine}${r.env ? `, backend ${r.env.backend}, ${Object.entries(r.env.versions).map(([k, v]) => `${k} ${v}`).join(', ')}` : ''}`,
    `  best/final  ${pct(r.bestTestAcc)} / ${pct(r.finalTestAcc)}`,
    `  stored in   ${dir}`,
  ];
  if (r.error) lines.push(`  error       ${r.error.kind}: ${r.error.message}`);
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
  return lines.join('\n');
}
