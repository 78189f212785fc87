import type { HistoryEntry } from '../store.js';
import { type ReportContext, taskLabel } from './context.js';
import { esc, f3, labelOf, n2 } from './style.js';
import { legend, linePlot, niceTicks, type Scales, type Series, swatch } from './svg.js';
import { table } from './tables.js';

/**
 * The curve sections of the HTML report: ROC curves per task, training curves per task (training
 * and dev loss per epoch, with the task's weight in the loss beside them) and reliability curves.
 * Every model keeps its colour, dash pattern and marker in every plot.
 */

const PANEL = { width: 380, height: 330 };
/** [0, 1] with a margin, so curves along an edge (TPR 1, FPR 0) stay visible inside the frame. */
const UNIT = { lo: -0.02, hi: 1.02, ticks: [0, 0.2, 0.4, 0.6, 0.8, 1] };

/** The dashed diagonal from (0, 0) to (1, 1): chance (ROC), perfect calibration (reliability). */
const diagonal = (s: Scales): string =>
  `<line class="chance" x1="${n2(s.x(0))}" y1="${n2(s.y(0))}" x2="${n2(s.x(1))}" y2="${n2(s.y(1))}"/>`;

/** One ROC panel per task: every model's test curve (first repeat), chance diagonal, 10% FPR line. */
export function rocSection(c: ReportContext): string {
  const panels = c.tasks.map((task) => {
    const series: Series[] = c.models.flatMap((m) => {
      const k = c.report.curves.find(
        (q) => q.model === m && q.task === task && q.split === 'test' && q.fold === 0 && q.repeat === 0,
      );
      if (!k) return [];
      const r = c.test.find((q) => q.model === m && q.task === task);
      return [
        {
          label: `${labelOf(m)}: AUC ${f3(r?.auc)}`,
          style: c.styles.get(m)!,
          points: k.curve.fpr.map((f, i) => [f, k.curve.tpr[i]!] as const),
          attrs: { class: 'series roc-curve', 'data-model': m, 'data-task': task },
        },
      ];
    });
    const reason = c.test.find((q) => q.task === task)?.nullReason;
    return `<figure class="panel"><figcaption>${esc(taskLabel(c, task))}</figcaption>${linePlot({
      ...PANEL,
      title: `ROC curves for ${task}`,
      x: { ...UNIT, label: 'false positive rate' },
      y: { ...UNIT, label: 'true positive rate' },
      series,
      under: (s) =>
        `${diagonal(s)}<line class="fpr10" x1="${n2(s.x(0.1))}" y1="${n2(s.y(0))}" x2="${n2(s.x(0.1))}" y2="${n2(s.y(1))}"/>`,
      over: (s) =>
        series.length === 0 && reason
          ? `<text x="${n2(s.x(0.5))}" y="${n2(s.y(0.5))}" text-anchor="middle">${esc(reason)}</text>`
          : '',
    })}</figure>`;
  });
  return `<h2 id="roc">ROC curves (test)</h2>
${legend(c.entries)}
<div class="grid">${panels.join('\n')}</div>
<p class="note">Dashed grey: chance. Light vertical line: 10% FPR. Reference models (STL, LR kinds) are drawn first and wider, so the multi-task curves stay visible on top; hover a curve for its AUC.</p>`;
}

/** The reported model a stored history name belongs to: `stl:anxiety` → `stl`. */
function reportedName(stored: string, models: readonly string[]): string | null {
  if (models.includes(stored)) return stored;
  const base = stored.slice(0, stored.lastIndexOf(':'));
  return models.includes(base) ? base : null;
}

/** Series of one task's history rows of every model, by a field. */
function historySeries(
  c: ReportContext,
  rows: readonly HistoryEntry[],
  task: string,
  field: 'loss' | 'devLoss' | 'weight',
  dash?: string,
): Series[] {
  return c.models.flatMap((m) => {
    const pts = rows
      .filter((h) => h.task === task && reportedName(h.model, c.models) === m)
      .filter((h) => h[field] !== null && h[field] !== undefined && Number.isFinite(h[field]))
      .map((h) => [h.epoch, h[field] as number] as const)
      .sort((a, b) => a[0] - b[0]);
    if (pts.length === 0) return [];
    return [
      {
        label: `${labelOf(m)} ${field === 'devLoss' ? 'dev loss' : field === 'loss' ? 'training loss' : 'weight'}`,
        style: c.styles.get(m)!,
        points: pts,
        attrs: {
          class: `series ${field === 'weight' ? 'weight-curve' : 'loss-curve'}`,
          'data-model': m,
          'data-task': task,
          'data-field': field,
        },
        ...(dash !== undefined ? { dash } : {}),
      },
    ];
  });
}

const range = (series: readonly Series[], axis: 0 | 1): [number, number] => {
  const v = series.flatMap((s) => s.points.map((p) => p[axis]));
  return [Math.min(...v), Math.max(...v)];
};

/**
 * Training curves per task (first repeat): training loss (solid) and dev loss (dotted) per epoch of
 * every model that trained on the task, and beside them the task's weight in the loss per epoch
 * (mhmtl.training_history.weight; mean over the epoch's batches for per-batch methods).
 */
export function trainingSection(c: ReportContext): string {
  const rows = c.report.history ?? [];
  if (!rows.some((h) => h.task !== null && (h.loss !== null || h.devLoss !== null))) return '';
  const hasWeights = rows.some((h) => h.weight !== null && h.weight !== undefined);
  const figures = c.tasks.flatMap((task) => {
    const loss = [...historySeries(c, rows, task, 'loss'), ...historySeries(c, rows, task, 'devLoss', '2 3')];
    if (loss.length === 0) return [];
    const [x0, x1] = range(loss, 0);
    const [, y1] = range(loss, 1);
    const out = [
      `<figure class="panel"><figcaption>${esc(taskLabel(c, task))}: loss</figcaption>${linePlot({
        width: 380,
        height: 260,
        title: `training and dev loss for ${task}`,
        x: { lo: x0, hi: Math.max(x1, x0 + 1), label: 'epoch' },
        y: { lo: 0, hi: Math.max(y1, niceTicks(0, y1, 5).at(-1)!), label: 'loss' },
        series: loss,
      })}</figure>`,
    ];
    const weights = historySeries(c, rows, task, 'weight');
    if (hasWeights) {
      if (weights.length === 0) {
        out.push(
          `<figure class="panel"><figcaption>${esc(taskLabel(c, task))}: weight</figcaption><p class="note">no weights stored for this task</p></figure>`,
        );
      } else {
        const [w0, w1] = range(weights, 0);
        const [, wy] = range(weights, 1);
        const top = Math.max(niceTicks(0, wy, 4).at(-1)!, wy * 1.1);
        out.push(
          `<figure class="panel"><figcaption>${esc(taskLabel(c, task))}: weight in the loss</figcaption>${linePlot(
            {
              width: 380,
              height: 260,
              title: `task weight over epochs for ${task}`,
              x: { lo: w0, hi: Math.max(w1, w0 + 1), label: 'epoch' },
              y: { lo: 0, hi: top, label: 'weight' },
              series: weights,
            },
          )}</figure>`,
        );
      }
    }
    return [out.join('')];
  });
  if (figures.length === 0) return '';
  const solid = c.entries[0]?.style;
  const key = solid
    ? `<span class="legend-entry">${swatch({ ...solid, color: '#333', marker: 'circle' }, '')}training loss</span><span class="legend-entry">${swatch({ ...solid, color: '#333', marker: 'circle' }, '2 3')}dev loss</span>`
    : '';
  return `<h2 id="training">Training curves (first repeat)</h2>
${legend(c.entries, key)}
<div class="${hasWeights ? 'pairs' : 'grid'}">${figures.map((f) => (hasWeights ? `<div class="pair">${f}</div>` : f)).join('\n')}</div>
<p class="note">Per epoch: mean training loss of the task (solid) and its dev loss (dotted), each model in its own colour and marker${hasWeights ? "; beside it the task's weight in the multi-task loss (mean over the epoch's batches for per-batch weighting methods)" : ''}. Early stopping keeps the epoch of the best dev result.</p>`;
}

/**
 * Reliability curves per task (raw scores, first repeat): mean predicted probability against the
 * observed positive rate per equal-mass bin, with the diagonal of perfect calibration, and the
 * expected calibration error per model, task and method. Omitted when the run has none.
 */
export function calibrationSection(c: ReportContext): string {
  const curves = (c.report.calibration ?? []).filter((k) => k.repeat === 0);
  if (curves.length === 0) return '';
  const tasks = c.tasks.filter((t) => curves.some((k) => k.task === t));
  const panels = tasks.map((task) => {
    const series: Series[] = c.models.flatMap((m) => {
      const k = curves.find((q) => q.model === m && q.task === task && q.method === 'raw');
      if (!k || k.bins.length === 0) return [];
      return [
        {
          label: `${labelOf(m)}: ECE ${f3(k.ece)}`,
          style: c.styles.get(m)!,
          points: [...k.bins]
            .sort((a, b) => a.bin - b.bin)
            .map((b) => [b.meanScore, b.positiveRate] as const),
          attrs: { class: 'series calibration-curve', 'data-model': m, 'data-task': task },
          everyPoint: true,
        },
      ];
    });
    return `<figure class="panel"><figcaption>${esc(taskLabel(c, task))}</figcaption>${linePlot({
      ...PANEL,
      title: `reliability curves for ${task}`,
      x: { ...UNIT, label: 'mean predicted probability' },
      y: { ...UNIT, label: 'observed positive rate' },
      series,
      under: diagonal,
    })}</figure>`;
  });
  const bins = curves[0]?.bins.length ?? 0;
  return `<h2 id="calibration">Calibration (test)</h2>
${legend(c.entries)}
<div class="grid">${panels.join('\n')}</div>
${table(
  ['task', 'model', 'scores', 'ECE', 'bins', 'units'],
  curves.map((k) => [
    taskLabel(c, k.task),
    labelOf(k.model),
    k.method,
    { text: f3(k.ece), className: 'num' },
    { text: String(k.bins.length), className: 'num' },
    { text: String(k.bins.reduce((a, b) => a + b.count, 0)), className: 'num' },
  ]),
)}
<p class="note">Equal-mass bins (${bins} per curve): each point is a bin's mean predicted probability against its fraction of positives; on the diagonal a model is calibrated. ECE: the bins' |positive rate − mean score| weighted by their share of units (Naeini et al. 2015; Guo et al. 2017). Platt / isotonic rows: scores recalibrated on dev.</p>`;
}
