import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * Named models, repeats, low support and paired comparisons (issue 13).
 * - Models are an open set known by name, with their kind (mtl, stl, lr) in its own column: the
 *   CHECK on four families goes, `kind` is added to models, task_reports and model_summaries and
 *   filled for stored rows (mtl and mtl_no_aux are mtl-kind), so earlier runs read as before under
 *   their names mtl, mtl_no_aux, stl, lr. models.family keeps the name a model is reported under.
 * - Repeats: a `repeat` key column (0-based; stored rows are repeat 0) on every per-run result table.
 * - Low support: task_reports.low_support (filled for stored rows with the default threshold, 10
 *   positives and 10 negatives) and ci_null_reason; model_summaries.tasks_low_support (NULL for
 *   stored rows: their macro averages were computed before low support was left out).
 * - runs.split_design: how the split was made (holdout or folds, repeats and their seeds, and the
 *   run whose training units were kept out of test).
 * - mhmtl.model_comparisons, back-filled for stored runs with the deltas they had (method
 *   'difference': no interval, no p-value); mtl_vs_baselines becomes a view over it.
 */

const REPEAT = 'repeat smallint NOT NULL DEFAULT 0 CHECK (repeat >= 0)';
// No CHECK on the kinds: a new kind of model is code (src/pipeline/models.ts), not a migration.
const KIND = 'kind text';
const KIND_OF_MODEL = `CASE WHEN model IN ('mtl', 'mtl_no_aux') THEN 'mtl' ELSE model END`;

const tables = [
  // task_reports: open model names, kind, repeat, low support.
  `ALTER TABLE mhmtl.task_reports DROP CONSTRAINT IF EXISTS task_reports_model_check`,
  `ALTER TABLE mhmtl.task_reports ADD COLUMN ${KIND}, ADD COLUMN ${REPEAT},
     ADD COLUMN low_support boolean NOT NULL DEFAULT false,
     ADD COLUMN ci_null_reason text CHECK (ci_null_reason IN ('low_support', 'zero_width', 'no_bootstrap'))`,
  `UPDATE mhmtl.task_reports SET kind = ${KIND_OF_MODEL},
     low_support = (n > 0 AND (positives < 10 OR negatives < 10))`,
  `ALTER TABLE mhmtl.task_reports ALTER COLUMN kind SET NOT NULL`,
  `ALTER TABLE mhmtl.task_reports DROP CONSTRAINT task_reports_pkey`,
  `ALTER TABLE mhmtl.task_reports ADD PRIMARY KEY (run_id, repeat, model, task, split, fold)`,
  `COMMENT ON TABLE mhmtl.task_reports IS 'One row per run x repeat x model x task x split x fold. model: the model''s name (runs before migration 0009: mtl, mtl_no_aux, stl or lr), kind: mtl, stl or lr (STL and LR: the per-task models, assembled). repeat: 0-based repeat of the split (evaluation.repeats). fold 0 = the holdout split, or in a cross-validated run the pooled out-of-fold result; fold k >= 1 = fold k-1 held out. low_support: fewer than evaluation.min_positives (default 10) positives or negatives among the evaluated units; such a row has no interval (ci_null_reason low_support) and is left out of macro averages, Δm and macro comparisons. Metrics are NULL with null_reason single_class (one class among the evaluated units) or no_labels. AUC: Mann-Whitney with ties at half credit; auc_ci_low/high: percentile bootstrap 95% CI over bootstrap_used resamples (bootstrap_skipped had one class), NULL with ci_null_reason low_support, zero_width (every resample gave the same AUC) or no_bootstrap. tpr_at_fpr: {"0.1": tpr}, the highest TPR at FPR <= target (step function). average_precision: scikit-learn definition. threshold: max-F1 on dev; precision/recall/f1 at it. brier: mean squared error of the probability. delta_auc_lr/stl (test rows): from mhmtl.model_comparisons, this AUC minus the AUC of the first lr-kind / stl-kind reference the model is compared with.'`,
  // roc_points, predictions, splits, training_history, model_summaries: repeat.
  `ALTER TABLE mhmtl.roc_points ADD COLUMN ${REPEAT}`,
  `ALTER TABLE mhmtl.roc_points DROP CONSTRAINT roc_points_pkey`,
  `ALTER TABLE mhmtl.roc_points ADD PRIMARY KEY (run_id, repeat, model, task, split, fold, point)`,
  `ALTER TABLE mhmtl.predictions ADD COLUMN ${REPEAT}`,
  `ALTER TABLE mhmtl.predictions DROP CONSTRAINT predictions_pkey`,
  `ALTER TABLE mhmtl.predictions ADD PRIMARY KEY (unit_id, run_id, repeat, model, task, fold)`,
  `COMMENT ON TABLE mhmtl.predictions IS 'Per unit (user pseudonym), run, repeat, model (its reported name) and task: the predicted probability, with the split the unit was in (fold 0: holdout; cross-validated runs: the out-of-fold score, fold = the fold that held the unit out + 1). A predicted condition per person: not readable by mhmtl_reader.'`,
  `ALTER TABLE mhmtl.splits ADD COLUMN ${REPEAT}`,
  `ALTER TABLE mhmtl.splits DROP CONSTRAINT splits_pkey`,
  `ALTER TABLE mhmtl.splits ADD PRIMARY KEY (unit_id, run_id, repeat, fold)`,
  `COMMENT ON TABLE mhmtl.splits IS 'Which unit went where, per repeat of the split: fold 0 = the train/dev/test split of a holdout run; in a K-fold run one row per unit and fold k = 1..K giving its role when fold k is held out (test = in fold k). Per person: not readable by mhmtl_reader.'`,
  `ALTER TABLE mhmtl.training_history ADD COLUMN ${REPEAT}`,
  `ALTER TABLE mhmtl.training_history DROP CONSTRAINT training_history_run_id_model_epoch_task_key`,
  `ALTER TABLE mhmtl.training_history ADD CONSTRAINT training_history_key
     UNIQUE NULLS NOT DISTINCT (run_id, repeat, model, epoch, task)`,
  `COMMENT ON TABLE mhmtl.training_history IS 'Per run, repeat, model (stored name: mtl, mtl_no_aux, <name>:<task> for stl and lr kinds) and epoch: training loss, dev loss and dev AUC, per task or overall (task NULL).'`,
  `ALTER TABLE mhmtl.model_summaries ADD COLUMN ${KIND}, ADD COLUMN ${REPEAT}, ADD COLUMN tasks_low_support integer`,
  `UPDATE mhmtl.model_summaries SET kind = ${KIND_OF_MODEL}`,
  `ALTER TABLE mhmtl.model_summaries ALTER COLUMN kind SET NOT NULL`,
  `ALTER TABLE mhmtl.model_summaries DROP CONSTRAINT model_summaries_pkey`,
  `ALTER TABLE mhmtl.model_summaries ADD PRIMARY KEY (run_id, repeat, model, split, fold)`,
  `COMMENT ON TABLE mhmtl.model_summaries IS 'Per run, repeat, model, split and fold: macro averages over the main (non-auxiliary) tasks with an AUC that are not low support (tasks_averaged of them; tasks_low_support left out, NULL for runs before migration 0009, whose averages included them). delta_auc_lr/stl (test): from mhmtl.model_comparisons, the macro difference against the first lr-kind / stl-kind reference; delta_m: mean over the averaged tasks of (AUC - AUC_stl) / AUC_stl against that stl-kind reference (Maninis et al. 2019), a fraction.'`,
  // models: kind beside the name.
  `ALTER TABLE mhmtl.models ADD COLUMN ${KIND}`,
  `UPDATE mhmtl.models SET kind = CASE WHEN family IN ('mtl', 'mtl_no_aux') THEN 'mtl' ELSE family END`,
  `ALTER TABLE mhmtl.models ALTER COLUMN kind SET NOT NULL`,
  `COMMENT ON TABLE mhmtl.models IS 'Per run, each trained model of the first repeat (later repeats store none), by stored name: an mtl-kind model under its name (mtl, mtl_no_aux, ...), an stl- or lr-kind model one per main task as <name>:<task> (stl:anxiety, lr:anxiety). kind: mtl, stl or lr. family: the name the model is reported under in task_reports (mtl, mtl_no_aux, stl, lr, ...). weights is the tfjs weight buffer; topology the tfjs model JSON.'`,
  // runs: how the split was made.
  `ALTER TABLE mhmtl.runs ADD COLUMN split_design jsonb`,
  `COMMENT ON COLUMN mhmtl.runs.split_design IS 'How the units were split: {"kind": "holdout"|"cv", "folds", "ratios", "repeats", "seeds" (one per repeat; the first is the run seed), "min_positives", "models_stored_for_repeat": 0, "transfer": {"from_run", "units_kept_out_of_test", "source_units"} when a run started from another run''s weights}. NULL for runs before migration 0009.'`,
  // the comparisons.
  `CREATE TABLE mhmtl.model_comparisons (
    run_id          bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    repeat          smallint CHECK (repeat >= 0),
    fold            smallint NOT NULL DEFAULT 0 CHECK (fold >= 0),
    split           text NOT NULL CHECK (split IN ('dev', 'test')),
    model           text NOT NULL,
    reference       text NOT NULL,
    task            text,
    delta_auc       double precision,
    ci_low          double precision,
    ci_high         double precision,
    p_value         double precision CHECK (p_value BETWEEN 0 AND 1),
    p_holm          double precision CHECK (p_holm BETWEEN 0 AND 1),
    method          text NOT NULL CHECK (method IN ('delong', 'paired_bootstrap', 'corrected_resampled_t', 'difference')),
    null_reason     text CHECK (null_reason IN ('low_support', 'single_class', 'no_task', 'too_few_resamples', 'no_variance')),
    tasks_averaged  integer,
    tasks_left_out  integer,
    resamples       integer,
    CHECK (model <> reference),
    UNIQUE NULLS NOT DISTINCT (run_id, repeat, fold, split, model, reference, task)
  )`,
  `COMMENT ON TABLE mhmtl.model_comparisons IS 'Paired comparisons of a model with a reference on the same units: delta_auc = AUC(model) - AUC(reference). task NULL = macro over the main tasks (tasks_averaged of them; tasks_left_out were low support or single-class). method delong: per task, ci_low/high a paired percentile bootstrap 95% interval of the difference (the same unit resamples for both models), p_value DeLong''s test (DeLong et al. 1988, fast algorithm of Sun & Xu 2014), p_holm Holm-adjusted across the tasks of the comparison; paired_bootstrap: the macro difference with its paired bootstrap interval, no p-value; corrected_resampled_t (repeat NULL): over all repeats (and folds), the mean difference with Nadeau & Bengio''s corrected resampled t-test (p_value, t interval; resamples = J), p_holm across tasks; difference: a delta of a run before migration 0009. null_reason: why an interval or p-value is missing.'`,
  // stored runs: their deltas become comparisons (no interval, no p-value).
  `INSERT INTO mhmtl.model_comparisons (run_id, repeat, fold, split, model, reference, task, delta_auc, method)
   SELECT run_id, 0, fold, split, model, 'lr', task, delta_auc_lr, 'difference' FROM mhmtl.task_reports
     WHERE delta_auc_lr IS NOT NULL AND split = 'test'
   UNION ALL
   SELECT run_id, 0, fold, split, model, 'stl', task, delta_auc_stl, 'difference' FROM mhmtl.task_reports
     WHERE delta_auc_stl IS NOT NULL AND split = 'test'
   UNION ALL
   SELECT a.run_id, 0, a.fold, a.split, 'mtl', 'mtl_no_aux', a.task, a.auc - b.auc, 'difference'
     FROM mhmtl.task_reports a JOIN mhmtl.task_reports b
       ON b.run_id = a.run_id AND b.task = a.task AND b.split = a.split AND b.fold = a.fold AND b.model = 'mtl_no_aux'
     WHERE a.model = 'mtl' AND a.split = 'test' AND a.auc IS NOT NULL AND b.auc IS NOT NULL AND NOT a.auxiliary
   UNION ALL
   SELECT run_id, 0, fold, split, model, 'lr', NULL, delta_auc_lr, 'difference' FROM mhmtl.model_summaries
     WHERE delta_auc_lr IS NOT NULL AND split = 'test'
   UNION ALL
   SELECT run_id, 0, fold, split, model, 'stl', NULL, delta_auc_stl, 'difference' FROM mhmtl.model_summaries
     WHERE delta_auc_stl IS NOT NULL AND split = 'test'`,
];

const views = [
  // Columns added at the end: CREATE OR REPLACE keeps the views' grants.
  `CREATE OR REPLACE VIEW mhmtl.latest_task_reports AS
  SELECT r.pipeline, tr.run_id, r.finished_at, tr.model, tr.task, tr.auxiliary, tr.n, tr.positives,
         tr.auc, tr.auc_ci_low, tr.auc_ci_high, (tr.tpr_at_fpr ->> '0.1')::float8 AS tpr_at_fpr_10,
         tr.tpr_at_fpr, tr.average_precision, tr.threshold, tr.precision, tr.recall, tr.f1, tr.brier,
         tr.null_reason, tr.delta_auc_lr, tr.delta_auc_stl, tr.kind, tr.repeat, tr.low_support, tr.ci_null_reason
  FROM mhmtl.task_reports tr
  JOIN (SELECT DISTINCT ON (pipeline) run_id, pipeline, finished_at FROM mhmtl.runs
        WHERE status = 'succeeded' AND run_id IN (SELECT run_id FROM mhmtl.task_reports)
        ORDER BY pipeline, run_id DESC) r ON r.run_id = tr.run_id
  WHERE tr.split = 'test' AND tr.fold = 0`,
  `COMMENT ON VIEW mhmtl.latest_task_reports IS 'For each pipeline, the test reports (holdout, or pooled over folds) of its latest succeeded run that has reports: one row per repeat, model and task. tpr_at_fpr_10 is the TPR at 10% FPR; low_support rows have no interval and are not macro-averaged.'`,
  `CREATE OR REPLACE VIEW mhmtl.task_report_history AS
  SELECT r.pipeline, tr.run_id, r.started_at, r.finished_at, r.code_version, r.data_fingerprint, r.seed,
         tr.model, tr.task, tr.auxiliary, tr.n, tr.positives, tr.auc, tr.auc_ci_low, tr.auc_ci_high,
         (tr.tpr_at_fpr ->> '0.1')::float8 AS tpr_at_fpr_10, tr.average_precision, tr.f1, tr.brier,
         tr.null_reason, tr.delta_auc_lr, tr.delta_auc_stl, tr.kind, tr.repeat, tr.low_support
  FROM mhmtl.task_reports tr JOIN mhmtl.runs r ON r.run_id = tr.run_id
  WHERE r.status = 'succeeded' AND tr.split = 'test' AND tr.fold = 0`,
  `DROP VIEW mhmtl.mtl_vs_baselines`,
  `CREATE VIEW mhmtl.mtl_vs_baselines AS
  SELECT r.pipeline, r.status, c.run_id, c.repeat, c.task, c.split, c.fold, c.model, a.kind AS model_kind,
         c.reference, b.kind AS reference_kind, a.n, a.positives, a.low_support,
         a.auc AS auc_model, b.auc AS auc_reference, c.delta_auc, c.ci_low, c.ci_high, c.p_value, c.p_holm,
         c.method, c.null_reason
  FROM mhmtl.model_comparisons c
  JOIN mhmtl.runs r ON r.run_id = c.run_id
  LEFT JOIN mhmtl.task_reports a ON a.run_id = c.run_id AND a.repeat = c.repeat AND a.model = c.model
       AND a.task = c.task AND a.split = c.split AND a.fold = c.fold
  LEFT JOIN mhmtl.task_reports b ON b.run_id = c.run_id AND b.repeat = c.repeat AND b.model = c.reference
       AND b.task = c.task AND b.split = c.split AND b.fold = c.fold
  WHERE c.task IS NOT NULL AND c.repeat IS NOT NULL`,
  `COMMENT ON VIEW mhmtl.mtl_vs_baselines IS 'One row per run, repeat, task, split, fold and comparison (model - reference, from mhmtl.model_comparisons): both AUCs side by side, the difference with its paired bootstrap interval, DeLong p-value and Holm-adjusted p-value. Macro rows and the comparisons across repeats are in mhmtl.model_comparisons.'`,
];

// The reader reads model_comparisons, the recreated view and models.kind: src/db/reader-access.ts
// lists them (its grants are applied after every batch of migrations).

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [...tables, ...views]);
}

/** Not reversible: the rows of repeats after the first and the comparisons have no place in the older schema. */
export async function down(): Promise<void> {
  throw new Error(
    'migration 0009_model_comparisons cannot be reverted (repeats and comparisons would be lost)',
  );
}
