import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * Evaluation: per-task reports, ROC points, per-unit predictions and splits, training history and
 * per-model macro summaries; researcher views; and the read-only role `mhmtl_reader`, which sees
 * aggregates (reports, curves, run and model metadata) and nothing per person (no post text,
 * tokens, labels, predictions, splits, pseudonym key, vocabulary, weights or quarantined raw rows).
 */

const SPLIT = `split text NOT NULL CHECK (split IN ('train', 'dev', 'test'))`;
const FOLD = 'fold smallint NOT NULL DEFAULT 0 CHECK (fold >= 0)';

const tables = [
  `CREATE TABLE mhmtl.task_reports (
    run_id             bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    model              text NOT NULL CHECK (model IN ('mtl', 'mtl_no_aux', 'stl', 'lr')),
    task               text NOT NULL,
    split              text NOT NULL CHECK (split IN ('dev', 'test')),
    ${FOLD},
    auxiliary          boolean NOT NULL,
    n                  integer NOT NULL,
    positives          integer NOT NULL,
    negatives          integer NOT NULL,
    auc                double precision,
    auc_ci_low         double precision,
    auc_ci_high        double precision,
    bootstrap_used     integer NOT NULL,
    bootstrap_skipped  integer NOT NULL,
    tpr_at_fpr         jsonb,
    average_precision  double precision,
    threshold          double precision,
    precision          double precision,
    recall             double precision,
    f1                 double precision,
    brier              double precision,
    null_reason        text CHECK (null_reason IN ('single_class', 'no_labels')),
    delta_auc_lr       double precision,
    delta_auc_stl      double precision,
    PRIMARY KEY (run_id, model, task, split, fold),
    CHECK ((null_reason IS NULL) = (auc IS NOT NULL))
  )`,
  `COMMENT ON TABLE mhmtl.task_reports IS 'One row per run x model x task x split x fold. model: mtl, mtl_no_aux, stl or lr (STL/LR: the per-task models). fold 0 = the holdout split, or in a cross-validated run the pooled out-of-fold result; fold k >= 1 = fold k-1 held out. Metrics are NULL with null_reason single_class (one class among the evaluated units) or no_labels; macro averages leave them out. AUC: Mann-Whitney with ties at half credit; auc_ci_low/high: percentile bootstrap 95% CI over bootstrap_used resamples (bootstrap_skipped had one class). tpr_at_fpr: {"0.1": tpr}, the highest TPR at FPR <= target (step function). average_precision: scikit-learn definition. threshold: max-F1 on dev; precision/recall/f1 at it. brier: mean squared error of the probability. delta_auc_lr/stl: this AUC minus the LR/STL AUC (mtl, mtl_no_aux rows only).'`,
  `CREATE TABLE mhmtl.roc_points (
    run_id    bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    model     text NOT NULL,
    task      text NOT NULL,
    split     text NOT NULL CHECK (split IN ('dev', 'test')),
    ${FOLD},
    point     smallint NOT NULL CHECK (point >= 0 AND point < 200),
    fpr       double precision NOT NULL,
    tpr       double precision NOT NULL,
    threshold double precision NOT NULL,
    PRIMARY KEY (run_id, model, task, split, fold, point)
  )`,
  `COMMENT ON TABLE mhmtl.roc_points IS 'ROC curve of each task report with both classes, at most 200 points, ends kept (the first point is (0, 0) at threshold Infinity, the last (1, 1)); point orders the curve. A unit is predicted positive when its score >= threshold.'`,
  `CREATE TABLE mhmtl.predictions (
    unit_id text NOT NULL,
    run_id  bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    model   text NOT NULL,
    task    text NOT NULL,
    ${FOLD},
    ${SPLIT},
    score   real NOT NULL,
    PRIMARY KEY (unit_id, run_id, model, task, fold)
  )`,
  `COMMENT ON TABLE mhmtl.predictions IS 'Per unit (user pseudonym), run, model and task: the predicted probability, with the split the unit was in (fold 0: holdout; cross-validated runs: the out-of-fold score, fold = the fold that held the unit out + 1). A predicted condition per person: not readable by mhmtl_reader.'`,
  `CREATE TABLE mhmtl.splits (
    unit_id text NOT NULL,
    run_id  bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    ${FOLD},
    ${SPLIT},
    PRIMARY KEY (unit_id, run_id, fold)
  )`,
  `COMMENT ON TABLE mhmtl.splits IS 'Which unit went where: fold 0 = the train/dev/test split of a holdout run; in a K-fold run one row per unit and fold k = 1..K giving its role when fold k is held out (test = in fold k). Per person: not readable by mhmtl_reader.'`,
  `CREATE TABLE mhmtl.training_history (
    run_id   bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    model    text NOT NULL,
    epoch    integer NOT NULL,
    task     text,
    loss     double precision,
    dev_loss double precision,
    dev_auc  double precision,
    UNIQUE NULLS NOT DISTINCT (run_id, model, epoch, task)
  )`,
  `COMMENT ON TABLE mhmtl.training_history IS 'Per run, model (mtl, mtl_no_aux, stl:<task>, lr:<task>) and epoch: training loss, dev loss and dev AUC, per task or overall (task NULL).'`,
  `CREATE TABLE mhmtl.model_summaries (
    run_id                  bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    model                   text NOT NULL,
    split                   text NOT NULL CHECK (split IN ('dev', 'test')),
    ${FOLD},
    tasks_averaged          integer NOT NULL,
    macro_auc               double precision,
    macro_tpr_at_fpr        jsonb NOT NULL DEFAULT '{}',
    macro_average_precision double precision,
    macro_f1                double precision,
    macro_brier             double precision,
    delta_auc_lr            double precision,
    delta_auc_stl           double precision,
    delta_m                 double precision,
    PRIMARY KEY (run_id, model, split, fold)
  )`,
  `COMMENT ON TABLE mhmtl.model_summaries IS 'Per run, model, split and fold: macro averages over the main (non-auxiliary) tasks whose metrics are not NULL (tasks_averaged of them). delta_auc_lr/stl: macro AUC minus the LR/STL macro AUC; delta_m: mean over main tasks of (AUC_mtl - AUC_stl) / AUC_stl (Maninis et al. 2019), a fraction (mtl and mtl_no_aux rows).'`,
];

const views = [
  `CREATE VIEW mhmtl.latest_task_reports AS
  SELECT r.pipeline, tr.run_id, r.finished_at, tr.model, tr.task, tr.auxiliary, tr.n, tr.positives,
         tr.auc, tr.auc_ci_low, tr.auc_ci_high, (tr.tpr_at_fpr ->> '0.1')::float8 AS tpr_at_fpr_10,
         tr.tpr_at_fpr, tr.average_precision, tr.threshold, tr.precision, tr.recall, tr.f1, tr.brier,
         tr.null_reason, tr.delta_auc_lr, tr.delta_auc_stl
  FROM mhmtl.task_reports tr
  JOIN (SELECT DISTINCT ON (pipeline) run_id, pipeline, finished_at FROM mhmtl.runs
        WHERE status = 'succeeded' AND run_id IN (SELECT run_id FROM mhmtl.task_reports)
        ORDER BY pipeline, run_id DESC) r ON r.run_id = tr.run_id
  WHERE tr.split = 'test' AND tr.fold = 0`,
  `COMMENT ON VIEW mhmtl.latest_task_reports IS 'For each pipeline, the test reports (holdout, or pooled over folds) of its latest succeeded run that has reports: one row per model and task. tpr_at_fpr_10 is the TPR at 10% FPR.'`,
  `CREATE VIEW mhmtl.task_report_history AS
  SELECT r.pipeline, tr.run_id, r.started_at, r.finished_at, r.code_version, r.data_fingerprint, r.seed,
         tr.model, tr.task, tr.auxiliary, tr.n, tr.positives, tr.auc, tr.auc_ci_low, tr.auc_ci_high,
         (tr.tpr_at_fpr ->> '0.1')::float8 AS tpr_at_fpr_10, tr.average_precision, tr.f1, tr.brier,
         tr.null_reason, tr.delta_auc_lr, tr.delta_auc_stl
  FROM mhmtl.task_reports tr JOIN mhmtl.runs r ON r.run_id = tr.run_id
  WHERE r.status = 'succeeded' AND tr.split = 'test' AND tr.fold = 0`,
  `COMMENT ON VIEW mhmtl.task_report_history IS 'Test reports (holdout, or pooled over folds) of every succeeded run, with the run''s pipeline, times, code version, data fingerprint and seed: how each model and task moved across runs.'`,
  `CREATE VIEW mhmtl.mtl_vs_baselines AS
  SELECT r.pipeline, r.status, tr.run_id, tr.task, tr.split, tr.fold, bool_or(tr.auxiliary) AS auxiliary,
         max(tr.n) AS n, max(tr.positives) AS positives,
         max(tr.auc) FILTER (WHERE tr.model = 'mtl') AS auc_mtl,
         max(tr.auc) FILTER (WHERE tr.model = 'mtl_no_aux') AS auc_mtl_no_aux,
         max(tr.auc) FILTER (WHERE tr.model = 'stl') AS auc_stl,
         max(tr.auc) FILTER (WHERE tr.model = 'lr') AS auc_lr,
         max(tr.delta_auc_lr) FILTER (WHERE tr.model = 'mtl') AS mtl_minus_lr,
         max(tr.delta_auc_stl) FILTER (WHERE tr.model = 'mtl') AS mtl_minus_stl,
         max(tr.auc) FILTER (WHERE tr.model = 'mtl') - max(tr.auc) FILTER (WHERE tr.model = 'mtl_no_aux')
           AS mtl_minus_mtl_no_aux,
         max(tr.null_reason) AS null_reason
  FROM mhmtl.task_reports tr JOIN mhmtl.runs r ON r.run_id = tr.run_id
  GROUP BY r.pipeline, r.status, tr.run_id, tr.task, tr.split, tr.fold`,
  `COMMENT ON VIEW mhmtl.mtl_vs_baselines IS 'One row per run, task, split and fold: the AUC of mtl, mtl_no_aux, stl and lr side by side, MTL minus LR, MTL minus STL, and MTL minus MTL without the auxiliary task.'`,
];

/** Tables and views the reader may SELECT in full. */
const READABLE = [
  'runs',
  'task_reports',
  'roc_points',
  'training_history',
  'model_summaries',
  'latest_task_reports',
  'task_report_history',
  'mtl_vs_baselines',
];
/** Metadata columns of mhmtl.models: not weights, not topology. */
const MODEL_COLUMNS = [
  'run_id',
  'model',
  'family',
  'architecture',
  'tasks',
  'aux_tasks',
  'config',
  'backend',
  'history',
  'best_epoch',
  'train_seconds',
  'created_at',
];
/** Ingest metadata columns of mhmtl.sources: counts and kinds, not file names or details. */
const SOURCE_COLUMNS = [
  'source_id',
  'name',
  'format',
  'kind',
  'inserted',
  'duplicates',
  'rejected',
  'started_at',
  'finished_at',
];
/** Per-person or text-bearing tables: explicitly revoked (those that exist when this runs). */
const DENIED = [
  'posts',
  'post_tokens',
  'labels',
  'users',
  'quarantine',
  'pseudonym_key',
  'feature_spaces',
  'predictions',
  'splits',
];

/**
 * The role and its grants, in one DO block (one statement for PGlite). Roles are cluster-wide:
 * creating it tolerates an existing role (also one created concurrently by a migration of another
 * database). Without the privilege to create roles the grants are skipped with a WARNING, so the
 * schema still migrates. Grants name each object: nothing is granted on tables created later.
 */
const access = `DO $$
DECLARE
  t text;
BEGIN
  BEGIN
    CREATE ROLE mhmtl_reader NOLOGIN;
  EXCEPTION WHEN duplicate_object OR unique_violation OR insufficient_privilege THEN NULL;
  END;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mhmtl_reader') THEN
    RAISE WARNING 'mhmtl: role mhmtl_reader does not exist and this user cannot create it (no CREATEROLE): its grants are skipped';
    RETURN;
  END IF;
  GRANT USAGE ON SCHEMA mhmtl TO mhmtl_reader;
  FOREACH t IN ARRAY ARRAY[${DENIED.map((x) => `'${x}'`).join(', ')}] LOOP
    IF to_regclass('mhmtl.' || t) IS NOT NULL THEN
      EXECUTE format('REVOKE ALL ON mhmtl.%I FROM mhmtl_reader', t);
    END IF;
  END LOOP;
  FOREACH t IN ARRAY ARRAY[${READABLE.map((x) => `'${x}'`).join(', ')}] LOOP
    EXECUTE format('GRANT SELECT ON mhmtl.%I TO mhmtl_reader', t);
  END LOOP;
  REVOKE ALL ON mhmtl.models FROM mhmtl_reader;
  GRANT SELECT (${MODEL_COLUMNS.join(', ')}) ON mhmtl.models TO mhmtl_reader;
  REVOKE ALL ON mhmtl.sources FROM mhmtl_reader;
  GRANT SELECT (${SOURCE_COLUMNS.join(', ')}) ON mhmtl.sources TO mhmtl_reader;
END
$$`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [...tables, ...views, access]);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'DROP VIEW mhmtl.mtl_vs_baselines, mhmtl.task_report_history, mhmtl.latest_task_reports',
    'DROP TABLE mhmtl.model_summaries, mhmtl.training_history, mhmtl.splits, mhmtl.predictions, mhmtl.roc_points, mhmtl.task_reports',
    `DO $$ BEGIN
      IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'mhmtl_reader') THEN
        REVOKE ALL ON mhmtl.runs, mhmtl.models, mhmtl.sources FROM mhmtl_reader;
        REVOKE USAGE ON SCHEMA mhmtl FROM mhmtl_reader;
      END IF;
    END $$`,
  ]);
}
