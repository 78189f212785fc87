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
