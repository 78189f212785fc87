import type { ModelComparisonsTable } from '../db/schema.js';
import type { ModelSummary, TaskReport } from './evaluate.js';
import { type RepeatSpread, summarizeRepeats } from './repeats.js';
import type { StoredRunReport } from './store.js';

/**
 * Presentation of a stored run report: rows for the console table, CSV and JSON (the HTML report is
 * in ./html/). Pure: no SQL, no I/O.
 */

/**
 * Which rows a report shows: the holdout test split (fold 0), or in a cv run the pooled result; of
 * the first repeat (the spread over all repeats has its own rows).
 */
const HEADLINE = { split: 'test', fold: 0, repeat: 0 } as const;

/** The TPR-at-FPR key shown in the table: 10% when reported, else the first target. */
export function tprKey(reports: readonly TaskReport[]): string | null {
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
export function aucText(r: {
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

/** The HTML report lives in ./html/ (one module per section); re-exported for callers of this module. */
export { renderReportHtml } from './html/index.js';
