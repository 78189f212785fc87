import { type Kysely, sql } from 'kysely';
import { UsageError } from '../errors.js';

/**
 * What the read-only reader role may read, declared in ONE place and applied whole.
 *
 * The reader (default role `mhmtl_reader`; per database, see {@link setReaderRole}) sees
 * aggregates: reports, curves, summaries, run and model metadata. Never post text, tokens,
 * labels, pseudonyms, predictions or splits per person, the vocabulary, weights, quarantined raw
 * rows, file paths, masked terms, `--source` names or error text.
 *
 * Deny by default: {@link applyReaderAccess} revokes every privilege the role has in schema
 * `mhmtl`, then grants SELECT on exactly what is listed below. It runs after every batch of
 * migrations (`migrateToLatest`) and on `mhmtl db migrate`, so the grants always equal this list.
 *
 * HOW TO ADD A READABLE TABLE OR VIEW: add one line to {@link READER_ACCESS}, in the commit of the
 * migration that creates it: `my_table: 'all',` (every column), or
 * `my_table: ['run_id', 'model', ...],` (only those columns; a view is the alternative when a
 * column must be transformed). A table that is not listed is private: nothing to do.
 * Deliberately private, never to be listed: tables of words from posts, e.g. task_features
 * (migration 0012, the top terms of each head: vocabulary).
 * tests/db/reader-access.test.ts checks that the role's privileges equal this list;
 * tests/evaluate/reader-role.test.ts logs in as a reader on a server and tries each path.
 */
export const READER_ACCESS: Readonly<Record<string, 'all' | readonly string[]>> = {
  // Reports and their curves, summaries and training curves (migration 0005): aggregates.
  task_reports: 'all',
  roc_points: 'all',
  model_summaries: 'all',
  training_history: 'all',
  // Paired comparisons of models (0009) and what the models learned about task relations (0010).
  model_comparisons: 'all',
  task_relations: 'all',
  // Reliability curves and subgroup AUC gaps (0011): aggregates over units.
  calibration_bins: 'all',
  calibration_errors: 'all',
  subgroup_auc_gaps: 'all',
  // Researcher views (0005) and the runs without paths, masked terms or error text (0008).
  latest_task_reports: 'all',
  task_report_history: 'all',
  mtl_vs_baselines: 'all',
  run_metadata: 'all',
  // Runs: not config (input paths, masked terms), error (free text), note, pid.
  runs: [
    'run_id',
    'pipeline',
    'status',
    'seed',
    'code_version',
    'backend',
    'data_fingerprint',
    'stage_durations',
    'started_at',
    'finished_at',
  ],
  // Models: metadata, not weights or topology.
  models: [
    'run_id',
    'model',
    'family',
    'kind',
    'architecture',
    'tasks',
    'aux_tasks',
    'config',
    'backend',
    'history',
    'best_epoch',
    'train_seconds',
    'created_at',
  ],
  // Ingests: counts and kinds, not the --source name, file name, hash or details.
  sources: ['source_id', 'format', 'kind', 'inserted', 'duplicates', 'rejected', 'started_at', 'finished_at'],
};

/** The reader role a database has until an administrator names another. */
export const DEFAULT_READER_ROLE = 'mhmtl_reader';

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** `names` joined with commas, each checked to be a plain lower-case identifier (no quoting needed). */
function identifiers(names: readonly string[]): string {
  for (const n of names) if (!IDENTIFIER.test(n)) throw new Error(`reader access: bad identifier '${n}'`);
  return names.join(', ');
}

/**
 * The DO block that makes role `role`'s privileges in schema mhmtl equal `access`: create the
 * role (NOLOGIN) when missing and allowed, revoke everything in the schema, grant USAGE and the
 * listed SELECTs. One statement (PGlite takes one per query). Without the privilege to create
 * the role, it is skipped with a WARNING so that the schema still migrates.
 */
function accessStatement(role: string, access: Readonly<Record<string, 'all' | readonly string[]>>): string {
  const whole = Object.entries(access)
    .filter(([, c]) => c === 'all')
    .map(([t]) => `mhmtl.${identifiers([t])}`);
  const grants = [
    ...(whole.length ? [`GRANT SELECT ON ${whole.join(', ')} TO %I`] : []),
    ...Object.entries(access)
      .filter((e): e is [string, readonly string[]] => e[1] !== 'all')
      .map(([t, columns]) => `GRANT SELECT (${identifiers(columns)}) ON mhmtl.${identifiers([t])} TO %I`),
  ];
  return `DO $$
DECLARE
  r text := '${role}';
BEGIN
  BEGIN
    EXECUTE format('CREATE ROLE %I NOLOGIN', r);
  EXCEPTION WHEN duplicate_object OR unique_violation OR insufficient_privilege THEN NULL;
  END;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
    RAISE WARNING 'mhmtl: role % does not exist and this user cannot create it (no CREATEROLE): its grants are skipped', r;
    RETURN;
  END IF;
  EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA mhmtl FROM %I', r);
  EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA mhmtl FROM %I', r);
  EXECUTE format('GRANT USAGE ON SCHEMA mhmtl TO %I', r);
${grants.map((g) => `  EXECUTE format('${g}', r);`).join('\n')}
END
$$`;
}

/** The reader role recorded for this database (mhmtl.reader_role, migration 0008). */
export async function readerRole<DB>(database: Kysely<DB>): Promise<string> {
  const db = database as unknown as Kysely<unknown>;
  const row = await sql<{ name: string }>`SELECT name FROM mhmtl.reader_role`.execute(db);
  const name = row.rows[0]?.name ?? DEFAULT_READER_ROLE;
  if (!ROLE_NAME.test(name)) throw new Error(`mhmtl.reader_role holds '${name}', not a role name`);
  return name;
}

/**
 * Apply {@link READER_ACCESS} (or `access`) to this database's reader role: afterwards the role
 * can SELECT exactly the listed tables, views and columns of schema mhmtl and nothing else in it.
 * Idempotent; cheap (one statement).
 * @returns the role's name.
 */
export async function applyReaderAccess<DB>(
  database: Kysely<DB>,
  access: Readonly<Record<string, 'all' | readonly string[]>> = READER_ACCESS,
): Promise<string> {
  const db = database as unknown as Kysely<unknown>;
  const role = await readerRole(db);
  await sql.raw(accessStatement(role, access)).execute(db);
  return role;
}

/**
 * Name this database's reader role (an administrator's choice, e.g. `mhmtl_reader_cohort_a`, so
 * that a person granted it can read this database and no other mhmtl database of the cluster):
 * the previous role loses every privilege it had in schema mhmtl, the new one is created (NOLOGIN)
 * when missing and gets {@link READER_ACCESS}, and the name is recorded so that later migrations
 * grant to it.
 * @throws UsageError when `name` is not a lower-case identifier of at most 63 characters.
 */
export async function setReaderRole<DB>(database: Kysely<DB>, name: string): Promise<{ previous: string }> {
  const db = database as unknown as Kysely<unknown>;
  if (!ROLE_NAME.test(name)) {
    throw new UsageError(
      `reader role must be a lower-case identifier (letters, digits, _; at most 63), got '${name}'`,
    );
  }
  const previous = await readerRole(db);
  if (previous !== name) {
    await sql
      .raw(`DO $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${previous}') THEN
    REVOKE ALL ON ALL TABLES IN SCHEMA mhmtl FROM ${previous};
    REVOKE ALL ON ALL SEQUENCES IN SCHEMA mhmtl FROM ${previous};
    REVOKE USAGE ON SCHEMA mhmtl FROM ${previous};
  END IF;
END
$$`)
      .execute(db);
    await sql`UPDATE mhmtl.reader_role SET name = ${name}, updated_at = now()`.execute(db);
  }
  await applyReaderAccess(db);
  return { previous };
}
