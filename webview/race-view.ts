/**
 * The Race view: one race at a time (a picker when there are several, newest first), rungs as
 * columns and entrants as rows: each cell says running / advanced / dropped (with the rule and its
 * p) / failed (with the error), the mean best accuracy over the finished runs and the paired
 * difference to the baseline; the rung's leader is starred. Below: the final ranking with its
 * paired comparisons, Kendall's tau between rungs and the compute used against an exhaustive grid.
 * Every text comes from the host (src/present/race-view-model.ts); a `race` message replaces the
 * race's view, so the page follows race.json live.
 */
import type { RaceView as Race, RaceViewCell, RaceViewEntrant } from '../src/protocol/race-view';
import { h, setText } from './dom';
import { formatAcc, formatDelta } from './format';

const STATE_TEXT: Record<RaceViewCell['state'], string> = {
  pending: 'pending',
  running: 'running',
  advanced: 'advanced',
  dropped: 'dropped',
  failed: 'failed',
  out: '—',
  baseline: 'baseline',
};

function formatP(p: number | null): string {
  if (p === null || !Number.isFinite(p)) return '';
  return p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`;
}

export interface RaceViewActions {
  cancel(raceId: string): void;
}

export class RaceView {
  private readonly races = new Map<string, Race>();
  private readonly picker: HTMLSelectElement;
  private readonly body: HTMLElement;
  private readonly empty: HTMLElement;
  private readonly problemList: HTMLElement;
  private problems: string[] = [];
  private chosen: string | null = null;
  private signature = '';

  constructor(
    container: HTMLElement,
    private readonly actions: RaceViewActions,
  ) {
    this.picker = h('select', { class: 'race-pick', attrs: { 'aria-label': 'Race' } });
    this.picker.addEventListener('change', () => {
      this.chosen = this.picker.value;
      this.render();
    });
    this.empty = h('p', { class: 'muted' }, 'No races yet: “Regbench: Race Variants…” or `regbench race` starts one.');
    this.body = h('div', { class: 'race-body' });
    this.problemList = h('ul', { class: 'race-problems' });
    container.append(this.problemList, h('div', { class: 'race-bar' }, this.picker), this.empty, this.body);
  }

  /** Races and unreadable race files: the Races tab shows while there is either. */
  get count(): number {
    return this.races.size + this.problems.length;
  }

  setAll(races: readonly Race[], problems: readonly string[] = []): void {
    this.problems = [...problems];
    this.problemList.replaceChildren(...this.problems.map((p) => h('li', {}, p)));
    this.problemList.hidden = this.problems.length === 0;
    this.races.clear();
    for (const r of races) this.races.set(r.id, r);
    this.render();
  }

  /** A new or changed race; `reveal` makes it the one shown. */
  upsert(race: Race, reveal = false): void {
    this.races.set(race.id, race);
    if (reveal) this.chosen = race.id;
    this.render();
  }

  private current(): Race | undefined {
    return (this.chosen ? this.races.get(this.chosen) : undefined) ?? this.ordered()[0];
  }

  private ordered(): Race[] {
    return [...this.races.values()].sort((a, b) => b.created.localeCompare(a.created) || b.id.localeCompare(a.id));
  }

  render(): void {
    const race = this.current();
    const signature = JSON.stringify([this.ordered().map((r) => [r.id, r.status]), race]);
    if (signature === this.signature) return;
    this.signature = signature;
    this.picker.replaceChildren(...this.ordered().map((r) => h('option', { attrs: { value: r.id } }, `${r.id} · ${r.status}`)));
    this.picker.hidden = this.races.size < 2;
    this.empty.hidden = race !== undefined;
    if (!race) {
      this.body.replaceChildren();
      return;
    }
    this.picker.value = race.id;
    this.body.replaceChildren(this.header(race), this.rungTable(race), this.ranking(race), this.taus(race), this.compute(race));
  }

  private header(race: Race): HTMLElement {
    const leader = race.entrants.find((e) => e.id === race.leader);
    const cancel = h('button', { class: 'race-cancel', title: 'Stop the race (regbench race --resume continues it)' }, 'Cancel race');
    cancel.addEventListener('click', () => this.actions.cancel(race.id));
    cancel.hidden = race.status !== 'running';
    return h(
      'div',
      { class: 'race-header', attrs: { 'data-race': race.id } },
      h('h3', {}, race.title),
      h(
        'p',
        {},
        h('span', { class: `race-status status-${race.status}` }, race.status),
        race.reason ? ` — ${race.reason}` : '',
        leader ? h('span', { class: 'race-leader' }, ` · leader: ${leader.label}`) : '',
        ' ',
        cancel,
      ),
      h('p', { class: 'muted' }, `Baseline: ${race.baseline}`),
    );
  }

  private rungTable(race: Race): HTMLElement {
    const head = h(
      'tr',
      {},
      h('th', {}, 'Entrant'),
      ...race.rungs.map((r) =>
        h(
          'th',
          { class: `rung status-${r.status}`, attrs: { 'data-rung': String(r.index) } },
          r.title,
          r.level === null ? '' : h('div', { class: 'muted' }, `test level ${Number(r.level.toPrecision(3))}`),
        ),
      ),
    );
    const rows = race.entrants.map((e) =>
      h('tr', { attrs: { 'data-entrant': e.id } }, h('th', { attrs: { scope: 'row' } }, e.label), ...e.cells.map((c, i) => this.cell(e, c, i))),
    );
    return h('table', { class: 'race-rungs' }, h('thead', {}, head), h('tbody', {}, ...rows));
  }

  private cell(e: RaceViewEntrant, c: RaceViewCell, rung: number): HTMLElement {
    const acc = c.total ? `${formatAcc(c.mean)} (${c.done}/${c.total})` : '';
    const diff = c.diff === null ? '' : `Δ ${formatDelta(c.diff)}${c.p === null ? '' : ` · ${formatP(c.p)}`}`;
    return h(
      'td',
      {
        class: `race-cell state-${c.state}${c.leader ? ' leader' : ''}`,
        attrs: { 'data-rung': String(rung), 'data-state': c.state },
        title: c.note || `${e.label}: ${STATE_TEXT[c.state]}`,
      },
      h('div', { class: 'state' }, `${c.leader ? '★ ' : ''}${STATE_TEXT[c.state]}`),
      acc ? h('div', { class: 'acc' }, acc) : null,
      diff ? h('div', { class: 'diff' }, diff) : null,
      c.note ? h('div', { class: 'note' }, c.note) : null,
    );
  }

  private ranking(race: Race): HTMLElement {
    if (!race.ranking.length)
      return h(
        'section',
        { class: 'race-ranking-section' },
        h('h4', {}, 'Final ranking'),
        h('p', { class: 'muted' }, race.status === 'running' ? 'When the race completes.' : 'No candidate survived.'),
      );
    const head = h('tr', {}, ...['Rank', 'Candidate', 'Reached', 'n (paired)', 'Δ vs baseline', '95% CI', 'p (worse)'].map((t) => h('th', {}, t)));
    const rows = race.ranking.map((r) =>
      h(
        'tr',
        { attrs: { 'data-candidate': r.candidate } },
        h('td', { class: 'num' }, String(r.rank)),
        h('td', {}, r.label),
        h('td', {}, r.reached),
        h('td', { class: 'num' }, r.n === null ? '—' : String(r.n)),
        h('td', { class: 'num' }, formatDelta(r.diff)),
        h('td', { class: 'num' }, r.ci95 ? `[${formatDelta(r.ci95[0])}, ${formatDelta(r.ci95[1])}]` : '—'),
        h('td', { class: 'num' }, formatP(r.p) || '—'),
      ),
    );
    return h(
      'section',
      { class: 'race-ranking-section' },
      h('h4', {}, 'Final ranking (paired against the baseline)'),
      h('table', { class: 'race-ranking' }, h('thead', {}, head), h('tbody', {}, ...rows)),
    );
  }

  private taus(race: Race): HTMLElement {
    const items = race.taus.map((t) => h('li', {}, `${t.label}: τ = ${t.tau === null ? '—' : t.tau.toFixed(2)} (n = ${t.n})`));
    return h(
      'section',
      { class: 'race-taus-section' },
      h('h4', {}, 'Kendall τ between rungs'),
      items.length ? h('ul', { class: 'race-taus' }, ...items) : h('p', { class: 'muted' }, 'After two rungs.'),
    );
  }

  private compute(race: Race): HTMLElement {
    const p = h('p', { class: 'race-compute' });
    setText(p, race.compute ?? 'Compute: when the race ends.');
    return h('section', {}, h('h4', {}, 'Compute'), p, race.command ? h('code', { class: 'race-command' }, race.command) : null);
  }
}
