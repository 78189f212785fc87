import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * Calibration and subgroups (issue 18, items 3 and 4).
 * - task_reports.ece: the expected calibration error of each report's raw scores (equal-mass bins).
 * - mhmtl.calibration_bins: the reliability curves of the test split, raw and recalibrated on dev
 *   (Platt or isotonic); mhmtl.calibration_errors: their ECE per curve.
 * - task_reports gets a subgroup key (subgroup, subgroup_value; '' and '' for the whole population,
 *   which is what every stored row is) in its primary key; the views that read task_reports keep
 *   returning the whole-population rows only (CREATE OR REPLACE keeps their grants), with ece added
 *   at the end of the two report views.
 * - mhmtl.subgroup_auc_gaps: the largest AUC difference between the values of a subgroup.
 * The reader may read all of it (src/db/reader-access.ts): aggregates over units.
 */

const KEY = `run_id bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    repeat smallint NOT NULL DEFAULT 0 CHECK (repeat >= 0),
    model  text NOT NULL,
    task   text NOT NULL,
    split  text NOT NULL CHECK (split IN ('dev', 'test')),
    fold   smallint NOT NULL DEFAULT 0 CHECK (fold >= 0)`;

const tables = [
  `ALTER TABLE mhmtl.task_reports ADD COLUMN ece double precision,
     ADD COLUMN subgroup text NOT NULL DEFAULT '',
     ADD COLUMN subgroup_value text NOT NULL DEFAULT '',
     ADD CONSTRAINT task_reports_subgroup_check CHECK ((subgroup = '') = (subgroup_value = ''))`,
  `ALTER TABLE mhmtl.task_reports DROP CONSTRAINT task_reports_pkey`,
  `ALTER TABLE mhmtl.task_reports ADD PRIMARY KEY (run_id, repeat, model, task, split, fold, subgroup, subgroup_value)`,
  `COMMENT ON COLUMN mhmtl.task_reports.ece IS 'Expected calibration error of the raw scores: sum over equal-mass bins (evaluation.calibration_bins, default 10; units sorted by score) of count/n x |positive rate - mean score| (Naeini et al. 2015; Guo et al. 2017). NULL for runs before migration 0011 and for reports with no labelled unit.'`,
  `COMMENT ON COLUMN mhmtl.task_reports.subgroup IS 'The attribute of a subgroup report (evaluation.subgroups, e.g. gender): the test units (fold 0) whose value of it is subgroup_value. '''' for the whole population (every row before migration 0011): filter on subgroup = '''' to get one row per run, repeat, model, task, split and fold.'`,
  `COMMENT ON COLUMN mhmtl.task_reports.subgroup_value IS 'The subgroup''s value: a label (''1'', ''0'') of the attribute, or ''unknown'' for units without one (counted, never dropped); '''' for the whole population.'`,
  `CREATE TABLE mhmtl.calibration_bins (
    ${KEY},
    method        text NOT NULL CHECK (method IN ('raw', 'platt', 'isotonic')),
    bin           smallint NOT NULL CHECK (bin >= 0),
    mean_score    double precision NOT NULL CHECK (mean_score BETWEEN 0 AND 1),
    positive_rate double precision NOT NULL CHECK (positive_rate BETWEEN 0 AND 1),
    count         integer NOT NULL CHECK (count > 0),
    PRIMARY KEY (run_id, repeat, model, task, split, fold, method, bin)
  )`,
  `COMMENT ON TABLE mhmtl.calibration_bins IS 'Reliability curves: per run, repeat, model and task, the labelled test units (fold 0: the holdout test split, or every unit''s out-of-fold score in a cross-validated run) sorted by score and cut into equal-mass bins (evaluation.calibration_bins, default 10; sizes differ by at most one; fewer bins when there are fewer units). Per bin: mean_score (mean predicted probability), positive_rate (fraction positive), count. method raw: the model''s scores; platt (Platt 1999, on the logit of the score) or isotonic (pool-adjacent-violators, Zadrozny & Elkan 2002): the same test units scored by a map fitted on the dev units (evaluation.calibration; holdout runs only), beside the raw curve. ECE = sum(count * abs(positive_rate - mean_score)) / sum(count), see mhmtl.calibration_errors.'`,
];

const views = [
  `CREATE VIEW mhmtl.calibration_errors AS
  SELECT run_id, repeat, model, task, split, fold, method, count(*)::integer AS bins, sum(count)::integer AS n,
         sum(count * abs(positive_rate - mean_score)) / sum(count) AS ece
  FROM mhmtl.calibration_bins
  GROUP BY run_id, repeat, model, task, split, fold, method`,
  `COMMENT ON VIEW mhmtl.calibration_errors IS 'One row per reliability curve of mhmtl.calibration_bins: its bins, units (n) and expected calibration error (ece), so the raw ECE can be read beside the ECE after Platt or isotonic recalibration.'`,
  `CREATE VIEW mhmtl.subgroup_auc_gaps AS
  SELECT run_id, repeat, model, kind, task, auxiliary, split, fold, subgroup,
         count(*)::integer AS values_compared,
         max(auc) - min(auc) AS auc_gap,
         (array_agg(subgroup_value ORDER BY auc DESC, subgroup_value))[1] AS value_highest,
         max(auc) AS auc_highest,
         (array_agg(subgroup_value ORDER BY auc ASC, subgroup_value DESC))[1] AS value_lowest,
         min(auc) AS auc_lowest,
         bool_or(low_support) AS any_low_support
  FROM mhmtl.task_reports
  WHERE subgroup <> '' AND subgroup_value <> 'unknown' AND auc IS NOT NULL
  GROUP BY run_id, repeat, model, kind, task, auxiliary, split, fold, subgroup
  HAVING count(*) >= 2`,
  `COMMENT ON VIEW mhmtl.subgroup_auc_gaps IS 'Per run, repeat, model, task and subgroup attribute: the largest AUC difference between two of its values (auc_gap = auc_highest - auc_lowest, the values named), over the values with an AUC (''unknown'' left out; at least two; on ties value_highest is the first value in text order, value_lowest the last, so the two differ). any_low_support: one of the compared values has fewer than evaluation.min_positives positives or negatives, so the gap is noisy.'`,
  // The whole population only: the rows these views returned before subgroups existed.
  `CREATE OR REPLACE VIEW mhmtl.latest_task_reports AS
  SELECT r.pipeline, tr.run_id, r.finished_at, tr.model, tr.task, tr.auxiliary, tr.n, tr.positives,
         tr.auc, tr.auc_ci_low, tr.auc_ci_high, (tr.tpr_at_fpr ->> '0.1')::float8 AS tpr_at_fpr_10,
         tr.tpr_at_fpr, tr.average_precision, tr.threshold, tr.precision, tr.recall, tr.f1, tr.brier,
         tr.null_reason, tr.delta_auc_lr, tr.delta_auc_stl, tr.kind, tr.repeat, tr.low_support, tr.ci_null_reason,
         tr.ece
  FROM mhmtl.task_reports tr
  JOIN (SELECT DISTINCT ON (pipeline) run_id, pipeline, finished_at FROM mhmtl.runs
        WHERE status = 'succeeded' AND run_id IN (SELECT run_id FROM mhmtl.task_reports)
        ORDER BY pipeline, run_id DESC) r ON r.run_id = tr.run_id
  WHERE tr.split = 'test' AND tr.fold = 0 AND tr.subgroup = ''`,
  `COMMENT ON VIEW mhmtl.latest_task_reports IS 'For each pipeline, the whole-population test reports (holdout, or pooled over folds) of its latest succeeded run that has reports: one row per repeat, model and task (subgroup rows are in mhmtl.task_reports). tpr_at_fpr_10 is the TPR at 10% FPR; low_support rows have no interval and are not macro-averaged; ece the expected calibration error.'`,
  `CREATE OR REPLACE VIEW mhmtl.task_report_history AS
  SELECT r.pipeline, tr.run_id, r.started_at, r.finished_at, r.code_version, r.data_fingerprint, r.seed,
         tr.model, tr.task, tr.auxiliary, tr.n, tr.positives, tr.auc, tr.auc_ci_low, tr.auc_ci_high,
         (tr.tpr_at_fpr ->> '0.1')::float8 AS tpr_at_fpr_10, tr.average_precision, tr.f1, tr.brier,
         tr.null_reason, tr.delta_auc_lr, tr.delta_auc_stl, tr.kind, tr.repeat, tr.low_support, tr.ece
  FROM mhmtl.task_reports tr JOIN mhmtl.runs r ON r.run_id = tr.run_id
  WHERE r.status = 'succeeded' AND tr.split = 'test' AND tr.fold = 0 AND tr.subgroup = ''`,
  `CREATE OR REPLACE VIEW mhmtl.mtl_vs_baselines AS
  SELECT r.pipeline, r.status, c.run_id, c.repeat, c.task, c.split, c.fold, c.model, a.kind AS model_kind,
         c.reference, b.kind AS reference_kind, a.n, a.positives, a.low_support,
         a.auc AS auc_model, b.auc AS auc_reference, c.delta_auc, c.ci_low, c.ci_high, c.p_value, c.p_holm,
         c.method, c.null_reason
  FROM mhmtl.model_comparisons c
  JOIN mhmtl.runs r ON r.run_id = c.run_id
  LEFT JOIN mhmtl.task_reports a ON a.run_id = c.run_id AND a.repeat = c.repeat AND a.model = c.model
       AND a.task = c.task AND a.split = c.split AND a.fold = c.fold AND a.subgroup = ''
  LEFT JOIN mhmtl.task_reports b ON b.run_id = c.run_id AND b.repeat = c.repeat AND b.model = c.reference
       AND b.task = c.task AND b.split = c.split AND b.fold = c.fold AND b.subgroup = ''
  WHERE c.task IS NOT NULL AND c.repeat IS NOT NULL`,
];

// The reader reads calibration_bins, calibration_errors and subgroup_auc_gaps: src/db/reader-access.ts.

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [...tables, ...views]);
}

/** Not reversible once subgroup rows exist (they have no place in the older key); refused. */
export async function down(): Promise<void> {
  throw new Error('migration 0011_calibration_subgroups cannot be reverted (subgroup reports would be lost)');
}
