import type { ModelSummary, TaskReport } from '../evaluate.js';
import type { StoredRunReport } from '../store.js';
import { labelOf, modelStyles, type SeriesStyle } from './style.js';

/** What every section of the HTML report needs: the report, its headline rows, tasks and model styles. */
export interface ReportContext {
  report: StoredRunReport;
  /** Test split, fold 0 (holdout, or pooled out-of-fold), repeat 0. */
  test: TaskReport[];
  /** Dev split, fold 0, repeat 0 (empty in a cross-validated run). */
  dev: TaskReport[];
  summaries: ModelSummary[];
  /** Tasks in report order. */
  tasks: string[];
  /** Auxiliary tasks. */
  auxiliary: Set<string>;
  /** Reported model names in report order (mtl kinds, stl, lr). */
  models: string[];
  styles: Map<string, SeriesStyle>;
  /** Legend entries of every reported model. */
  entries: { name: string; label: string; style: SeriesStyle }[];
}

const first = <T extends { split: string; fold: number; repeat: number }>(
  rows: readonly T[],
  split: string,
) => rows.filter((r) => r.split === split && r.fold === 0 && r.repeat === 0);

/** The context of a report (pure). */
export function reportContext(report: StoredRunReport): ReportContext {
  const test = first(report.reports, 'test');
  const models = report.models.map((m) => m.name).filter((m) => test.some((r) => r.model === m));
  const styles = modelStyles(report.models.filter((m) => models.includes(m.name)));
  return {
    report,
    test,
    dev: first(report.reports, 'dev'),
    summaries: first(report.summaries, 'test'),
    tasks: [...new Set(test.map((r) => r.task))],
    auxiliary: new Set(test.filter((r) => r.auxiliary).map((r) => r.task)),
    models,
    styles,
    entries: models.map((m) => ({ name: m, label: labelOf(m), style: styles.get(m)! })),
  };
}

/** A task's name as shown: "gender (aux)" for an auxiliary task. */
export const taskLabel = (c: ReportContext, task: string): string =>
  c.auxiliary.has(task) ? `${task} (aux)` : task;
