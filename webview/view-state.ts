/**
 * What the page remembers across reloads and while hidden (vscode.getState/setState): the user's
 * choices only. Run data is not kept here: the host sends a fresh snapshot after every `ready`.
 */
export type ViewMode = 'charts' | 'compare';

export interface ViewState {
  /** Runs selected in the table, in selection order (the first two are compared). */
  selected: string[];
  /** Runs whose lines are hidden in the charts. */
  hidden: string[];
  view: ViewMode;
  /** The pair last compared, so the comparison can be asked for again after a reload. */
  comparePair: { a: string; b: string } | null;
}

export const INITIAL_VIEW_STATE: ViewState = { selected: [], hidden: [], view: 'charts', comparePair: null };

const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);

/** Reads a stored state defensively: an older page version may have stored another shape. */
export function parseViewState(x: unknown): ViewState {
  if (typeof x !== 'object' || x === null) return { ...INITIAL_VIEW_STATE };
  const o = x as Record<string, unknown>;
  const pair = o.comparePair as Record<string, unknown> | null | undefined;
  return {
    selected: strings(o.selected),
    hidden: strings(o.hidden),
    view: o.view === 'compare' ? 'compare' : 'charts',
    comparePair: pair && typeof pair.a === 'string' && typeof pair.b === 'string' ? { a: pair.a, b: pair.b } : null,
  };
}
