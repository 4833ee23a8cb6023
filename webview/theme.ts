/**
 * Colors and fonts for the charts, read from the VS Code theme variables at run time (canvas
 * drawing cannot use CSS variables directly). Re-read whenever VS Code switches the theme.
 */

export interface ChartTheme {
  foreground: string;
  muted: string;
  grid: string;
  fontFamily: string;
  fontSize: number;
  /** One color per run, cycled; the dash pattern changes on each cycle so lines stay distinct. */
  palette: string[];
  highContrast: boolean;
}

const PALETTE_VARS = [
  '--vscode-charts-blue',
  '--vscode-charts-orange',
  '--vscode-charts-green',
  '--vscode-charts-purple',
  '--vscode-charts-red',
  '--vscode-charts-yellow',
];
// Fallbacks are VS Code's own Dark+ chart colors, used only if a host sets no variables.
const PALETTE_FALLBACK = ['#3794ff', '#d18616', '#89d185', '#b180d7', '#f14c4c', '#cca700'];
const DASHES: number[][] = [[], [6, 3], [2, 2], [10, 3, 2, 3]];

function cssVar(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const v = style.getPropertyValue(name).trim();
  return v || fallback;
}

export function readChartTheme(): ChartTheme {
  const style = getComputedStyle(document.body);
  const size = parseFloat(cssVar(style, '--vscode-font-size', '13'));
  return {
    foreground: cssVar(style, '--vscode-editor-foreground', cssVar(style, '--vscode-foreground', '#cccccc')),
    muted: cssVar(style, '--vscode-descriptionForeground', '#9d9d9d'),
    grid: cssVar(style, '--vscode-charts-lines', cssVar(style, '--vscode-panel-border', 'rgba(128,128,128,0.35)')),
    fontFamily: cssVar(style, '--vscode-font-family', 'system-ui, sans-serif'),
    fontSize: Number.isFinite(size) ? size : 13,
    palette: PALETTE_VARS.map((v, i) => cssVar(style, v, PALETTE_FALLBACK[i])),
    highContrast: document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light'),
  };
}

export interface RunStyle {
  color: string;
  dash: number[];
}

export function runStyle(theme: ChartTheme, index: number): RunStyle {
  const n = theme.palette.length;
  return { color: theme.palette[index % n], dash: DASHES[Math.floor(index / n) % DASHES.length] };
}

/** Calls `onChange` when VS Code changes the theme (body class, or variables on html/body). */
export function watchTheme(onChange: () => void): void {
  const observer = new MutationObserver(() => onChange());
  observer.observe(document.body, { attributes: true, attributeFilter: ['class', 'style'] });
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['class', 'style'] });
}
