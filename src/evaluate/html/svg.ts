import { esc, type Marker, n2, type SeriesStyle } from './style.js';

/**
 * Inline SVG plots of the HTML report: nice tick values, an x-y plot with a frame, grid, tick
 * labels, axis titles and one styled line per series (dash pattern and markers as well as colour),
 * and the legend. Strings only: no DOM, no script. Sizes are in SVG user units; the page scales
 * each plot to its column (viewBox, width 100%).
 */

/**
 * About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 x 10^k, Heckbert 1990,
 * "Nice numbers for graph labels", Graphics Gems). Returns at least the two ends when lo == hi.
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag) as number;
  const out: number[] = [];
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++)
    out.push(Number((k * step).toPrecision(12)) || 0); // no 0.6000000000000001, no -0
  return out;
}

/** Decimals enough to tell tick values apart (0.1 steps: 1 decimal). */
export function tickFormat(ticks: readonly number[]): (v: number) => string {
  const step = ticks.length > 1 ? Math.abs(ticks[1]! - ticks[0]!) : 1;
  const decimals = Math.max(0, Math.min(4, -Math.floor(Math.log10(step) + 1e-9)));
  return (v) => v.toFixed(decimals);
}

/** A marker shape centred at (x, y), radius r. */
export function markerSvg(shape: Marker, x: number, y: number, color: string, r = 3.6): string {
  const p = (pts: [number, number][]) =>
    `<path d="M${pts.map(([a, b]) => `${n2(x + a * r)},${n2(y + b * r)}`).join('L')}Z" fill="${color}"/>`;
  switch (shape) {
    case 'circle':
      return `<circle cx="${n2(x)}" cy="${n2(y)}" r="${n2(r * 0.9)}" fill="${color}"/>`;
    case 'square':
      return p([
        [-0.8, -0.8],
        [0.8, -0.8],
        [0.8, 0.8],
        [-0.8, 0.8],
      ]);
    case 'triangle':
      return p([
        [0, -1.1],
        [1, 0.75],
        [-1, 0.75],
      ]);
    case 'down':
      return p([
        [0, 1.1],
        [1, -0.75],
        [-1, -0.75],
      ]);
    case 'diamond':
      return p([
        [0, -1.15],
        [1, 0],
        [0, 1.15],
        [-1, 0],
      ]);
    case 'cross':
      return `<path d="M${n2(x - r)},${n2(y - r)}L${n2(x + r)},${n2(y + r)}M${n2(x - r)},${n2(y + r)}L${n2(x + r)},${n2(y - r)}" stroke="${color}" stroke-width="2" fill="none"/>`;
    case 'plus':
      return `<path d="M${n2(x - r)},${n2(y)}L${n2(x + r)},${n2(y)}M${n2(x)},${n2(y - r)}L${n2(x)},${n2(y + r)}" stroke="${color}" stroke-width="2.2" fill="none"/>`;
    default: {
      const pts: [number, number][] = [];
      for (let k = 0; k < 10; k++) {
        const a = (Math.PI * k) / 5 - Math.PI / 2;
        const rr = k % 2 === 0 ? 1.2 : 0.5;
        pts.push([Math.cos(a) * rr, Math.sin(a) * rr]);
      }
      return p(pts);
    }
  }
}

/** One axis: its range, title and (optionally) the tick values and their format. */
export interface Axis {
  lo: number;
  hi: number;
  label: string;
  ticks?: number[];
  format?: (v: number) => string;
}

/** One line of a plot, with the attributes tests and readers find it by. */
export interface Series {
  /** The legend label and tooltip. */
  label: string;
  style: SeriesStyle;
  points: readonly (readonly [number, number])[];
  /** Extra attributes of the path (e.g. data-model); values are escaped. */
  attrs?: Record<string, string>;
  /** Draw a marker at every point instead of at up to 8 evenly spaced ones. */
  everyPoint?: boolean;
  /** Override the style's dash (e.g. dev loss dashed beside training loss). */
  dash?: string;
}

/** The scales of a plot, for drawing extras (chance lines, reference marks). */
export interface Scales {
  x: (v: number) => number;
  y: (v: number) => number;
}

/** Options of {@link linePlot}. */
export interface PlotOptions {
  width: number;
  height: number;
  x: Axis;
  y: Axis;
  series: readonly Series[];
  /** Accessible name of the figure. */
  title: string;
  /** SVG drawn between the grid and the series. */
  under?: (s: Scales) => string;
  /** SVG drawn over the series. */
  over?: (s: Scales) => string;
}

const MARGIN = { left: 52, right: 12, top: 10, bottom: 42 };

/**
 * An x-y line plot: frame, grid lines and labelled ticks on both axes, axis titles, and each series
 * as a path (class `series`) with its colour, dash pattern and width plus markers, drawn in
 * `style.layer` order (references underneath). Axis ranges must hold the data (nothing is clipped: a clip path would need url(), which the report never uses).
 */
export function linePlot(o: PlotOptions): string {
  const w = o.width - MARGIN.left - MARGIN.right;
  const h = o.height - MARGIN.top - MARGIN.bottom;
  const x = (v: number) => MARGIN.left + ((v - o.x.lo) / (o.x.hi - o.x.lo || 1)) * w;
  const y = (v: number) => MARGIN.top + (1 - (v - o.y.lo) / (o.y.hi - o.y.lo || 1)) * h;
  const xt = o.x.ticks ?? niceTicks(o.x.lo, o.x.hi, Math.max(3, Math.round(w / 70)));
  const yt = o.y.ticks ?? niceTicks(o.y.lo, o.y.hi, Math.max(3, Math.round(h / 45)));
  const xf = o.x.format ?? tickFormat(xt);
  const yf = o.y.format ?? tickFormat(yt);
  const x0 = n2(MARGIN.left);
  const x1 = n2(MARGIN.left + w);
  const y0 = n2(MARGIN.top + h);
  const y1 = n2(MARGIN.top);
  const grid = [
    ...xt.map(
      (t) =>
        `<line class="gridline" x1="${n2(x(t))}" y1="${y1}" x2="${n2(x(t))}" y2="${y0}"/><line stroke="#666" x1="${n2(x(t))}" y1="${y0}" x2="${n2(x(t))}" y2="${n2(MARGIN.top + h + 4)}"/><text class="tick x-tick" x="${n2(x(t))}" y="${n2(MARGIN.top + h + 16)}" text-anchor="middle">${esc(xf(t))}</text>`,
    ),
    ...yt.map(
      (t) =>
        `<line class="gridline" x1="${x0}" y1="${n2(y(t))}" x2="${x1}" y2="${n2(y(t))}"/><line stroke="#666" x1="${n2(MARGIN.left - 4)}" y1="${n2(y(t))}" x2="${x0}" y2="${n2(y(t))}"/><text class="tick y-tick" x="${n2(MARGIN.left - 7)}" y="${n2(y(t) + 4)}" text-anchor="end">${esc(yf(t))}</text>`,
    ),
  ].join('');
  const lines = [...o.series]
    .map((s, i) => ({ s, i }))
    .sort((a, b) => a.s.style.layer - b.s.style.layer || b.i - a.i)
    .map(({ s }) => seriesSvg(s, x, y))
    .join('');
  return `<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${o.width} ${o.height}" role="img" aria-label="${esc(o.title)}">
<rect class="frame" x="${x0}" y="${y1}" width="${n2(w)}" height="${n2(h)}"/>${grid}
<g>${o.under ? o.under({ x, y }) : ''}${lines}${o.over ? o.over({ x, y }) : ''}</g>
<rect x="${x0}" y="${y1}" width="${n2(w)}" height="${n2(h)}" fill="none" stroke="#888"/>
<text class="axis-label" x="${n2(MARGIN.left + w / 2)}" y="${o.height - 6}" text-anchor="middle">${esc(o.x.label)}</text>
<text class="axis-label" x="13" y="${n2(MARGIN.top + h / 2)}" text-anchor="middle" transform="rotate(-90 13 ${n2(MARGIN.top + h / 2)})">${esc(o.y.label)}</text>
</svg>`;
}

function seriesSvg(s: Series, x: (v: number) => number, y: (v: number) => number): string {
  if (s.points.length === 0) return '';
  const d = s.points.map(([a, b], i) => `${i === 0 ? 'M' : 'L'}${n2(x(a))},${n2(y(b))}`).join('');
  const dash = s.dash ?? s.style.dash;
  const { class: className, ...rest } = s.attrs ?? {};
  const attrs = Object.entries(rest)
    .map(([k, v]) => ` ${k}="${esc(v)}"`)
    .join('');
  const every = s.everyPoint || s.points.length <= 12;
  const step = every ? 1 : (s.points.length - 1) / 7;
  const picks = every ? s.points.map((_, i) => i) : Array.from({ length: 8 }, (_, k) => Math.round(k * step));
  const marks = [...new Set(picks)]
    .map((i) => markerSvg(s.style.marker, x(s.points[i]![0]), y(s.points[i]![1]), s.style.color))
    .join('');
  return `<g class="series-group"><path class="${esc(className ?? 'series')}"${attrs} d="${d}" fill="none" stroke="${s.style.color}" stroke-width="${s.style.width}"${dash ? ` stroke-dasharray="${dash}"` : ''} stroke-linejoin="round" stroke-opacity="${s.style.layer === 0 ? 0.75 : 1}"><title>${esc(s.label)}</title></path><g class="markers">${marks}</g></g>`;
}

/** A swatch of a style: a short line with its dash and one marker. */
export function swatch(style: SeriesStyle, dash = style.dash): string {
  return `<svg width="40" height="14" viewBox="0 0 40 14" aria-hidden="true"><line x1="1" y1="7" x2="39" y2="7" stroke="${style.color}" stroke-width="${Math.min(style.width, 2.4)}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>${markerSvg(style.marker, 20, 7, style.color)}</svg>`;
}

/** The HTML legend: one entry (class legend-entry, data-model) per model, in the report's model order. */
export function legend(
  entries: readonly { name: string; label: string; style: SeriesStyle }[],
  extra = '',
): string {
  return `<div class="legend">${entries
    .map(
      (e) =>
        `<span class="legend-entry" data-model="${esc(e.name)}">${swatch(e.style)}${esc(e.label)}</span>`,
    )
    .join('')}${extra}</div>`;
}
