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

/** Per run, each trained model (named mtl, mtl_no_aux, stl:<task>, lr:<task>). */
export interface ModelsTable {
  run_id: number;
  model: string;
  family: 'mtl' | 'mtl_no_aux' | 'stl' | 'lr';
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

/** Per run x model (family) x task x split x fold: the evaluation metrics (see 0005_evaluation). */
export interface TaskReportsTable {
  run_id: number;
  model: string;
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
}

/** ROC curve points of a task report (at most 200 per curve). */
export interface RocPointsTable {
  run_id: number;
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
  model: string;
  task: string;
  fold: number;
  split: 'train' | 'dev' | 'test';
  score: number;
}

/** Which unit went to which split (fold 0) or, in a K-fold run, its role per fold 1..K. */
export interface SplitsTable {
  unit_id: string;
  run_id: number;
  fold: number;
  split: 'train' | 'dev' | 'test';
}

/** Per run, model and epoch: losses and dev AUC, per task or overall (task NULL). */
export interface TrainingHistoryTable {
  run_id: number;
  model: string;
  epoch: number;
  task: string | null;
  loss: number | null;
  dev_loss: number | null;
  dev_auc: number | null;
}

/** Per run, model, split and fold: macro averages over main tasks, deltas and Δm. */
export interface ModelSummariesTable {
  run_id: number;
  model: string;
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
}

/** View: per run, task, split and fold, the AUC of every model side by side. */
export interface MtlVsBaselinesView {
  pipeline: string;
  status: string;
  run_id: number;
  task: string;
  split: string;
  fold: number;
  auxiliary: boolean;
  n: number;
  positives: number;
  auc_mtl: number | null;
  auc_mtl_no_aux: number | null;
  auc_stl: number | null;
  auc_lr: number | null;
  mtl_minus_lr: number | null;
  mtl_minus_stl: number | null;
  mtl_minus_mtl_no_aux: number | null;
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
