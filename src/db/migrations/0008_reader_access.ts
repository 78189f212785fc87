import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * The reader's side of the schema. `reader_role` records this database's reader role (default
 * `mhmtl_reader`; `mhmtl db reader-role NAME` names a per-database one). `run_metadata` gives the
 * reader the runs without what may identify people or hold free text: no input paths, no masked
 * terms, no description, no error message (only whether it failed by interruption or by error).
 * The grants themselves are declared in src/db/reader-access.ts and applied after migrations.
 */
const statements = [
  `CREATE TABLE mhmtl.reader_role (
    id         boolean PRIMARY KEY DEFAULT true CHECK (id),
    name       text NOT NULL CHECK (name ~ '^[a-z_][a-z0-9_]{0,62}$'),
    updated_at timestamptz NOT NULL DEFAULT now()
  )`,
  `INSERT INTO mhmtl.reader_role (name) VALUES ('mhmtl_reader')`,
  `COMMENT ON TABLE mhmtl.reader_role IS 'The role (one row) that src/db/reader-access.ts grants read access to in this database; mhmtl db reader-role NAME changes it.'`,
  `CREATE VIEW mhmtl.run_metadata AS
  SELECT run_id, pipeline, status, seed, code_version, backend, data_fingerprint, stage_durations,
         started_at, finished_at,
         CASE WHEN error IS NULL THEN NULL WHEN error LIKE 'interrupted%' THEN 'interrupted' ELSE 'error' END
           AS failure,
         jsonb_strip_nulls(jsonb_build_object(
           'unit', config -> 'unit', 'tasks', config -> 'tasks', 'features', config -> 'features',
           'model', config -> 'model', 'training', config -> 'training',
           'evaluation', config -> 'evaluation', 'baselines', config -> 'baselines',
           'models', config -> 'models',
           'masked_terms', CASE WHEN jsonb_typeof(config -> 'masked_terms') = 'array'
                                THEN jsonb_array_length(config -> 'masked_terms') END
         )) AS settings
  FROM mhmtl.runs`,
  `COMMENT ON VIEW mhmtl.run_metadata IS 'One row per run, for the reader role: status, seed, versions, data fingerprint, stage durations (seconds), failure (interrupted or error; the message is not shown) and settings (the pipeline''s unit, tasks, features, model, training, evaluation and baselines sections; masked_terms is their number). No input paths, masked terms, description or error text.'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, statements);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, ['DROP VIEW mhmtl.run_metadata', 'DROP TABLE mhmtl.reader_role']);
}
