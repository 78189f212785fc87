import type { ModelSummary, TaskReport } from './evaluate.js';

/**
 * Spread over repeats: per model and task, and per model for the macro averages, the mean,
 * standard deviation and range of a run's headline figures (test split, fold 0) over its repeats.
 * Pure: rows in, rows out.
 */

/** Mean, sample standard deviation and range of some values; sd null with fewer than 2. */
export interface Spread {
  /** Values that entered (non-null). */
  count: number;
  mean: number | null;
  /** Sample standard deviation (denominator count - 1); null when count < 2. */
  sd: number | null;
  min: number | null;
  max: number | null;
}

/** The spread of the non-null values of `values`. */
export function spread(values: readonly (number | null)[]): Spread {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return { count: 0, mean: null, sd: null, min: null, max: null };
  const mean = v.reduce((s, x) => s + x, 0) / v.length;
  const sd = v.length < 2 ? null : Math.sqrt(v.reduce((s, x) => s + (x - mean) ** 2, 0) / (v.length - 1));
  return { count: v.length, mean, sd, min: Math.min(...v), max: Math.max(...v) };
}

/** One row of the spread over repeats: a model on a task, or its macro average (task null). */
export interface RepeatSpread {
  model: string;
  /** Null for the macro average over main tasks. */
  task: string | null;
  auxiliary: boolean;
  /** Repeats the model was evaluated in (rows found). */
  repeats: number;
  /** Task rows: repeats in which the task was low support (its AUC still enters the spread). */
  lowSupportRepeats: number;
  auc: Spread;
  /** TPR at the first reported FPR target (`fpr`). */
  tprAtFpr: Spread;
  fpr: string | null;
}

/**
 * The spread over repeats of the headline rows (split test, fold 0): per model and task, of AUC
 * and TPR at the first FPR target, over every repeat with a value (a low-support repeat's AUC is
 * counted and the number of such repeats given; a single-class repeat has none); per model, of
 * the macro AUC and macro TPR, each repeat's macro average being over its own averaged tasks.
 * Rows follow the order of `reports` (tasks, then models), macro rows last.
 */
export function summarizeRepeats(
  reports: readonly TaskReport[],
  summaries: readonly ModelSummary[],
): RepeatSpread[] {
  const headline = <T extends { split: string; fold: number }>(rows: readonly T[]) =>
    rows.filter((r) => r.split === 'test' && r.fold === 0);
  const fpr = headline(reports).flatMap((r) => Object.keys(r.tprAtFpr ?? {}))[0] ?? null;
  const groups = new Map<string, TaskReport[]>();
  for (const r of headline(reports)) {
    const k = JSON.stringify([r.task, r.model]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: RepeatSpread[] = [];
  for (const rows of groups.values()) {
    out.push({
      model: rows[0]!.model,
      task: rows[0]!.task,
      auxiliary: rows[0]!.auxiliary,
      repeats: rows.length,
      lowSupportRepeats: rows.filter((r) => r.lowSupport).length,
      auc: spread(rows.map((r) => r.auc)),
      tprAtFpr: spread(rows.map((r) => (fpr === null ? null : (r.tprAtFpr?.[fpr] ?? null)))),
      fpr,
    });
  }
  const macro = new Map<string, ModelSummary[]>();
  for (const s of headline(summaries)) macro.set(s.model, [...(macro.get(s.model) ?? []), s]);
  for (const [model, rows] of macro) {
    out.push({
      model,
      task: null,
      auxiliary: false,
      repeats: rows.length,
      lowSupportRepeats: 0,
      auc: spread(rows.map((s) => s.macroAuc)),
      tprAtFpr: spread(rows.map((s) => (fpr === null ? null : (s.macroTprAtFpr[fpr] ?? null)))),
      fpr,
    });
  }
  return out;
}
