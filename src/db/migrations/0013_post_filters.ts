import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/**
 * Leakage controls and fixed splits (issue 18): runs.post_filters counts the posts the pipeline's
 * exclude_communities and exclude_patterns dropped; runs.split_design gains the temporal and
 * given split kinds (documented in its comment).
 */
const statements = [
  `ALTER TABLE mhmtl.runs ADD COLUMN post_filters jsonb`,
  `COMMENT ON COLUMN mhmtl.runs.post_filters IS 'What the post filters dropped before documents were built: {"exclude_communities": number of communities, "exclude_patterns": number of patterns, "posts": posts in the time window, "community": posts in an excluded community, "pattern": posts matching an excluded pattern, "dropped": posts dropped by either}. NULL when the pipeline has no post filter (or the run is older than migration 0013).'`,
  `COMMENT ON COLUMN mhmtl.runs.split_design IS 'How the units were split: {"kind": "holdout"|"cv"|"temporal"|"given", "folds", "ratios", "repeats", "seeds" (one per repeat; the first is the run seed), "min_positives", "models_stored_for_repeat": 0, "transfer": {"from_run", "units_kept_out_of_test", "source_units"} when a run started from another run''s weights}; temporal: "order_by" (last_post|first_post) and "dev_from", "test_from" (the first time of the dev and test units); given: "file_sha256", "column", "rows", "unknown_users" (named in the file, not among the labelled units), "units_not_named" (labelled units the file does not name: left out), "parts" (units per part). NULL for runs before migration 0009.'`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, statements);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, ['ALTER TABLE mhmtl.runs DROP COLUMN post_filters']);
}
