import type { TaskReport } from '../evaluate.js';
import { aucText, repeatTableRows, tprKey } from '../report.js';
import { type ReportContext, taskLabel } from './context.js';
import { esc, f3, labelOf, n2, signed } from './style.js';
import { markerSvg, niceTicks } from './svg.js';
import { type Cell, type Row, recordTable, table } from './tables.js';

/**
 * The result sections of the HTML report: macro averages, the per-task test table (AUC with CI,
 * average precision, Brier score, TPR at the FPR target, the dev-chosen threshold with precision,
 * recall and F1, deltas), dev results, the AUC dot plot, paired comparisons and spread over repeats.
 */

const num = (text: string): Cell => ({ text, className: 'num' });

const posText = (r: TaskReport) => `${r.positives}/${r.n}${r.lowSupport ? ' (low support)' : ''}`;

/** Macro averages per model over the main tasks that are not low support. */
export function macroSection(c: ReportContext): string {
  const key = tprKey(c.test);
  const rows = c.summaries.map((s) => [
    labelOf(s.model),
    num(String(s.tasksAveraged)),
    num(s.tasksLowSupport === null ? '' : String(s.tasksLowSupport)),
    num(f3(s.macroAuc)),
    num(f3(s.macroAveragePrecision)),
    num(f3(s.macroBrier)),
    num(key ? f3(s.macroTprAtFpr[key]) : ''),
    num(f3(s.macroF1)),
    num(signed(s.deltaAucLr)),
    num(signed(s.deltaAucStl)),
    num(s.deltaM === null ? '' : `${s.deltaM >= 0 ? '+' : ''}${(s.deltaM * 100).toFixed(2)}%`),
  ]);
  return `<h2 id="macro">Macro averages over the main tasks (test)</h2>
${table(
  [
    'model',
    'main tasks averaged',
    'low support left out',
    'macro AUC',
    'macro AP',
    'macro Brier',
    `macro TPR@${key === null ? '10' : Number(key) * 100}%FPR`,
    'macro F1',
    'Δ AUC vs LR',
    'Δ AUC vs STL',
    'Δm (AUC)',
  ],
  rows,
)}
<p class="note">AP: average precision (area under the precision-recall curve, scikit-learn's step definition). Brier: mean squared error of the predicted probability (lower is better). Δm: mean over the averaged tasks of (AUC − AUC<sub>STL</sub>) / AUC<sub>STL</sub> (Maninis et al. 2019). Auxiliary, low-support and single-class tasks are not averaged.</p>`;
}

/** Per task and model on the test split (first repeat): every stored metric, low-support rows flagged. */
export function perTaskSection(c: ReportContext): string {
  const key = tprKey(c.test);
  const rows: Row[] = c.test.map((r) => ({
    className: r.lowSupport ? 'low' : '',
    cells: [
      taskLabel(c, r.task),
      labelOf(r.model),
      num(posText(r)),
      num(aucText(r)),
      num(f3(r.averagePrecision)),
      num(f3(r.brier)),
      num(key && r.tprAtFpr ? f3(r.tprAtFpr[key]) : ''),
      num(f3(r.threshold)),
      num(f3(r.precision)),
      num(f3(r.recall)),
      num(r.f1 === null && r.auc !== null ? 'no dev pos.' : f3(r.f1)),
      num(signed(r.deltaAucLr)),
      num(signed(r.deltaAucStl)),
    ],
  }));
  const low = c.test.filter((r) => r.lowSupport);
  return `<h2 id="per-task">Per task (test split${c.report.units.some((u) => u.fold > 0) ? ', pooled out-of-fold' : ''})</h2>
${
  low.length > 0
    ? `<p class="flag">Low support: ${esc([...new Set(low.map((r) => taskLabel(c, r.task)))].join(', '))} — too few positives or negatives for an interval; left out of macro averages (rows shaded).</p>`
    : ''
}
${table(
  [
    'task',
    'model',
    'positives/n',
    'AUC [95% CI]',
    'AP',
    'Brier',
    `TPR@${key === null ? '10' : Number(key) * 100}%FPR`,
    'threshold (dev)',
    'precision',
    'recall',
    'F1',
    'Δ AUC vs LR',
    'Δ AUC vs STL',
  ],
  rows,
  'per-task',
)}
<p class="note">AUC with a percentile bootstrap 95% CI. TPR at FPR: the highest TPR with FPR at or below the target. Threshold: the score of maximum F1 on dev; precision, recall and F1 are on test at that threshold. Δ: the row's AUC minus the AUC of the first LR- / STL-kind reference on the same units. single_class: one class among the evaluated units, no metric.</p>`;
}

/** Per task and model on the dev split (thresholds were chosen here); omitted when the run has no dev rows. */
export function devSection(c: ReportContext): string {
  if (c.dev.length === 0) return '';
  return `<h2 id="dev">Dev results (the split thresholds and early stopping were chosen on)</h2>
${table(
  ['task', 'model', 'positives/n', 'AUC', 'AP', 'Brier', 'threshold', 'F1 at threshold'],
  c.dev.map((r) => ({
    className: r.lowSupport ? 'low' : '',
    cells: [
      taskLabel(c, r.task),
      labelOf(r.model),
      num(posText(r)),
      num(r.auc === null ? (r.nullReason ?? '') : f3(r.auc)),
      num(f3(r.averagePrecision)),
      num(f3(r.brier)),
      num(f3(r.threshold)),
      num(f3(r.f1)),
    ],
  })),
)}`;
}

/**
 * AUC per task and model with the 95% CI as a horizontal bar: one band per task, one row per model
 * (its colour and marker), task labels left of the plot; low-support points hollow.
 */
export function aucChart(c: ReportContext): string {
  const aucs = c.test.flatMap((r) => [r.auc, r.aucCiLow, r.aucCiHigh]).filter((v): v is number => v !== null);
  const lo = Math.max(0, Math.floor((Math.min(0.5, ...aucs) - 0.02) * 10) / 10);
  const longest = Math.max(8, ...c.tasks.map((t) => taskLabel(c, t).length));
  const left = Math.min(260, 16 + longest * 7.2);
  const plotW = 1000 - left - 20;
  const rowH = 6;
  const band = rowH * c.models.length + 10;
  const top = 8;
  const height = top + band * c.tasks.length + 40;
  const x = (v: number) => left + ((v - lo) / (1 - lo)) * plotW;
  const bottom = top + band * c.tasks.length;
  const ticks = niceTicks(lo, 1, 8)
    .map(
      (t) =>
        `<line class="gridline" x1="${n2(x(t))}" y1="${top}" x2="${n2(x(t))}" y2="${bottom}"/><text class="tick x-tick" x="${n2(x(t))}" y="${bottom + 16}" text-anchor="middle">${t.toFixed(1)}</text>`,
    )
    .join('');
  const bands = c.tasks
    .map((task, i) => {
      const y0 = top + i * band;
      const shade =
        i % 2 === 0 ? `<rect x="${left}" y="${y0}" width="${plotW}" height="${band}" fill="#f7f7f7"/>` : '';
      const label = `<text x="${left - 8}" y="${n2(y0 + band / 2 + 4)}" text-anchor="end">${esc(taskLabel(c, task))}</text>`;
      const marks = c.models
        .map((m, k) => {
          const r = c.test.find((q) => q.task === task && q.model === m);
          if (!r || r.auc === null) return '';
          const s = c.styles.get(m)!;
          const yy = y0 + 6 + k * rowH + rowH / 2;
          const ci =
            r.aucCiLow !== null && r.aucCiHigh !== null
              ? `<line x1="${n2(x(r.aucCiLow))}" y1="${n2(yy)}" x2="${n2(x(r.aucCiHigh))}" y2="${n2(yy)}" stroke="${s.color}" stroke-width="2"/>`
              : '';
          const point = r.lowSupport
            ? `<circle cx="${n2(x(r.auc))}" cy="${n2(yy)}" r="3.4" fill="#fff" stroke="${s.color}" stroke-width="1.6"/>`
            : markerSvg(s.marker, x(r.auc), yy, s.color, 3.4);
          return `${ci}<g class="auc-point${r.lowSupport ? ' low-support' : ''}" data-model="${esc(m)}" data-task="${esc(task)}"><title>${esc(
            `${labelOf(m)} ${task}: AUC ${aucText(r)}${r.lowSupport ? ` (low support: ${r.positives} positives of ${r.n})` : ''}`,
          )}</title>${point}</g>`;
        })
        .join('');
      return shade + label + marks;
    })
    .join('');
  return `<svg class="plot" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1000 ${height}" style="max-width:1000px" role="img" aria-label="AUC per task with 95% confidence intervals">
${bands}${ticks}
<line class="chance" x1="${n2(x(0.5))}" y1="${top}" x2="${n2(x(0.5))}" y2="${bottom}"/>
<rect class="frame" fill="none" x="${left}" y="${top}" width="${plotW}" height="${bottom - top}" style="fill:none"/>
<text class="axis-label" x="${n2(left + plotW / 2)}" y="${height - 6}" text-anchor="middle">AUC (test); dashed: chance; hollow: low support, no interval</text>
</svg>`;
}

const pText = (p: number | null): string => (p === null ? '' : p < 0.001 ? '<0.001' : p.toPrecision(2));

/**
 * The paired comparisons as a matrix: one row per comparison (model − reference; first repeat, and
 * over all resamples when there are several), one column per task and the macro column. A task cell
 * is Δ AUC with its Holm-adjusted p (or why there is none); the macro cell Δ with its 95% interval.
 */
export function comparisonsSection(c: ReportContext): string {
  const shown = c.report.comparisons.filter((k) => (k.repeat === 0 && k.fold === 0) || k.repeat === null);
  if (shown.length === 0) return '';
  const tasks = c.tasks.filter((t) => shown.some((k) => k.task === t));
  const keys = [...new Set(shown.map((k) => JSON.stringify([k.model, k.reference, k.repeat === null])))].map(
    (k) => JSON.parse(k) as [string, string, boolean],
  );
  const cellOf = (model: string, reference: string, all: boolean, task: string | null): Cell => {
    const k = shown.find(
      (q) => q.model === model && q.reference === reference && (q.repeat === null) === all && q.task === task,
    );
    if (!k) return '';
    if (k.deltaAuc === null) return k.nullReason?.replace(/_/g, ' ') ?? '';
    const why = k.nullReason
      ? ` (${k.nullReason === 'low_support' ? 'low' : k.nullReason.replace(/_/g, ' ')})`
      : '';
    const text =
      task === null || k.pValue === null
        ? `${signed(k.deltaAuc)}${k.ciLow !== null ? ` [${signed(k.ciLow)}, ${signed(k.ciHigh)}]` : why}`
        : `${signed(k.deltaAuc)} (p ${pText(k.pHolm ?? k.pValue)})`;
    return { text, className: `num${k.pHolm !== null && k.pHolm < 0.05 ? ' significant' : ''}` };
  };
  const rows = keys.map(([model, reference, all]) => [
    `${labelOf(model)} − ${labelOf(reference)}${all ? ' (all resamples)' : ''}`,
    ...tasks.map((t) => cellOf(model, reference, all, t)),
    cellOf(model, reference, all, null),
  ]);
  return `<h2 id="comparisons">Paired comparisons on the same units (Δ AUC = model − reference)</h2>
${table(['comparison (repeat 1 unless said)', ...tasks.map((t) => taskLabel(c, t)), 'macro [95% CI]'], rows, 'comparisons')}
<p class="note">Δ AUC: AUC of the model minus that of the reference on the same units. Per task: 95% CI from a paired bootstrap (the same resamples for both models), p from DeLong's test, Holm-adjusted across the tasks of a comparison. Macro: mean difference over the tasks that are neither low support nor single-class, paired bootstrap CI. Over all resamples (repeats, folds): Nadeau &amp; Bengio's corrected resampled t-test. Task cells show the Holm-adjusted p (bold below 0.05), or (low): low support, no test; every interval and unadjusted p-value: <code>mhmtl report --format csv --rows comparisons</code>.</p>`;
}

/** The spread over repeats (mean ± sd [min, max]); omitted for a run of one repeat. */
export function repeatsSection(c: ReportContext): string {
  if (c.report.repeats <= 1) return '';
  return `<h2 id="repeats">Spread over ${c.report.repeats} repeats (test split)</h2>
${recordTable(repeatTableRows(c.report))}`;
}
