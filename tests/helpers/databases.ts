import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import type { Backend, BackendName } from '../../src/db/backend.js';
import type { DatabaseConfig } from '../../src/db/config.js';
import { openBackend } from '../../src/db/open.js';

/**
 * The backends every database test runs against: PGlite always, and the PostgreSQL server when
 * MHMTL_TEST_DATABASE_URL is set. A set variable whose server does not answer fails the test
 * (createTestDatabase throws); it is never skipped.
 */
export function testBackendNames(): BackendName[] {
  return process.env.MHMTL_TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

/** A fresh, empty database for one test file, and how to drop it. */
export interface TestDatabase {
  readonly name: BackendName;
  readonly config: DatabaseConfig;
  /** Same as config, as CLI arguments (`--data-dir X` or `--database-url U`). */
  readonly cliArgs: string[];
  cleanup(): Promise<void>;
}

/**
 * Create a fresh database: embedded, a new temporary directory (or memory with `memory: true`);
 * server, a new database `mhmtl_test_<random>` created through MHMTL_TEST_DATABASE_URL.
 * @throws Error when the server named by MHMTL_TEST_DATABASE_URL does not answer.
 */
export async function createTestDatabase(
  name: BackendName,
  options: { memory?: boolean } = {},
): Promise<TestDatabase> {
  if (name === 'pglite') {
    if (options.memory) {
      return { name, config: { kind: 'embedded-memory' }, cliArgs: [], cleanup: async () => {} };
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-test-'));
    const dataDir = path.join(dir, 'data');
    return {
      name,
      config: { kind: 'embedded', dataDir },
      cliArgs: ['--data-dir', dataDir],
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  const adminUrl = process.env.MHMTL_TEST_DATABASE_URL;
  if (!adminUrl) throw new Error('MHMTL_TEST_DATABASE_URL is not set');
  const dbName = `mhmtl_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 10_000 });
  try {
    await admin.connect();
  } catch (error) {
    throw new Error(
      `MHMTL_TEST_DATABASE_URL is set but the server does not answer: ${(error as Error).message}`,
    );
  }
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${dbName}`;
  return {
    name,
    config: { kind: 'server', url: url.toString() },
    cliArgs: ['--database-url', url.toString()],
    cleanup: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** What a {@link describeBackends} body sees: the open, migrated backend of a fresh database. */
export interface BackendContext {
  readonly name: BackendName;
  readonly backend: Backend;
  readonly database: TestDatabase;
}

/**
 * Declare a suite once per test backend. Each gets a fresh database (PGlite in memory; a new
 * server database), opened and migrated in beforeAll and dropped in afterAll.
 */
export function describeBackends(title: string, body: (ctx: BackendContext) => void): void {
  for (const name of testBackendNames()) {
    describe(`${title} [${name}]`, () => {
      let database: TestDatabase | undefined;
      let backend: Backend | undefined;
      const ctx: BackendContext = {
        name,
        get backend() {
          if (!backend) throw new Error('backend not open yet (use it inside a test or hook)');
          return backend;
        },
        get database() {
          if (!database) throw new Error('database not created yet');
          return database;
        },
      };
      beforeAll(async () => {
        database = await createTestDatabase(name, { memory: true });
        backend = await openBackend(database.config);
      });
      afterAll(async () => {
        await backend?.close();
        await database?.cleanup();
      });
      body(ctx);
    });
  }
}

/**
 * The number of rows of each of `tables` (names in schema mhmtl), e.g. to show that a refused
 * command wrote nothing. Opens and closes the database (an embedded one is one process at a time).
 */
export async function countRows(
  config: DatabaseConfig,
  tables: readonly string[],
): Promise<Record<string, number>> {
  const backend = await openBackend(config);
  try {
    const select = tables.map((t) => `(SELECT count(*) FROM mhmtl.${t})::int AS ${t}`).join(', ');
    const rows = await backend.transaction((s) => s.query<Record<string, number>>(`SELECT ${select}`), {
      readOnly: true,
    });
    return rows[0]!;
  } finally {
    await backend.close();
  }
}

/**
 * Query a test database between CLI runs, read-only (embedded: opened and closed each time, as
 * it is one process at a time).
 */
export async function queryTestDatabase<R>(
  db: TestDatabase,
  sql: string,
  params: unknown[] = [],
): Promise<R[]> {
  const backend = await openBackend(db.config);
  try {
    return await backend.transaction((s) => s.query<R>(sql, params), { readOnly: true });
  } finally {
    await backend.close();
  }
}
