/**
 * What the page remembers across reloads and while hidden (vscode.getState/setState): the user's
 * choices only. Run data is not kept here: the host sends a fresh snapshot after every `ready`.
 */
export type ViewMode = 'charts' | 'leaderboard' | 'compare' | 'races';

export type SortKey = 'created' | 'status' | 'label' | 'bench' | 'seed' | 'best' | 'final' | 'epoch' | 'time' | 'backend';

export interface TableFilters {
  status: string;
  bench: string;
  variant: string;
  engine: string;
  budget: string;
  /** Free text, matched case-insensitively against label, name, id and hash. */
  text: string;
}

export interface ViewState {
  /** Runs selected in the table, in selection order (the first two are compared). */
  selected: string[];
  /** Runs whose lines are hidden in the charts. */
  hidden: string[];
  view: ViewMode;
  /** The runs last compared (baseline a), so the comparison can be asked for again after a reload. */
  comparePair: { a: string; b: string; more?: string[] } | null;
  /** The benchmark whose charts are shown (null: the first one with runs). */
  bench: string | null;
  /** Draw every seed instead of mean ± std bands. */
  showSeeds: boolean;
  /** A seed group the charts are narrowed to (a click in the leaderboard), else null. */
  focus: string | null;
  sort: { key: SortKey; desc: boolean };
  filters: TableFilters;
}

export const NO_FILTERS: TableFilters = { status: '', bench: '', variant: '', engine: '', budget: '', text: '' };

export const INITIAL_VIEW_STATE: ViewState = {
  selected: [],
  hidden: [],
  view: 'charts',
  comparePair: null,
  bench: null,
  showSeeds: false,
  focus: null,
  sort: { key: 'created', desc: true },
  filters: NO_FILTERS,
};

const SORT_KEYS: readonly SortKey[] = ['created', 'status', 'label', 'bench', 'seed', 'best', 'final', 'epoch', 'time', 'backend'];
const strings = (x: unknown): string[] => (Array.isArray(x) ? x.filter((s): s is string => typeof s === 'string') : []);
const str = (x: unknown): string => (typeof x === 'string' ? x : '');
const objectOf = (x: unknown): Record<string, unknown> => (typeof x === 'object' && x !== null ? (x as Record<string, unknown>) : {});

function parseFilters(x: unknown): TableFilters {
  const o = objectOf(x);
  return { status: str(o.status), bench: str(o.bench), variant: str(o.variant), engine: str(o.engine), budget: str(o.budget), text: str(o.text) };
}

function parseSort(x: unknown): ViewState['sort'] {
  const o = objectOf(x);
  const key = SORT_KEYS.find((k) => k === o.key);
  return key ? { key, desc: o.desc === true } : { ...INITIAL_VIEW_STATE.sort };
}

/** Reads a stored state defensively: an older page version may have stored another shape. */
export function parseViewState(x: unknown): ViewState {
  if (typeof x !== 'object' || x === null) return { ...INITIAL_VIEW_STATE };
  const o = x as Record<string, unknown>;
  const pair = o.comparePair as Record<string, unknown> | null | undefined;
  return {
    selected: strings(o.selected),
    hidden: strings(o.hidden),
    view: o.view === 'compare' || o.view === 'leaderboard' || o.view === 'races' ? o.view : 'charts',
    comparePair:
      pair && typeof pair.a === 'string' && typeof pair.b === 'string'
        ? { a: pair.a, b: pair.b, ...(Array.isArray(pair.more) ? { more: strings(pair.more) } : {}) }
        : null,
    bench: typeof o.bench === 'string' ? o.bench : null,
    showSeeds: o.showSeeds === true,
    focus: typeof o.focus === 'string' ? o.focus : null,
    sort: parseSort(o.sort),
    filters: parseFilters(o.filters),
  };
}
