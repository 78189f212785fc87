import { type Kysely, sql } from 'kysely';
import { type MigrationResultSet, Migrator } from 'kysely/migration';
import { migrations } from './migrations/index.js';
import { applyReaderAccess } from './reader-access.js';

/** The PostgreSQL schema that holds every mhmtl table and view. */
export const SCHEMA = 'mhmtl';

/** The name of the newest migration this code knows, i.e. the schema version it expects. */
export const LATEST_SCHEMA_VERSION = Object.keys(migrations).sort().at(-1) ?? '';

function migrator(db: Kysely<unknown>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => migrations },
    migrationTableSchema: SCHEMA,
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
}

/**
 * Bring the schema to the latest version, then, when a migration was applied, re-apply the reader
 * role's grants (src/db/reader-access.ts). Applying it twice is a no-op. Kysely's migrator takes
 * a lock, so concurrent callers on a server apply each migration once.
 * @returns the names of the migrations applied by this call (empty when up to date).
 * @throws Error naming the failed migration and the database's message.
 */
export async function migrateToLatest<DB>(database: Kysely<DB>): Promise<string[]> {
  const db = database as unknown as Kysely<unknown>;
  // Every command migrates first, so the usual case (up to date) is one cheap query. Kysely's
  // migrator introspects every table of the database, which costs about 45 MB of PGlite's
  // WebAssembly memory for good (measured with `openBackend` on a migrated directory: 236 MB -> 201
  // MB RSS once open).
  if ((await currentSchemaVersion(db)) === LATEST_SCHEMA_VERSION) return [];
  await sql`CREATE SCHEMA IF NOT EXISTS mhmtl`.execute(db);
  const result: MigrationResultSet = await migrator(db).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    const message = result.error instanceof Error ? result.error.message : String(result.error);
    throw new Error(`migration ${failed} failed: ${message}`, { cause: result.error });
  }
  const applied = (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  // The reader's grants follow the declared list, tables added by these migrations included.
  if (applied.length > 0) await applyReaderAccess(db);
  return applied;
}

/** The newest applied migration's name, or null when the schema has never been migrated. */
export async function currentSchemaVersion<DB>(database: Kysely<DB>): Promise<string | null> {
  const db = database as unknown as Kysely<unknown>;
  const exists = await sql<{
    t: string | null;
  }>`SELECT to_regclass('mhmtl.schema_migrations')::text AS t`.execute(db);
  if (!exists.rows[0]?.t) return null;
  const row = await sql<{
    name: string;
  }>`SELECT name FROM mhmtl.schema_migrations ORDER BY name DESC LIMIT 1`.execute(db);
  return row.rows[0]?.name ?? null;
}
