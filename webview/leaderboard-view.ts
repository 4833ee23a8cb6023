/**
 * The leaderboard: variants as rows, benchmarks as columns, mean ± sample std (n) of the best test
 * accuracy per seed group; the best mean of each column is marked, and a significance mark is
 * drawn where the host sent one. Held-out columns show a run count only (the host sends no
 * accuracy for them). A click on a cell shows the group's curves.
 */
import type { LeaderboardCell, LeaderboardColumn, LeaderboardRow, ScoredCell, Significance } from '../src/protocol/webview';
import { benchShortName, variantLabel } from '../src/present/run-label';
import { h } from './dom';
import { formatDelta } from './format';

export type OpenCell = (row: LeaderboardRow, bench: string, cell: ScoredCell) => void;

const isScored = (c: LeaderboardCell | undefined): c is ScoredCell => !!c && c.heldOut !== true;

/** The best mean per column (only scored cells with a mean count). */
export function columnBests(rows: readonly LeaderboardRow[], columns: readonly LeaderboardColumn[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const col of columns) {
    for (const row of rows) {
      const cell = row.cells[col.bench];
      if (isScored(cell) && cell.mean !== null && cell.mean > (out.get(col.bench) ?? -Infinity)) out.set(col.bench, cell.mean);
    }
  }
  return out;
}

/** "*" below p = 0.05, "**" below 0.01; nothing otherwise. */
export function significanceMark(s: Significance): string {
  return s.p < 0.01 ? '**' : s.p < 0.05 ? '*' : '';
}

/** "Δ +0.90 against the baseline, p = 0.012 (paired, n=3 seeds; Holm over 2 variants, unadjusted p = 0.0061)". */
export function significanceTitle(s: Significance): string {
  const how = [s.test, s.holmOver ? `Holm over ${s.holmOver} variants, unadjusted p = ${(s.rawP ?? s.p).toPrecision(2)}` : ''].filter(Boolean).join('; ');
  return `Δ ${formatDelta(s.diff)} against the baseline, p = ${s.p.toPrecision(2)}${how ? ` (${how})` : ''}`;
}

export class LeaderboardView {
  private readonly table: HTMLTableElement;
  private readonly empty: HTMLElement;
  private signature = '';

  constructor(
    container: HTMLElement,
    private readonly open: OpenCell,
  ) {
    this.table = h('table', { class: 'leaderboard' });
    this.empty = h('p', { class: 'muted' }, 'No runs yet.');
    container.append(
      h(
        'p',
        { class: 'muted' },
        'Best test accuracy per variant and benchmark: mean ± sample std (n seeds). ★ best in the column; * / ** significant against the baseline (p < 0.05 / 0.01; paired t-test where the seeds match, Welch otherwise; Holm over the column). Click a cell for its curves.',
      ),
      this.table,
      this.empty,
    );
  }

  render(rows: readonly LeaderboardRow[], columns: readonly LeaderboardColumn[]): void {
    const signature = JSON.stringify([rows, columns]);
    if (signature === this.signature) return;
    this.signature = signature;
    const bests = columnBests(rows, columns);
    const head = h(
      'tr',
      {},
      h('th', { attrs: { scope: 'col' } }, 'Variant'),
      ...columns.map((c) =>
        h('th', { class: 'num', attrs: { scope: 'col' } }, benchShortName(c.bench), c.heldOut ? h('span', { class: 'muted' }, ' (held out)') : null),
      ),
    );
    const body = rows.map((row) =>
      h(
        'tr',
        { attrs: { 'data-row': row.key } },
        h('th', { attrs: { scope: 'row' } }, variantLabel(row), h('span', { class: 'muted' }, ` · ${row.budget} · ${row.engine}`)),
        ...columns.map((c) => this.cell(row, c, bests.get(c.bench))),
      ),
    );
    this.table.replaceChildren(h('thead', {}, head), h('tbody', {}, ...body));
    this.empty.hidden = rows.length > 0;
  }

  private cell(row: LeaderboardRow, col: LeaderboardColumn, best: number | undefined): HTMLTableCellElement {
    const cell = row.cells[col.bench];
    const td = h('td', { class: 'num', attrs: { 'data-bench': col.bench } });
    if (!cell) return td;
    if (!isScored(cell)) {
      td.classList.add('held-out');
      td.textContent = `${cell.runs} run${cell.runs === 1 ? '' : 's'}`;
      td.title = 'Held-out benchmark: its numbers are not shown';
      return td;
    }
    const isBest = cell.mean !== null && cell.mean === best;
    const text = cell.mean === null ? '—' : `${cell.mean.toFixed(2)}${cell.std === null ? '' : ` ± ${cell.std.toFixed(2)}`} (${cell.n})`;
    const button = h(
      'button',
      { class: `link cell${isBest ? ' best' : ''}`, title: `Show the curves of these ${cell.runIds.length} run(s)` },
      isBest ? '★ ' : '',
      text,
    );
    button.addEventListener('click', () => this.open(row, col.bench, cell));
    td.append(button);
    const sig = cell.significance;
    if (sig) {
      const mark = significanceMark(sig);
      td.append(h('sup', { class: 'significance', title: significanceTitle(sig) }, mark || 'n.s.'));
    }
    return td;
  }
}
