import type { ColumnType, Generated } from 'kysely';

/**
 * Table types of the `mhmtl` schema, for Kysely. Each stage's migration adds its tables here.
 * Times are `timestamptz` (read back as `Date`); people are pseudonyms (`text`), never raw ids.
 */
export interface Database {
  'mhmtl.sources': SourcesTable;
  'mhmtl.users': UsersTable;
  'mhmtl.posts': PostsTable;
  'mhmtl.labels': LabelsTable;
  'mhmtl.quarantine': QuarantineTable;
  'mhmtl.pseudonym_key': PseudonymKeyTable;
  'mhmtl.post_tokens': PostTokensTable;
  'mhmtl.runs': RunsTable;
  'mhmtl.feature_spaces': FeatureSpacesTable;
  'mhmtl.models': ModelsTable;
  'mhmtl.task_reports': TaskReportsTable;
  'mhmtl.roc_points': RocPointsTable;
  'mhmtl.predictions': PredictionsTable;
  'mhmtl.splits': SplitsTable;
  'mhmtl.training_history': TrainingHistoryTable;
  'mhmtl.model_summaries': ModelSummariesTable;
  'mhmtl.model_comparisons': ModelComparisonsTable;
  'mhmtl.task_relations': TaskRelationsTable;
  'mhmtl.task_features': TaskFeaturesTable;
  'mhmtl.calibration_bins': CalibrationBinsTable;
  'mhmtl.calibration_errors': CalibrationErrorsView;
  'mhmtl.subgroup_auc_gaps': SubgroupAucGapsView;
  'mhmtl.latest_task_reports': LatestTaskReportsView;
  'mhmtl.task_report_history': TaskReportHistoryView;
  'mhmtl.mtl_vs_baselines': MtlVsBaselinesView;
  'mhmtl.reader_role': ReaderRoleTable;
  'mhmtl.run_metadata': RunMetadataView;
}

type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json = ColumnType<unknown, string, string>;

/** One row per ingest of one file. */
export interface SourcesTable {
  source_id: Generated<number>;
  name: string;
  file_name: string;
  sha256: string;
  format: string;
  kind: string;
  inserted: Generated<number>;
  duplicates: Generated<number>;
  rejected: Generated<number>;
  details: ColumnType<unknown, string | undefined, string>;
  started_at: Timestamp;
  finished_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** One row per pseudonymous user (the unit of analysis by default). */
export interface UsersTable {
  user_id: string;
  first_source_id: number | null;
  created_at: Generated<Date>;
}

/** Scrubbed posts, keyed by (user pseudonym, post pseudonym). */
export interface PostsTable {
  user_id: string;
  post_id: string;
  created_at: Timestamp;
  text: string;
  lang: string | null;
  text_hash: string;
  community: string | null;
  flags: ColumnType<string[], string[] | undefined, string[]>;
  source_id: number | null;
  ingested_at: Generated<Date>;
}

/** User-level labels in long form; `label` NULL means unknown. */
export interface LabelsTable {
  user_id: string;
  task: string;
  label: number | null;
  source_id: number | null;
  updated_at: Generated<Date>;
}

/** Rows that could not be loaded, with where they came from and why. */
export interface QuarantineTable {
  quarantine_id: Generated<number>;
  source_id: number | null;
  line_number: number;
  reason: string;
  raw: string;
  created_at: Generated<Date>;
}

/** The HMAC key of the pseudonyms (one row). Never readable by mhmtl_reader. */
export interface PseudonymKeyTable {
  id: Generated<boolean>;
  key: string;
  created_at: Generated<Date>;
}

/** Tokens of each post and the tokenizer signature that made them (written by `mhmtl tokenize`). */
export interface PostTokensTable {
  user_id: string;
  post_id: string;
  tokenizer: string;
  tokenizer_version: string;
  config_hash: string;
  tokens: string[];
  n_tokens: number;
  tokenized_at: Generated<Date>;
}

/** One row per pipeline run. */
export interface RunsTable {
  run_id: Generated<number>;
  pipeline: string;
  config: Json;
  status: 'running' | 'succeeded' | 'failed' | 'skipped';
  seed: number;
  code_version: string;
  backend: string;
  data_fingerprint: string | null;
  stage_durations: ColumnType<Record<string, number>, string | undefined, string>;
  error: string | null;
  note: string | null;
  /** How the units were split (kind, folds, repeats and seeds, transfer); NULL before migration 0009. */
  split_design: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  /** What the post filters dropped (migration 0013). */
  post_filters: ColumnType<Record<string, unknown> | null, string | null | undefined, string | null>;
  pid: number | null;
  started_at: Generated<Date>;
  finished_at: Date | null;
}

/** Per run: the fitted feature extractor (config, vocabulary, IDF). */
export interface FeatureSpacesTable {
  run_id: number;
  config: Json;
  state: Json;
  n_features: number;
  n_units: number;
  created_at: Generated<Date>;
}

/** A model's kind: multi-task network, single-task networks, logistic regressions (migration 0009). */
export type ModelKindColumn = 'mtl' | 'stl' | 'lr';

/** Per run, each trained model of the first repeat (mtl-kind: its name; stl and lr kinds: <name>:<task>). */
export interface ModelsTable {
  run_id: number;
  model: string;
  /** The name the model is reported under in task_reports (mtl, mtl_no_aux, stl, lr, ...). */
  family: string;
  kind: ModelKindColumn;
  architecture: string;
  tasks: string[];
  aux_tasks: ColumnType<string[], string[] | undefined, string[]>;
  config: Json;
  topology: Json | null;
  weights: Uint8Array | null;
  backend: string;
  history: ColumnType<unknown, string | undefined, string>;
  best_epoch: number | null;
  train_seconds: number | null;
  created_at: Generated<Date>;
}

/** Per run x repeat x model x task x split x fold: the evaluation metrics (see 0005, 0009). */
export interface TaskReportsTable {
  run_id: number;
  repeat: ColumnType<number, number | undefined, number>;
  model: string;
  kind: ModelKindColumn;
  task: string;
  split: 'dev' | 'test';
  fold: number;
  auxiliary: boolean;
  n: number;
  positives: number;
  negatives: number;
  auc: number | null;
  auc_ci_low: number | null;
  auc_ci_high: number | null;
  bootstrap_used: number;
  bootstrap_skipped: number;
  tpr_at_fpr: ColumnType<Record<string, number> | null, string | null, string | null>;
  average_precision: number | null;
  threshold: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  brier: number | null;
  null_reason: 'single_class' | 'no_labels' | null;
  delta_auc_lr: number | null;
  delta_auc_stl: number | null;
  low_support: ColumnType<boolean, boolean | undefined, boolean>;
  ci_null_reason: 'low_support' | 'zero_width' | 'no_bootstrap' | null;
  /** Expected calibration error of the raw scores (equal-mass bins); NULL before migration 0011. */
  ece: ColumnType<number | null, number | null | undefined, number | null>;
  /** Subgroup attribute ('' = the whole population) and its value ('' / '1' / '0' / 'unknown'). */
  subgroup: ColumnType<string, string | undefined, string>;
  subgroup_value: ColumnType<string, string | undefined, string>;
}

/** Reliability curves (migration 0011): equal-mass bins of the test scores, raw or recalibrated. */
export interface CalibrationBinsTable {
  run_id: number;
  repeat: ColumnType<number, number | undefined, number>;
  model: string;
  task: string;
  split: 'dev' | 'test';
  fold: ColumnType<number, number | undefined, number>;
  method: 'raw' | 'platt' | 'isotonic';
  bin: number;
  mean_score: number;
  positive_rate: number;
  count: number;
}

/** Per reliability curve: bins, units and expected calibration error. */
export interface CalibrationErrorsView {
  run_id: number;
  repeat: number;
  model: string;
  task: string;
  split: 'dev' | 'test';
  fold: number;
  method: 'raw' | 'platt' | 'isotonic';
  bins: number;
  n: number;
  ece: number;
}

/** Per run, repeat, model, task and subgroup attribute: the largest AUC gap between its values. */
export interface SubgroupAucGapsView {
  run_id: number;
  repeat: number;
  model: string;
  kind: string;
  task: string;
  auxiliary: boolean;
  split: 'dev' | 'test';
  fold: number;
  subgroup: string;
  values_compared: number;
  auc_gap: number;
  value_highest: string;
  auc_highest: number;
  value_lowest: string;
  auc_lowest: number;
  any_low_support: boolean;
}

/** ROC curve points of a task report (at most 200 per curve). */
export interface RocPointsTable {
  run_id: number;
  repeat: ColumnType<number, number | undefined, number>;
  model: string;
  task: string;
  split: 'dev' | 'test';
  fold: number;
  point: number;
  fpr: number;
  tpr: number;
  threshold: number;
}

/** Per unit, run, model and task: the predicted probability. */
export interface PredictionsTable {
  unit_id: string;
  run_id: number;
  repeat: ColumnType<number, number | undefined, number>;
  model: string;
  task: string;
  fold: number;
  split: 'train' | 'dev' | 'test';
  score: number;
}

/** Which unit went to which split (fold 0) or, in a K-fold run, its role per fold 1..K; per repeat. */
export interface SplitsTable {
  unit_id: string;
  run_id: number;
  repeat: ColumnType<number, number | undefined, number>;
  fold: number;
  split: 'train' | 'dev' | 'test';
}

/** Per run, model and epoch: losses and dev AUC, per task or overall (task NULL). */
export interface TrainingHistoryTable {
  run_id: number;
  repeat: ColumnType<number, number | undefined, number>;
  model: string;
  epoch: number;
  task: string | null;
  loss: number | null;
  dev_loss: number | null;
  dev_auc: number | null;
  weight: ColumnType<number | null, number | null | undefined, number | null>;
}

/** Per run, repeat, model, split and fold: macro averages over main tasks, deltas and Δm. */
export interface ModelSummariesTable {
  run_id: number;
  repeat: ColumnType<number, number | undefined, number>;
  model: string;
  kind: ModelKindColumn;
  /** Main tasks left out of the averages for low support; NULL before migration 0009. */
  tasks_low_support: number | null;
  split: 'dev' | 'test';
  fold: number;
  tasks_averaged: number;
  macro_auc: number | null;
  macro_tpr_at_fpr: ColumnType<Record<string, number | null>, string | undefined, string>;
  macro_average_precision: number | null;
  macro_f1: number | null;
  macro_brier: number | null;
  delta_auc_lr: number | null;
  delta_auc_stl: number | null;
  delta_m: number | null;
}

/** Paired comparisons of a model with a reference (migration 0009). */
export interface ModelComparisonsTable {
  run_id: number;
  /** NULL: over all repeats (method corrected_resampled_t). */
  repeat: number | null;
  fold: number;
  split: 'dev' | 'test';
  model: string;
  reference: string;
  /** NULL: the macro row. */
  task: string | null;
  delta_auc: number | null;
  ci_low: number | null;
  ci_high: number | null;
  p_value: number | null;
  p_holm: number | null;
  method: 'delong' | 'paired_bootstrap' | 'corrected_resampled_t' | 'difference';
  null_reason: string | null;
  tasks_averaged: number | null;
  tasks_left_out: number | null;
  resamples: number | null;
}

/** View: test reports of the latest succeeded run of each pipeline. */
export interface LatestTaskReportsView {
  pipeline: string;
  run_id: number;
  finished_at: Date | null;
  model: string;
  task: string;
  auxiliary: boolean;
  n: number;
  positives: number;
  auc: number | null;
  auc_ci_low: number | null;
  auc_ci_high: number | null;
  tpr_at_fpr_10: number | null;
  tpr_at_fpr: Record<string, number> | null;
  average_precision: number | null;
  threshold: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  brier: number | null;
  null_reason: string | null;
  delta_auc_lr: number | null;
  delta_auc_stl: number | null;
  kind: ModelKindColumn;
  repeat: number;
  low_support: boolean;
  ci_null_reason: string | null;
  ece: number | null;
}

/** View: test reports of every succeeded run. */
export interface TaskReportHistoryView {
  pipeline: string;
  run_id: number;
  started_at: Date;
  finished_at: Date | null;
  code_version: string;
  data_fingerprint: string | null;
  seed: number;
  model: string;
  task: string;
  auxiliary: boolean;
  n: number;
  positives: number;
  auc: number | null;
  auc_ci_low: number | null;
  auc_ci_high: number | null;
  tpr_at_fpr_10: number | null;
  average_precision: number | null;
  f1: number | null;
  brier: number | null;
  null_reason: string | null;
  delta_auc_lr: number | null;
  delta_auc_stl: number | null;
  kind: ModelKindColumn;
  repeat: number;
  low_support: boolean;
  ece: number | null;
}

/** View: per run, repeat, task, split, fold and comparison, the AUCs of model and reference side by side. */
export interface MtlVsBaselinesView {
  pipeline: string;
  status: string;
  run_id: number;
  repeat: number;
  task: string;
  split: string;
  fold: number;
  model: string;
  model_kind: ModelKindColumn | null;
  reference: string;
  reference_kind: ModelKindColumn | null;
  n: number | null;
  positives: number | null;
  low_support: boolean | null;
  auc_model: number | null;
  auc_reference: number | null;
  delta_auc: number | null;
  ci_low: number | null;
  ci_high: number | null;
  p_value: number | null;
  p_holm: number | null;
  method: string;
  null_reason: string | null;
}

/** This database's reader role (one row; migration 0008, src/db/reader-access.ts). */
export interface ReaderRoleTable {
  id: Generated<boolean>;
  name: string;
  updated_at: Generated<Date>;
}

/** The runs as the reader sees them: no paths, masked terms or error text (migration 0008). */
export interface RunMetadataView {
  run_id: number;
  pipeline: string;
  status: 'running' | 'succeeded' | 'failed' | 'skipped';
  seed: number;
  code_version: string;
  backend: string;
  data_fingerprint: string | null;
  stage_durations: Record<string, number>;
  started_at: Date;
  finished_at: Date | null;
  failure: 'interrupted' | 'error' | null;
  settings: unknown;
}

/** The n-grams each head relies on most, toward and away from its condition (migration 0012; private: vocabulary). */
export interface TaskFeaturesTable {
  run_id: number;
  repeat: ColumnType<number, number | undefined, number>;
  model: string;
  task: string;
  direction: 'toward' | 'away';
  rank: number;
  term: string;
  weight: number;
  method: 'coefficient' | 'gradient_x_input';
  units: number | null;
}

/** What a model learned about how its tasks relate (migration 0010). */
export interface TaskRelationsTable {
  run_id: number;
  model: string;
  kind: string;
  layer: number | null;
  task_a: string;
  task_b: string | null;
  value: number;
}
