/** A short line sample in a run's color and dash: the legend key in tables and the chart legend. */
import type { RunStyle } from './theme';

const SVG = 'http://www.w3.org/2000/svg';

export function swatch(style: RunStyle): SVGSVGElement {
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('class', 'swatch');
  svg.setAttribute('viewBox', '0 0 24 8');
  svg.setAttribute('aria-hidden', 'true');
  const line = document.createElementNS(SVG, 'line');
  line.setAttribute('x1', '1');
  line.setAttribute('y1', '4');
  line.setAttribute('x2', '23');
  line.setAttribute('y2', '4');
  line.setAttribute('stroke-width', '3');
  svg.appendChild(line);
  restyleSwatch(svg, style);
  return svg;
}

/** Presentation attributes, not a style attribute: the CSP allows them. */
export function restyleSwatch(svg: SVGSVGElement, style: RunStyle): void {
  const line = svg.firstElementChild;
  if (!line) return;
  line.setAttribute('stroke', style.color);
  if (style.dash.length) line.setAttribute('stroke-dasharray', style.dash.map((d) => d / 1.5).join(' '));
  else line.removeAttribute('stroke-dasharray');
}
