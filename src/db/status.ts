import { type Kysely, sql } from 'kysely';
import type { Backend } from './backend.js';
import { currentSchemaVersion, LATEST_SCHEMA_VERSION } from './migrate.js';
import { type TableLayout, userTableLayout } from './partition.js';

/** What `mhmtl db status` reports. */
export interface DatabaseStatus {
  backend: string;
  location: string;
  serverVersion: string;
  /** The server's buffer pool, as PostgreSQL shows it (e.g. `32MB` embedded by default). */
  sharedBuffers: string;
  schemaVersion: string | null;
  latestSchemaVersion: string;
  /** Exact row count per table of the `mhmtl` schema, by table name (a partitioned table once, not its partitions). */
  tables: { table: string; rows: number }[];
  /** The per-user tables and their hash partitions (0: plain; see `mhmtl db partition`). */
  userTables: TableLayout[];
}

/**
 * Describe the database: backend, masked location, server version, buffer pool, schema version,
 * exact rows per table, the layout of the per-user tables.
 */
export async function databaseStatus(backend: Backend): Promise<DatabaseStatus> {
  const db = backend.db as unknown as Kysely<unknown>;
  const version = await sql<{ v: string; buffers: string }>`
    SELECT current_setting('server_version') AS v, current_setting('shared_buffers') AS buffers`.execute(db);
  const tables = await sql<{ name: string }>`
    SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE n.nspname = 'mhmtl' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND c.relname NOT LIKE 'schema_migrations%'
    ORDER BY c.relname`.execute(db);
  const counts: { table: string; rows: number }[] = [];
  for (const { name } of tables.rows) {
    const r = await sql<{ n: number }>`SELECT count(*)::int8 AS n FROM ${sql.table(`mhmtl.${name}`)}`.execute(
      db,
    );
    counts.push({ table: name, rows: Number(r.rows[0]?.n ?? 0) });
  }
  return {
    backend: backend.name,
    location: backend.location,
    serverVersion: version.rows[0]?.v ?? 'unknown',
    sharedBuffers: version.rows[0]?.buffers ?? 'unknown',
    schemaVersion: await currentSchemaVersion(db),
    latestSchemaVersion: LATEST_SCHEMA_VERSION,
    tables: counts,
    userTables: await userTableLayout(backend),
  };
}
