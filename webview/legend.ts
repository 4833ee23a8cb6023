/** The shared legend of the charts: every run's color and name; a click shows or hides its lines. */
import type { RunSummary } from '../src/protocol/webview';
import { h } from './dom';
import { swatch } from './swatch';
import type { RunStyle } from './theme';

export class Legend {
  private signature = '';

  constructor(private readonly el: HTMLElement, private readonly toggle: (runId: string) => void) {
    el.setAttribute('role', 'list');
  }

  render(runs: readonly RunSummary[], hidden: ReadonlySet<string>, styleOf: (id: string) => RunStyle): void {
    const signature = JSON.stringify(runs.map((r) => [r.id, r.name, hidden.has(r.id), styleOf(r.id)]));
    if (signature === this.signature) return;
    this.signature = signature;
    this.el.replaceChildren(
      ...runs.map((r) => {
        const off = hidden.has(r.id);
        const item = h(
          'button',
          { class: `legend-item${off ? ' off' : ''}`, title: off ? 'Show in charts' : 'Hide from charts', attrs: { role: 'listitem', 'aria-pressed': String(!off), 'data-run-id': r.id } },
          swatch(styleOf(r.id)),
          h('span', {}, r.name),
        );
        item.addEventListener('click', () => this.toggle(r.id));
        return item;
      }),
    );
  }
}
