/**
 * The optional sections of a run's report, as read back from the database and drawn by the HTML
 * report (issue 18: calibration, subgroups, what each head relies on). One shared definition so
 * the stage that stores a section and the report that draws it agree on its shape; each section
 * is absent (undefined) for runs stored before it existed.
 */

/** One equal-mass bin of a reliability curve (Naeini et al. 2015; Guo et al. 2017, section 2). */
export interface CalibrationBin {
  /** 0-based bin index, ordered by mean score. */
  bin: number;
  /** Mean predicted probability of the bin's units, in [0, 1]. */
  meanScore: number;
  /** Fraction of the bin's units that are positive, in [0, 1]. */
  positiveRate: number;
  /** Units in the bin. */
  count: number;
}

/** A reliability curve of one model and task on the test split (fold 0, one repeat). */
export interface CalibrationCurve {
  model: string;
  task: string;
  repeat: number;
  /** 'raw' scores, or scores recalibrated on dev: 'platt' (Platt 1999) or 'isotonic' (Zadrozny & Elkan 2002). */
  method: 'raw' | 'platt' | 'isotonic';
  /** Expected calibration error: sum over bins of count/n x |positiveRate - meanScore|. */
  ece: number | null;
  bins: CalibrationBin[];
}

/** Metrics of one model and task on the test units of one subgroup value (e.g. gender = female). */
export interface SubgroupReport {
  model: string;
  task: string;
  repeat: number;
  /** The attribute the units were grouped by (a labelled task or user attribute, e.g. 'gender'). */
  subgroup: string;
  /** Its value; 'unknown' for units without one (counted, never dropped). */
  value: string;
  n: number;
  positives: number;
  auc: number | null;
  averagePrecision: number | null;
  brier: number | null;
}

/** One of the n-grams a head relies on most, toward (weight > 0) or away from (weight < 0) its condition. */
export interface TaskFeature {
  model: string;
  task: string;
  /** 1-based rank within its direction (1 = strongest). */
  rank: number;
  term: string;
  weight: number;
}
