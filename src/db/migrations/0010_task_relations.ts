import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * What the multi-task models learned about how their tasks relate (src/model/architectures/*.ts
 * `relations()`), and each epoch's task weights (the task weighting method's, src/model/weighting/).
 * Both are aggregates over units: the reader may read them (src/db/reader-access.ts).
 */
const statements = [
  `CREATE TABLE mhmtl.task_relations (
    run_id  bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    model   text NOT NULL,
    kind    text NOT NULL,
    layer   integer,
    task_a  text NOT NULL,
    task_b  text,
    value   double precision NOT NULL,
    UNIQUE NULLS NOT DISTINCT (run_id, model, kind, layer, task_a, task_b),
    FOREIGN KEY (run_id, model) REFERENCES mhmtl.models (run_id, model) ON DELETE CASCADE
  )`,
  `COMMENT ON TABLE mhmtl.task_relations IS 'Per run and stored model (first repeat): what the architecture learned about how its tasks relate, one row per relation: kind (e.g. cross_stitch_alpha, sluice_alpha, sluice_beta, tower_distance, gate_mean, gate_similarity, task_covariance, task_correlation, task_layer, branching), the layer it belongs to (NULL when not per layer; for gate_mean the expert), task_a, task_b (NULL for a per-task value) and value. The architecture''s file (src/model/architectures/<architecture>.ts) documents each kind.'`,
  `ALTER TABLE mhmtl.training_history ADD COLUMN weight double precision`,
  `COMMENT ON COLUMN mhmtl.training_history.weight IS 'The task''s weight in the loss, mean over the epoch''s batches (the task weighting method''s: fixed, uncertainty, dwa, gradnorm, pcgrad, rlw); NULL for the overall row, logistic regression and runs before it was recorded.'`,
  `COMMENT ON COLUMN mhmtl.training_history.dev_loss IS 'Masked, positive-weighted binary cross-entropy on the dev units (overall row: mean over the main tasks, the default selection criterion).'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, statements);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'DROP TABLE mhmtl.task_relations',
    'ALTER TABLE mhmtl.training_history DROP COLUMN weight',
  ]);
}
