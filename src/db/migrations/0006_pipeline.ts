import type { Kysely } from 'kysely';
import { runStatements } from './run-statements.js';

/** Pipeline runs: a note column for why a run was skipped, and an index for "latest run of a pipeline". */
const statements = [
  `ALTER TABLE mhmtl.runs ADD COLUMN note text`,
  `COMMENT ON COLUMN mhmtl.runs.note IS 'Why a run was skipped (--if-changed), or other remarks; error holds why a run failed.'`,
  `COMMENT ON COLUMN mhmtl.runs.stage_durations IS 'Wall time of each stage in seconds, in the order the stages ran.'`,
  `CREATE INDEX runs_pipeline_status ON mhmtl.runs (pipeline, status, run_id DESC)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, statements);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await runStatements(db, [
    'DROP INDEX mhmtl.runs_pipeline_status',
    'ALTER TABLE mhmtl.runs DROP COLUMN note',
  ]);
}
