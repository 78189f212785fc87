import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * Trained models and the feature spaces they read. A model is named within its run: `mtl`,
 * `mtl_no_aux`, `stl:<task>`, `lr:<task>`. Weights and vocabulary never reach mhmtl_reader (the
 * vocabulary holds words from posts); the evaluation migration grants it the metadata columns.
 */
const statements = [
  `CREATE TABLE mhmtl.feature_spaces (
    run_id      bigint PRIMARY KEY REFERENCES mhmtl.runs ON DELETE CASCADE,
    config      jsonb NOT NULL,
    state       jsonb NOT NULL,
    n_features  integer NOT NULL,
    n_units     integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
  )`,
  `COMMENT ON TABLE mhmtl.feature_spaces IS 'Per run: the fitted feature extractor (configuration, vocabulary, IDF), fitted on training units only, so that predict rebuilds identical features. Not readable by mhmtl_reader.'`,
  `CREATE TABLE mhmtl.models (
    run_id        bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    model         text NOT NULL,
    family        text NOT NULL,
    architecture  text NOT NULL,
    tasks         text[] NOT NULL,
    aux_tasks     text[] NOT NULL DEFAULT '{}',
    config        jsonb NOT NULL,
    topology      jsonb,
    weights       bytea,
    backend       text NOT NULL,
    history       jsonb NOT NULL DEFAULT '[]',
    best_epoch    integer,
    train_seconds double precision,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, model)
  )`,
  `COMMENT ON TABLE mhmtl.models IS 'Per run, each trained model: mtl (hard parameter sharing, all tasks), mtl_no_aux, stl:<task> (single-task network), lr:<task> (logistic regression). family is mtl, mtl_no_aux, stl or lr. weights is the tfjs weight buffer; topology the tfjs model JSON.'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, statements);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, ['DROP TABLE mhmtl.models', 'DROP TABLE mhmtl.feature_spaces']);
}
