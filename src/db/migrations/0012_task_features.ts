import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * What each head relies on (issue 18): per run, repeat, model and task, the n-grams that push its
 * logit most toward and away from the condition (src/model/attribution.ts). The terms are
 * vocabulary, i.e. words from posts: the table is NOT granted to the reader
 * (src/db/reader-access.ts lists what the reader may read; this table is deliberately absent).
 */
const statements = [
  `CREATE TABLE mhmtl.task_features (
    run_id    bigint NOT NULL REFERENCES mhmtl.runs ON DELETE CASCADE,
    repeat    integer NOT NULL DEFAULT 0 CHECK (repeat >= 0),
    model     text NOT NULL,
    task      text NOT NULL,
    direction text NOT NULL CHECK (direction IN ('toward', 'away')),
    rank      integer NOT NULL CHECK (rank >= 1),
    term      text NOT NULL,
    weight    double precision NOT NULL,
    method    text NOT NULL CHECK (method IN ('coefficient', 'gradient_x_input')),
    units     integer CHECK (units >= 1),
    PRIMARY KEY (run_id, repeat, model, task, direction, rank),
    UNIQUE (run_id, repeat, model, task, term),
    CHECK ((direction = 'toward') = (weight > 0) AND weight <> 0),
    CHECK ((method = 'gradient_x_input') = (units IS NOT NULL))
  )`,
  `COMMENT ON TABLE mhmtl.task_features IS 'What each head relies on: per run, repeat (holdout runs; cross-validation runs store none), model (as in task_reports) and task, the evaluation.top_terms n-grams of the feature space with the largest weight toward (weight > 0) and away from (weight < 0) the condition, ranked from 1 within a direction. method coefficient: the logistic regression''s coefficient; gradient_x_input: the network''s gradient of the task''s logit w.r.t. the TF-IDF input times the input, averaged over the task''s test positives (units of them; Simonyan et al. 2014, Shrikumar et al. 2017), computed exactly (src/model/attribution.ts). Terms are vocabulary fitted on the training units (min_df applies): not readable by the reader role.'`,
  `COMMENT ON COLUMN mhmtl.task_features.weight IS 'Signed: > 0 pushes the task''s logit toward the condition, < 0 away. Coefficient: logit change per unit of TF-IDF value. Gradient x input: mean logit contribution per test positive (0 for positives without the term).'`,
  `COMMENT ON COLUMN mhmtl.task_features.units IS 'Test positives of the task averaged over (gradient_x_input); NULL for coefficients.'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, statements);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, ['DROP TABLE mhmtl.task_features']);
}
