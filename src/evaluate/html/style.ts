import he from 'he';

/**
 * Shared presentation of the HTML report: escaping, number formats, the page's CSS and the style
 * (colour, dash pattern, marker, line width) each model is drawn with in every plot.
 */

/** HTML-escape any value (he: named references for <, >, &, ", ', `). */
export const esc = (s: unknown): string => he.escape(String(s));

/** A coordinate rounded to 0.01 px. */
export const n2 = (x: number): string => (Math.round(x * 100) / 100).toString();

export const f3 = (x: number | null | undefined): string =>
  x === null || x === undefined || !Number.isFinite(x) ? '' : x.toFixed(3);

export const signed = (x: number | null | undefined): string =>
  x === null || x === undefined ? '' : `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;

/** Colours that stay apart for colour-blind readers and in grey print (Tableau 10, reordered). */
const COLORS = [
  '#d62728',
  '#1f77b4',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#bcbd22',
  '#2ca02c',
  '#7f7f7f',
];
/** stroke-dasharray per model ('' = solid). */
const DASHES = ['', '7 3', '2 2', '9 3 2 3', '4 4', '1 3', '12 4', '5 2 1 2 1 2', '3 5'];
export const MARKERS = ['circle', 'square', 'triangle', 'diamond', 'cross', 'plus', 'down', 'star'] as const;
export type Marker = (typeof MARKERS)[number];

/** How one model is drawn: every pair of models differs in colour, and in dash or marker. */
export interface SeriesStyle {
  color: string;
  dash: string;
  marker: Marker;
  /** Line width in px: references (stl, lr kinds) wider, drawn first, so thinner curves stay visible on top. */
  width: number;
  /** Drawing order: lower first (underneath). */
  layer: number;
}

/**
 * The style of each model of a report, by its position in `models` (mtl kinds first, then stl,
 * then lr): colour, dash and marker cycle with different periods (10, 9 and 8), so two models
 * share all three only 360 models apart. Reference kinds are drawn first and wider.
 */
export function modelStyles(models: readonly { name: string; kind: string }[]): Map<string, SeriesStyle> {
  return new Map(
    models.map((m, i) => {
      const reference = m.kind !== 'mtl';
      return [
        m.name,
        {
          color: COLORS[i % COLORS.length]!,
          dash: DASHES[i % DASHES.length]!,
          marker: MARKERS[i % MARKERS.length]!,
          width: reference ? 2.8 : 1.8,
          layer: reference ? 0 : 1,
        },
      ];
    }),
  );
}

/** Display names of the legacy model names; others show as stored. */
const LABELS: Record<string, string> = { mtl: 'MTL', mtl_no_aux: 'MTL without aux', stl: 'STL', lr: 'LR' };
export const labelOf = (m: string): string => LABELS[m] ?? m;

export const CSS = `*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:16px 24px;color:#1a1a1a;font-size:14px;line-height:1.4}
h1{font-size:1.5rem;margin:.2rem 0 .6rem}h2{font-size:1.2rem;margin:1.6rem 0 .5rem;border-bottom:2px solid #ccc;padding-bottom:.15rem}
h3{font-size:1rem;margin:1rem 0 .3rem}
table{border-collapse:collapse;font-size:.85rem;margin:.4rem 0}td,th{border:1px solid #d4d4d4;padding:.15rem .45rem;text-align:left;vertical-align:top}
th{background:#f2f2f2;font-weight:600}td{font-variant-numeric:tabular-nums}td.num{text-align:right}td.significant{font-weight:700}table.comparisons{font-size:.78rem}table.comparisons td{white-space:nowrap;padding:.15rem .3rem}
tr.low td{background:#fff6df}tr.macro td{font-weight:600;background:#f7f7f7}
.cols{display:grid;grid-template-columns:repeat(auto-fit,minmax(420px,1fr));gap:12px 20px;align-items:start}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:10px 16px}
.wide{overflow-x:auto}
.pairs{display:grid;grid-template-columns:repeat(auto-fill,minmax(640px,1fr));gap:12px 28px}.pair{display:grid;grid-template-columns:1fr 1fr;gap:8px}
.heatmaps{display:grid;grid-template-columns:repeat(auto-fill,minmax(460px,1fr));gap:14px 20px;align-items:start}
figure{margin:0}figcaption{font-size:.9rem;font-weight:600;text-align:center}
svg.plot{width:100%;height:auto;display:block}svg text{font-size:12px;fill:#222}
.tick{font-size:11px;fill:#444}.axis-label{font-size:12px;fill:#222}
.frame{fill:#fff;stroke:#888}.gridline{stroke:#e6e6e6}.chance{stroke:#999;stroke-dasharray:4 3}.fpr10{stroke:#c8c8c8}
.legend{display:flex;flex-wrap:wrap;gap:.2rem 1.1rem;margin:.3rem 0 .5rem;font-size:.85rem}.legend-entry{white-space:nowrap}
.legend svg{vertical-align:middle;margin-right:.3rem}
.note{color:#555;font-size:.8rem;max-width:110ch}.flag{color:#a05a00;font-weight:600}
.heat text{font-size:11px}.heatmap figcaption,.branching figcaption{text-align:left}.tree text{font-size:11px}
@media print{body{margin:8mm;font-size:11px}h2{break-after:avoid}figure,table,.heatmaps>*{break-inside:avoid}}`;
