import he from 'he';
import type { ModelComparisonsTable } from '../db/schema.js';
import type { ModelSummary, TaskReport } from './evaluate.js';
import { type RepeatSpread, summarizeRepeats } from './repeats.js';
import type { StoredRunReport } from './store.js';

/**
 * Presentation of a stored run report: rows for the console table and CSV, and one self-contained
 * HTML file (inline CSS and SVG, no scripts, no fonts, no network). Pure: no SQL, no I/O.
 */

/**
 * Which rows a report shows: the holdout test split (fold 0), or in a cv run the pooled result; of
 * the first repeat (the spread over all repeats has its own rows).
 */
const HEADLINE = { split: 'test', fold: 0, repeat: 0 } as const;

/** The TPR-at-FPR key shown in the table: 10% when reported, else the first target. */
function tprKey(reports: readonly TaskReport[]): string | null {
  for (const r of reports) {
    if (r.tprAtFpr) {
      const keys = Object.keys(r.tprAtFpr);
      return keys.includes('0.1') ? '0.1' : (keys[0] ?? null);
    }
  }
  return null;
}

function headline<T extends { split: string; fold: number; repeat: number }>(rows: readonly T[]): T[] {
  return rows.filter(
    (r) => r.split === HEADLINE.split && r.fold === HEADLINE.fold && r.repeat === HEADLINE.repeat,
  );
}

/** One numeric row per repeat, task and model (CSV, JSON): the test split, fold 0. */
export interface ReportRow {
  repeat: number;
  task: string;
  model: string;
  kind: string;
  auxiliary: boolean;
  n: number;
  positives: number;
  low_support: boolean;
  auc: number | null;
  auc_ci_low: number | null;
  auc_ci_high: number | null;
  ci_null_reason: string | null;
  tpr_at_fpr: number | null;
  average_precision: number | null;
  f1: number | null;
  brier: number | null;
  delta_auc_lr: number | null;
  delta_auc_stl: number | null;
  null_reason: string | null;
}

/** Per repeat, task and model, the test metrics (fold 0) as numbers (for CSV and JSON). */
export function reportRows(report: StoredRunReport): ReportRow[] {
  const rows = report.reports.filter((r) => r.split === 'test' && r.fold === 0);
  const key = tprKey(rows);
  return rows.map((r) => ({
    repeat: r.repeat,
    task: r.task,
    model: r.model,
    kind: r.kind,
    auxiliary: r.auxiliary,
    n: r.n,
    positives: r.positives,
    low_support: r.lowSupport,
    auc: r.auc,
    auc_ci_low: r.aucCiLow,
    auc_ci_high: r.aucCiHigh,
    ci_null_reason: r.ciNullReason,
    tpr_at_fpr: key && r.tprAtFpr ? (r.tprAtFpr[key] ?? null) : null,
    average_precision: r.averagePrecision,
    f1: r.f1,
    brier: r.brier,
    delta_auc_lr: r.deltaAucLr,
    delta_auc_stl: r.deltaAucStl,
    null_reason: r.nullReason,
  }));
}

const f3 = (x: number | null | undefined): string => (x === null || x === undefined ? '' : x.toFixed(3));
const signed = (x: number | null | undefined): string =>
  x === null || x === undefined ? '' : `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
const percent = (x: number | null | undefined): string =>
  x === null || x === undefined ? '' : `${x >= 0 ? '+' : ''}${(x * 100).toFixed(2)}%`;

const CI_REASONS: Record<string, string> = {
  low_support: 'no CI: low support',
  zero_width: 'no CI: every resample equal',
  no_bootstrap: 'no CI: no bootstrap',
};

/** "0.812 [0.781, 0.843]", "1.000 [no CI: low support]", or the null reason. */
function aucText(r: {
  auc: number | null;
  aucCiLow: number | null;
  aucCiHigh: number | null;
  nullReason: string | null;
  ciNullReason?: string | null;
}) {
  if (r.auc === null) return r.nullReason ?? '';
  if (r.aucCiLow === null)
    return r.ciNullReason ? `${f3(r.auc)} [${CI_REASONS[r.ciNullReason] ?? r.ciNullReason}]` : f3(r.auc);
  return `${f3(r.auc)} [${f3(r.aucCiLow)}, ${f3(r.aucCiHigh)}]`;
}

/** "macro (7 main; 2 low support left out)". */
function macroLabel(s: ModelSummary): string {
  const left = s.tasksLowSupport ? `; ${s.tasksLowSupport} low support left out` : '';
  return `macro (${s.tasksAveraged} main${left})`;
}

/**
 * The console table: per task and model, positives / n (marked `low` when fewer than the run's
 * min_positives positives or negatives), AUC [95% CI] (no interval for low support, with the
 * reason), TPR at 10% FPR, F1 at the dev threshold, and the AUC deltas against the first LR- and
 * STL-kind reference; then the macro averages over the main tasks per model with Δm, saying how many
 * low-support tasks they leave out. Of the first repeat. Cells are strings (already formatted).
 */
export function reportTableRows(report: StoredRunReport): Record<string, string>[] {
  const rows = headline(report.reports);
  const key = tprKey(rows);
  const tprHeader = `TPR@${key === null ? '10' : Number(key) * 100}%FPR`;
  const out: Record<string, string>[] = rows.map((r) => ({
    task: r.auxiliary ? `${r.task} (aux)` : r.task,
    model: r.model,
    'pos/n': `${r.positives}/${r.n}${r.lowSupport ? ' low' : ''}`,
    'AUC [95% CI]': aucText(r),
    [tprHeader]: key && r.tprAtFpr ? f3(r.tprAtFpr[key]) : '',
    F1: r.f1 === null && r.auc !== null ? 'no dev pos.' : f3(r.f1),
    'Δ vs LR': signed(r.deltaAucLr),
    'Δ vs STL': signed(r.deltaAucStl),
  }));
  for (const s of headline(report.summaries)) {
    out.push({
      task: macroLabel(s),
      model: s.model,
      'pos/n': '',
      'AUC [95% CI]': f3(s.macroAuc),
      [tprHeader]: key ? f3(s.macroTprAtFpr[key]) : '',
      F1: f3(s.macroF1),
      'Δ vs LR': signed(s.deltaAucLr),
      'Δ vs STL':
        s.deltaM === null ? signed(s.deltaAucStl) : `${signed(s.deltaAucStl)} (Δm ${percent(s.deltaM)})`,
    });
  }
  return out;
}

/** One comparison row as numbers (CSV, JSON): every repeat, fold and method; the columns of mhmtl.model_comparisons. */
export type ComparisonRow = Omit<ModelComparisonsTable, 'run_id'>;

/** Every stored comparison as numbers (for CSV and JSON). */
export function comparisonRows(report: StoredRunReport): ComparisonRow[] {
  return report.comparisons.map((c) => ({
    repeat: c.repeat,
    fold: c.fold,
    split: c.split,
    model: c.model,
    reference: c.reference,
    task: c.task,
    delta_auc: c.deltaAuc,
    ci_low: c.ciLow,
    ci_high: c.ciHigh,
    p_value: c.pValue,
    p_holm: c.pHolm,
    method: c.method,
    null_reason: c.nullReason,
    tasks_averaged: c.tasksAveraged,
    tasks_left_out: c.tasksLeftOut,
    resamples: c.resamples,
  }));
}

/** A p-value for people: 3 significant digits, "<0.001" below. */
const pText = (p: number | null): string => (p === null ? '' : p < 0.001 ? '<0.001' : p.toPrecision(3));

/**
 * The comparisons of a report as table rows: the first repeat's on the headline split (per task,
 * DeLong p and Holm-adjusted p; the macro row with its paired bootstrap interval), then, when the
 * run has several resamples (repeats, or folds), the rows over all of them (corrected resampled
 * t-test). A missing interval or p-value says why.
 */
export function comparisonTableRows(report: StoredRunReport): Record<string, string>[] {
  const shown = report.comparisons.filter((c) => (c.repeat === 0 && c.fold === 0) || c.repeat === null);
  return shown.map((c) => {
    const interval =
      c.ciLow === null
        ? c.nullReason
          ? `[${c.nullReason.replace(/_/g, ' ')}]`
          : ''
        : `[${signed(c.ciLow)}, ${signed(c.ciHigh)}]`;
    return {
      comparison: `${c.model} − ${c.reference}`,
      over: c.repeat === null ? `all ${c.resamples ?? ''} resamples` : 'repeat 1',
      task:
        c.task === null
          ? `macro (${c.tasksAveraged ?? '?'} tasks${c.tasksLeftOut ? `; ${c.tasksLeftOut} left out` : ''})`
          : c.task,
      'Δ AUC [95% CI]':
        c.deltaAuc === null ? (c.nullReason ?? '') : `${signed(c.deltaAuc)} ${interval}`.trim(),
      p: pText(c.pValue),
      'p (Holm)': pText(c.pHolm),
      method: c.method,
    };
  });
}

/** The spread over repeats (CSV, JSON rows; see {@link summarizeRepeats}). */
export function repeatRows(report: StoredRunReport): Record<string, string | number | boolean | null>[] {
  return summarizeRepeats(report.reports, report.summaries).map((r: RepeatSpread) => ({
    model: r.model,
    task: r.task,
    auxiliary: r.auxiliary,
    repeats: r.repeats,
    low_support_repeats: r.lowSupportRepeats,
    auc_mean: r.auc.mean,
    auc_sd: r.auc.sd,
    auc_min: r.auc.min,
    auc_max: r.auc.max,
    fpr: r.fpr === null ? null : Number(r.fpr),
    tpr_mean: r.tprAtFpr.mean,
    tpr_sd: r.tprAtFpr.sd,
    tpr_min: r.tprAtFpr.min,
    tpr_max: r.tprAtFpr.max,
  }));
}

/** The spread over repeats as table rows: AUC and TPR mean ± sd [min, max], per task and model, then macro. */
export function repeatTableRows(report: StoredRunReport): Record<string, string>[] {
  const rows = summarizeRepeats(report.reports, report.summaries);
  const fpr = rows[0]?.fpr;
  const cell = (s: RepeatSpread['auc']) =>
    s.mean === null ? '' : `${f3(s.mean)} ± ${s.sd === null ? 'n/a' : f3(s.sd)} [${f3(s.min)}, ${f3(s.max)}]`;
  return rows.map((r) => ({
    task: r.task === null ? 'macro' : r.auxiliary ? `${r.task} (aux)` : r.task,
    model: r.model,
    repeats: `${r.repeats}${r.lowSupportRepeats ? ` (${r.lowSupportRepeats} low support)` : ''}`,
    'AUC mean ± sd [min, max]': cell(r.auc),
    [`TPR@${fpr ? Number(fpr) * 100 : 10}%FPR mean ± sd [min, max]`]: cell(r.tprAtFpr),
  }));
}

/** A one-paragraph header for the console: run, pipeline, status, units per split, repeats, transfer. */
export function reportHeader(report: StoredRunReport): string {
  const r = report.run;
  const units = report.units
    .filter((u) => u.fold === 0)
    .map((u) => `${u.split} ${u.units}`)
    .join(', ');
  const cv = report.units.some((u) => u.fold > 0);
  const design = r.splitDesign ?? {};
  const transfer = design.transfer as { from_run: number; units_kept_out_of_test: number } | undefined;
  const minPositives = design.min_positives as number | undefined;
  return [
    `run ${r.runId} (${r.pipeline}, ${r.status}), seed ${r.seed}, backend ${r.backend}, code ${r.codeVersion}`,
    cv
      ? `cross-validated: pooled out-of-fold test results over ${new Set(report.units.map((u) => u.fold)).size} folds`
      : `units: ${units || 'unknown'}; metrics on the test split, thresholds chosen on dev`,
    ...(report.repeats > 1
      ? [
          `${report.repeats} repeats of the split (seeds ${((design.seeds as number[] | undefined) ?? []).join(', ')}): the per-task table is the first repeat; the spread over all repeats follows; models are stored for the first repeat only`,
        ]
      : []),
    ...(transfer
      ? [
          `transfer from run ${transfer.from_run}: ${transfer.units_kept_out_of_test} units it trained or early-stopped on were kept out of test`,
        ]
      : []),
    ...(minPositives !== undefined
      ? [`low support: fewer than ${minPositives} positives or negatives (no interval, not macro-averaged)`]
      : []),
  ].join('\n');
}

/** The console report as titled tables (the CLI renders them): per task, comparisons, spread over repeats. */
export function reportSections(report: StoredRunReport): { title: string; rows: Record<string, string>[] }[] {
  const sections = [{ title: '', rows: reportTableRows(report) }];
  const comparisons = comparisonTableRows(report);
  if (comparisons.length > 0)
    sections.push({
      title:
        'paired comparisons on the same units (Δ AUC = model − reference; 95% CI: paired bootstrap, or t over resamples; p: DeLong per task, corrected resampled t-test over resamples; Holm across tasks)',
      rows: comparisons,
    });
  if (report.repeats > 1)
    sections.push({
      title: `spread over ${report.repeats} repeats (test split)`,
      rows: repeatTableRows(report),
    });
  return sections;
}

// ---------------------------------------------------------------------------------------------
// HTML

const COLORS: Record<string, string> = {
  mtl: '#d62728',
  mtl_no_aux: '#ff7f0e',
  stl: '#1f77b4',
  lr: '#2ca02c',
};
const LABELS: Record<string, string> = { mtl: 'MTL', mtl_no_aux: 'MTL without aux', stl: 'STL', lr: 'LR' };
/** Colours of other model names, by their position among the report's other models. */
const PALETTE = ['#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];
const colorOf = (m: string, models: readonly string[]): string =>
  COLORS[m] ?? PALETTE[models.filter((x) => !COLORS[x]).indexOf(m) % PALETTE.length] ?? '#555';

const esc = (s: unknown): string => he.escape(String(s));
const n2 = (x: number): string => (Math.round(x * 100) / 100).toString();

function legend(models: readonly string[]): string {
  return `<p class="legend">${models
    .map((m) => `<span><i style="background:${colorOf(m, models)}"></i>${esc(LABELS[m] ?? m)}</span>`)
    .join(' ')}</p>`;
}

/** One ROC panel: a path per model, the chance diagonal, axes from 0 to 1. */
function rocPanel(report: StoredRunReport, task: string, models: readonly string[]): string {
  const size = 180;
  const pad = 28;
  const x = (v: number) => n2(pad + v * size);
  const y = (v: number) => n2(pad / 2 + (1 - v) * size);
  const paths = models
    .map((m) => {
      const c = report.curves.find(
        (k) => k.model === m && k.task === task && k.split === 'test' && k.fold === 0 && k.repeat === 0,
      );
      if (!c) return '';
      const d = c.curve.fpr.map((f, i) => `${i === 0 ? 'M' : 'L'}${x(f)},${y(c.curve.tpr[i]!)}`).join(' ');
      return `<path class="roc-curve" data-model="${esc(m)}" data-task="${esc(task)}" d="${d}" fill="none" stroke="${colorOf(
        m,
        models,
      )}" stroke-width="1.6"><title>${esc(LABELS[m] ?? m)}</title></path>`;
    })
    .join('');
  const r = headline(report.reports).filter((k) => k.task === task);
  const note = r[0]?.nullReason
    ? `<text x="${x(0.5)}" y="${y(0.5)}" text-anchor="middle">${esc(r[0].nullReason)}</text>`
    : '';
  const w = size + pad + 8;
  const h = size + pad + 10;
  return `<figure class="panel"><figcaption>${esc(task)}</figcaption>
<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="ROC curves for ${esc(task)}">
<rect x="${x(0)}" y="${y(1)}" width="${size}" height="${size}" class="frame"/>
<line x1="${x(0)}" y1="${y(0)}" x2="${x(1)}" y2="${y(1)}" class="chance"/>
<line x1="${x(0.1)}" y1="${y(0)}" x2="${x(0.1)}" y2="${y(1)}" class="fpr10"/>
${paths}${note}
<text x="${x(0.5)}" y="${h - 2}" text-anchor="middle" class="axis">FPR</text>
<text x="10" y="${y(0.5)}" text-anchor="middle" class="axis" transform="rotate(-90 10 ${y(0.5)})">TPR</text>
</svg></figure>`;
}

/** AUC per task and model with 95% CI error bars, one row per task. */
function aucChart(report: StoredRunReport, tasks: readonly string[], models: readonly string[]): string {
  const rows = headline(report.reports);
  const aucs = rows.flatMap((r) => [r.auc, r.aucCiLow, r.aucCiHigh]).filter((v): v is number => v !== null);
  const lo = Math.max(0, Math.floor((Math.min(0.5, ...aucs) - 0.02) * 10) / 10);
  const left = 140;
  const width = 420;
  const band = 14 * models.length + 10;
  const height = band * tasks.length + 40;
  const x = (v: number) => n2(left + ((v - lo) / (1 - lo)) * width);
  const ticks: string[] = [];
  for (let t = lo; t <= 1.0001; t += 0.1) {
    ticks.push(
      `<line x1="${x(t)}" y1="10" x2="${x(t)}" y2="${height - 25}" class="grid"/><text x="${x(t)}" y="${height - 10}" text-anchor="middle" class="axis">${t.toFixed(1)}</text>`,
    );
  }
  const marks = tasks
    .map((task, i) => {
      const y0 = 10 + i * band;
      const aux = rows.some((q) => q.task === task && q.auxiliary) ? ' (aux)' : '';
      const label = `<text x="${left - 8}" y="${n2(y0 + band / 2 + 4)}" text-anchor="end">${esc(task + aux)}</text>`;
      const bars = models
        .map((m, k) => {
          const r = rows.find((q) => q.task === task && q.model === m);
          if (!r || r.auc === null) return '';
          const yy = n2(y0 + 8 + k * 14);
          const ci =
            r.aucCiLow !== null && r.aucCiHigh !== null
              ? `<line class="ci" x1="${x(r.aucCiLow)}" y1="${yy}" x2="${x(r.aucCiHigh)}" y2="${yy}" stroke="${colorOf(m, models)}"/>`
              : '';
          // A low-support AUC is drawn hollow: no interval, not in the macro average.
          const fill = r.lowSupport ? `#fff" stroke="${colorOf(m, models)}` : colorOf(m, models);
          return `${ci}<circle class="auc-point${r.lowSupport ? ' low-support' : ''}" data-model="${esc(m)}" data-task="${esc(task)}" cx="${x(r.auc)}" cy="${yy}" r="3.5" fill="${fill}"><title>${esc(
            `${LABELS[m] ?? m} ${task}: AUC ${aucText(r)}${r.lowSupport ? ` (low support: ${r.positives} positives of ${r.n})` : ''}`,
          )}</title></circle>`;
        })
        .join('');
      return label + bars;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 20}" height="${height}" role="img" aria-label="AUC per task with 95% confidence intervals">
${ticks.join('')}
<line x1="${x(0.5)}" y1="10" x2="${x(0.5)}" y2="${height - 25}" class="chance"/>
${marks}
</svg>`;
}

function table(head: readonly string[], body: readonly (readonly string[])[]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body
    .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

function summaryTable(summaries: readonly ModelSummary[]): string {
  return table(
    [
      'model',
      'main tasks',
      'low support left out',
      'macro AUC',
      'macro TPR@FPR',
      'macro F1',
      'Δ AUC vs LR',
      'Δ AUC vs STL',
      'Δm (AUC)',
    ],
    headline(summaries).map((s) => [
      LABELS[s.model] ?? s.model,
      String(s.tasksAveraged),
      s.tasksLowSupport === null ? '' : String(s.tasksLowSupport),
      f3(s.macroAuc),
      Object.entries(s.macroTprAtFpr)
        .map(([k, v]) => `${Number(k) * 100}%: ${f3(v)}`)
        .join(', '),
      f3(s.macroF1),
      signed(s.deltaAucLr),
      signed(s.deltaAucStl),
      percent(s.deltaM),
    ]),
  );
}

const CSS = `body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;margin:2rem;color:#222;max-width:1200px}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left}
th{background:#f4f4f4}td{font-variant-numeric:tabular-nums}
.panels{display:flex;flex-wrap:wrap;gap:.5rem}.panel{margin:0}.panel figcaption{font-size:.85rem;font-weight:600;text-align:center}
.frame{fill:#fff;stroke:#999}.chance{stroke:#bbb;stroke-dasharray:4 3}.fpr10{stroke:#ddd}.grid{stroke:#eee}
.axis{font-size:10px;fill:#666}svg text{font-size:11px}.ci{stroke-width:2}
.legend span{margin-right:1rem;font-size:.85rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
.note{color:#666;font-size:.8rem}`;

/**
 * The HTML report: ONE self-contained file (inline CSS and SVG; no script, no external font, image
 * or stylesheet, so it opens offline and makes no network request). Run metadata (pipeline, status,
 * seed, backend, code version, units per split, seconds per stage), the per-task table, macro
 * averages with Δm, the paired comparisons, the spread over repeats, AUC per task with 95% CI
 * error bars (low-support points hollow), and ROC curves per task (small multiples) of every model.
 * Every string from the database is HTML-escaped.
 */
export function renderReportHtml(report: StoredRunReport): string {
  const r = report.run;
  const rows = headline(report.reports);
  const tasks = [...new Set(rows.map((x) => x.task))];
  const models = report.models.map((m) => m.name).filter((m) => rows.some((x) => x.model === m));
  const section = (rows: Record<string, string>[]) => {
    const head = rows[0] ? Object.keys(rows[0]) : [];
    return table(
      head,
      rows.map((x) => head.map((h) => x[h] ?? '')),
    );
  };
  const comparisons = comparisonTableRows(report);
  const meta: [string, string][] = [
    ['pipeline', r.pipeline],
    ['run', String(r.runId)],
    ['status', r.status],
    ['seed', String(r.seed)],
    ['backend', r.backend],
    ['code version', r.codeVersion],
    ['data fingerprint', r.dataFingerprint ?? ''],
    ['started', r.startedAt instanceof Date ? r.startedAt.toISOString() : String(r.startedAt)],
    [
      'finished',
      r.finishedAt ? (r.finishedAt instanceof Date ? r.finishedAt.toISOString() : String(r.finishedAt)) : '',
    ],
    [
      'units',
      report.units
        .map((u) => (u.fold === 0 ? `${u.split}: ${u.units}` : `fold ${u.fold} ${u.split}: ${u.units}`))
        .join(', '),
    ],
    ['split', reportHeader(report).split('\n').slice(2).join('; ')],
  ];
  const durations = Object.entries(r.stageDurations ?? {});
  const table1 = reportTableRows(report).filter((x) => !(x.task ?? '').startsWith('macro ('));
  const head = table1[0] ? Object.keys(table1[0]) : [];
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(`mhmtl report: run ${r.runId} (${r.pipeline})`)}</title>
<style>${CSS}</style></head>
<body>
<h1>${esc(`mhmtl report: run ${r.runId}, pipeline ${r.pipeline}`)}</h1>
<h2>Run</h2>
<table><tbody>${meta.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>
${
  durations.length > 0
    ? `<h3>Seconds per stage</h3>${table(
        ['stage', 'seconds'],
        durations.map(([k, v]) => [k, Number(v).toFixed(2)]),
      )}`
    : ''
}
<h2>Per task (test split; cross-validated runs: pooled out-of-fold)</h2>
${table(
  head,
  table1.map((x) => head.map((h) => x[h] ?? '')),
)}
<p class="note">AUC with a percentile bootstrap 95% CI; TPR at FPR: the highest TPR with FPR at or below the target; F1 at the threshold of maximum F1 on dev; Δ: AUC of the row minus the LR / STL AUC of the same task. single_class: one class among the evaluated units, no metric. low: fewer positives or negatives than the run's min_positives: no interval, not averaged.</p>
<h2>Macro averages over main tasks</h2>
${summaryTable(report.summaries)}
<p class="note">Δm: mean over main tasks of (AUC<sub>MTL</sub> − AUC<sub>STL</sub>) / AUC<sub>STL</sub> (Maninis et al. 2019). Auxiliary tasks, low-support tasks and tasks without both classes are not averaged.</p>
${
  comparisons.length > 0
    ? `<h2>Paired comparisons on the same units</h2>
${section(comparisons)}
<p class="note">Δ AUC: AUC of the model minus that of the reference on the same units. Per task: 95% CI from a paired bootstrap (the same resamples for both models), p from DeLong's test, Holm-adjusted across the tasks of a comparison. Macro: mean difference over the tasks that are neither low support nor single-class, paired bootstrap CI. Over all resamples (repeats, folds): Nadeau &amp; Bengio's corrected resampled t-test.</p>`
    : ''
}
${
  report.repeats > 1
    ? `<h2>Spread over ${report.repeats} repeats (test split)</h2>
${section(repeatTableRows(report))}`
    : ''
}
<h2>AUC per task with 95% confidence intervals</h2>
${legend(models)}
${aucChart(report, tasks, models)}
<h2>ROC curves</h2>
${legend(models)}
<div class="panels">
${tasks.map((t) => rocPanel(report, t, models)).join('\n')}
</div>
<p class="note">Dashed: chance. The light vertical line marks 10% FPR.</p>
</body></html>
`;
}
