import type { TaskFeature } from './report-sections.js';
import type { StoredRunReport } from './store.js';

/**
 * Rows of a report's top terms (what each head relies on, mhmtl.task_features): one row a term
 * for CSV and JSON, and a console table with the terms toward and away from the condition side
 * by side. The HTML report draws the same {@link TaskFeature}s.
 */

/** What the console shows above the table. */
export const TERMS_TITLE =
  'What each head relies on (logistic regression: coefficients; networks: gradient x input averaged over the test positives)';

/** One term, flat (CSV, JSON): direction from the weight's sign. */
export interface TermRow extends TaskFeature {
  direction: 'toward' | 'away';
}

/** The report's terms, one row each, in the report's order (task, model, toward then away, rank). */
export function termRows(report: StoredRunReport): TermRow[] {
  return (report.terms ?? []).map((t) => ({
    model: t.model,
    task: t.task,
    direction: t.weight > 0 ? 'toward' : 'away',
    rank: t.rank,
    term: t.term,
    weight: t.weight,
  }));
}

/** Three significant digits, signed (a network's mean gradient x input can be small). */
const signed = (x: number | undefined): string =>
  x === undefined ? '' : `${x > 0 ? '+' : ''}${Number(x.toPrecision(3))}`;

/**
 * The console table: per task and model, rank r's term toward the condition and its weight beside
 * rank r's term away from it. Empty when the run stored no terms.
 */
export function termTableRows(report: StoredRunReport): Record<string, string>[] {
  const heads = new Map<
    string,
    { task: string; model: string; toward: TaskFeature[]; away: TaskFeature[] }
  >();
  for (const t of report.terms ?? []) {
    const key = JSON.stringify([t.task, t.model]);
    let h = heads.get(key);
    if (!h) {
      h = { task: t.task, model: t.model, toward: [], away: [] };
      heads.set(key, h);
    }
    (t.weight > 0 ? h.toward : h.away)[t.rank - 1] = t;
  }
  const out: Record<string, string>[] = [];
  for (const h of heads.values()) {
    const n = Math.max(h.toward.length, h.away.length);
    for (let i = 0; i < n; i++) {
      out.push({
        task: i === 0 ? h.task : '',
        model: i === 0 ? h.model : '',
        rank: String(i + 1),
        toward: h.toward[i]?.term ?? '',
        'weight +': signed(h.toward[i]?.weight),
        away: h.away[i]?.term ?? '',
        'weight -': signed(h.away[i]?.weight),
      });
    }
  }
  return out;
}
