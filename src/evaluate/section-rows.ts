import type { SubgroupReport } from './report-sections.js';
import type { StoredRunReport } from './store.js';
import { UNKNOWN_SUBGROUP } from './subgroups.js';

/**
 * Rows of the calibration and subgroup sections of a stored run (`mhmtl report --rows
 * calibration|subgroups|subgroup_gaps`, CSV and console). Pure: from a {@link StoredRunReport}.
 */

type Row = Record<string, string | number | null>;

/** One row per bin of each reliability curve: repeat, model, task, method, bin, mean score, positive rate, count, the curve's ECE. */
export function calibrationRows(report: StoredRunReport): Row[] {
  return (report.calibration ?? []).flatMap((c) =>
    c.bins.map((b) => ({
      repeat: c.repeat,
      model: c.model,
      task: c.task,
      method: c.method,
      bin: b.bin,
      mean_score: b.meanScore,
      positive_rate: b.positiveRate,
      count: b.count,
      ece: c.ece,
    })),
  );
}

/** One row per repeat, model, task, subgroup and value: n, positives, AUC, AP, Brier. */
export function subgroupRows(report: StoredRunReport): Row[] {
  return (report.subgroups ?? []).map((s) => ({
    repeat: s.repeat,
    model: s.model,
    task: s.task,
    subgroup: s.subgroup,
    value: s.value,
    n: s.n,
    positives: s.positives,
    auc: s.auc,
    average_precision: s.averagePrecision,
    brier: s.brier,
  }));
}

/** The largest AUC difference between the values of one subgroup, for one model and task. */
export interface SubgroupAucGap {
  repeat: number;
  model: string;
  task: string;
  subgroup: string;
  valuesCompared: number;
  aucGap: number;
  valueHighest: string;
  aucHighest: number;
  valueLowest: string;
  aucLowest: number;
}

/**
 * Per repeat, model, task and subgroup: the highest minus the lowest AUC over its values with an
 * AUC ('unknown' left out; at least two values), as the view mhmtl.subgroup_auc_gaps computes it
 * (on ties the highest is the first value in text order, the lowest the last, so the two differ). In the order of `subgroups`.
 */
export function subgroupAucGaps(subgroups: readonly SubgroupReport[]): SubgroupAucGap[] {
  const groups = new Map<string, SubgroupReport[]>();
  for (const s of subgroups) {
    if (s.auc === null || s.value === UNKNOWN_SUBGROUP) continue;
    const k = JSON.stringify([s.repeat, s.model, s.task, s.subgroup]);
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  const gaps: SubgroupAucGap[] = [];
  for (const rows of groups.values()) {
    if (rows.length < 2) continue;
    const byValue = [...rows].sort((a, b) => a.value.localeCompare(b.value));
    const high = byValue.reduce((m, r) => (r.auc! > m.auc! ? r : m));
    const low = byValue.reduce((m, r) => (r.auc! <= m.auc! ? r : m));
    gaps.push({
      repeat: high.repeat,
      model: high.model,
      task: high.task,
      subgroup: high.subgroup,
      valuesCompared: rows.length,
      aucGap: high.auc! - low.auc!,
      valueHighest: high.value,
      aucHighest: high.auc!,
      valueLowest: low.value,
      aucLowest: low.auc!,
    });
  }
  return gaps;
}

/** {@link subgroupAucGaps} of a stored run as rows. */
export function subgroupGapRows(report: StoredRunReport): Row[] {
  return subgroupAucGaps(report.subgroups ?? []).map((g) => ({
    repeat: g.repeat,
    model: g.model,
    task: g.task,
    subgroup: g.subgroup,
    values_compared: g.valuesCompared,
    auc_gap: g.aucGap,
    value_highest: g.valueHighest,
    auc_highest: g.aucHighest,
    value_lowest: g.valueLowest,
    auc_lowest: g.aucLowest,
  }));
}

/** The rows of one section by its `--rows` name, and what to say when the run has none. */
export const SECTION_ROWS = {
  calibration: {
    rows: calibrationRows,
    none: 'no calibration curves (runs store them from migration 0011 on)',
  },
  subgroups: {
    rows: subgroupRows,
    none: 'no subgroup reports (set evaluation.subgroups, e.g. ["gender"])',
  },
  subgroup_gaps: {
    rows: subgroupGapRows,
    none: 'no subgroup AUC gaps (set evaluation.subgroups; a gap needs two values with an AUC)',
  },
} as const;
