import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCopyText } from '../src/db/backend.js';
import { maskUrl, parseEmbeddedSettings, resolveDatabaseConfig } from '../src/db/config.js';
import { currentSchemaVersion, LATEST_SCHEMA_VERSION, migrateToLatest } from '../src/db/migrate.js';
import { openBackend } from '../src/db/open.js';
import { databaseStatus } from '../src/db/status.js';
import { type BackendContext, createTestDatabase, describeBackends } from './helpers/databases.js';

describeBackends('database layer', (ctx: BackendContext) => {
  it('migrates to the latest version, and a second migration is a no-op', async () => {
    expect(await currentSchemaVersion(ctx.backend.db)).toBe(LATEST_SCHEMA_VERSION);
    expect(await migrateToLatest(ctx.backend.db)).toEqual([]);
    expect(await currentSchemaVersion(ctx.backend.db)).toBe(LATEST_SCHEMA_VERSION);
  });

  it('keeps every table in the mhmtl schema and every time as timestamptz', async () => {
    const cols = await sql<{ table_schema: string; data_type: string; column_name: string }>`
      SELECT table_schema, data_type, column_name FROM information_schema.columns
      WHERE table_schema = 'mhmtl' AND data_type LIKE 'timestamp%'`.execute(ctx.backend.db);
    expect(cols.rows.length).toBeGreaterThan(5);
    expect(cols.rows.filter((c) => c.data_type !== 'timestamp with time zone')).toEqual([]);
    const publicTables = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM information_schema.tables WHERE table_schema = 'public'`.execute(
      ctx.backend.db,
    );
    expect(publicTables.rows[0]?.n).toBe(0);
  });

  it('leads the key of every per-user table with the user pseudonym', async () => {
    const keys = await sql<{ table_name: string; first: string }>`
      SELECT tc.table_name, kcu.column_name AS first
      FROM information_schema.table_constraints tc
      JOIN information_schema.key_column_usage kcu
        ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema
      WHERE tc.table_schema = 'mhmtl' AND tc.constraint_type = 'PRIMARY KEY' AND kcu.ordinal_position = 1
        AND tc.table_name IN ('posts', 'labels', 'users')`.execute(ctx.backend.db);
    expect(keys.rows.map((r) => [r.table_name, r.first]).sort()).toEqual([
      ['labels', 'user_id'],
      ['posts', 'user_id'],
      ['users', 'user_id'],
    ]);
  });

  it('copies rows in COPY text format, escapes included, inside a transaction', async () => {
    const rows = [
      ['u1', 'p1', '2020-01-01T00:00:00Z', 'tab\there\nnewline \\ backslash', 'h1', ['a', 'b"c']],
      ['u1', 'p2', new Date('2021-06-01T12:00:00Z'), 'plain', 'h2', []],
    ];
    const n = await ctx.backend.transaction(async (s) => {
      await s.query(`INSERT INTO mhmtl.users (user_id) VALUES ('u1') ON CONFLICT DO NOTHING`);
      return s.copyFrom(
        'mhmtl.posts',
        ['user_id', 'post_id', 'created_at', 'text', 'text_hash', 'flags'],
        encodeCopyText(rows),
      );
    });
    expect(n).toBe(2);
    const back = await ctx.backend.db
      .selectFrom('mhmtl.posts')
      .select(['post_id', 'text', 'flags', 'created_at'])
      .orderBy('post_id')
      .execute();
    expect(back[0]).toEqual({
      post_id: 'p1',
      text: 'tab\there\nnewline \\ backslash',
      flags: ['a', 'b"c'],
      created_at: new Date('2020-01-01T00:00:00Z'),
    });
    expect(back[1]?.flags).toEqual([]);
  });

  it('rolls a transaction back when its callback throws', async () => {
    await expect(
      ctx.backend.transaction(async (s) => {
        await s.query(`INSERT INTO mhmtl.users (user_id) VALUES ('rolled-back')`);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const r = await ctx.backend.db
      .selectFrom('mhmtl.users')
      .select('user_id')
      .where('user_id', '=', 'rolled-back')
      .execute();
    expect(r).toEqual([]);
  });

  it('refuses writes in a read-only transaction with PostgreSQL error 25006', async () => {
    const error = await ctx.backend
      .transaction((s) => s.query('DELETE FROM mhmtl.posts'), { readOnly: true })
      .catch((e: unknown) => e as { code?: string; message: string });
    expect(error).toMatchObject({ code: '25006' });
  });

  it('reports row counts per table in the status', async () => {
    const status = await databaseStatus(ctx.backend);
    expect(status.backend).toBe(ctx.name);
    expect(status.schemaVersion).toBe(LATEST_SCHEMA_VERSION);
    // Embedded: the 32MB default of EMBEDDED_DEFAULT_SETTINGS; a server: its own, a size in kB/MB/GB.
    if (ctx.name === 'pglite') expect(status.sharedBuffers).toBe('32MB');
    else expect(status.sharedBuffers).toMatch(/^\d+[kMG]B$/);
    expect(status.tables.find((t) => t.table === 'posts')?.rows).toBe(2);
    expect(status.tables.find((t) => t.table === 'users')?.rows).toBe(1);
  });
});

describe('embedded data directory', () => {
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  beforeAll(async () => {
    db = await createTestDatabase('pglite');
  });
  afterAll(async () => db.cleanup());

  it('persists across reopen and refuses a second concurrent opener (exit code 75)', async () => {
    const first = await openBackend(db.config);
    await first.db
      .insertInto('mhmtl.users')
      .values({ user_id: 'persisted', first_source_id: null })
      .execute();
    const second = await openBackend(db.config).catch((e: unknown) => e);
    expect(second).toMatchObject({ exitCode: 75 });
    expect(String((second as Error).message)).toMatch(/in use by process \d+/);
    await first.close();
    const reopened = await openBackend(db.config);
    const rows = await reopened.db.selectFrom('mhmtl.users').select('user_id').execute();
    await reopened.close();
    expect(rows).toEqual([{ user_id: 'persisted' }]);
  });
});

describe('embedded server settings', () => {
  it('passes them to PostgreSQL at start-up, and names a setting PostgreSQL refuses', async () => {
    const resolved = resolveDatabaseConfig(
      { dataDir: ':memory:' },
      { MHMTL_PGLITE_SETTINGS: 'work_mem=12MB' },
    );
    const backend = await openBackend(resolved, { migrate: false });
    try {
      const shown = await backend.transaction(async (s) => [
        ...(await s.query<{ shared_buffers: string }>('SHOW shared_buffers')),
        ...(await s.query<{ work_mem: string }>('SHOW work_mem')),
      ]);
      expect(shown).toEqual([{ shared_buffers: '32MB' }, { work_mem: '12MB' }]);
    } finally {
      await backend.close();
    }
    const refused = await openBackend(
      { kind: 'embedded-memory', settings: { shared_buffers: 'lots' } },
      { migrate: false },
    ).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error).message).toMatch(
      /invalid value for parameter "shared_buffers": "lots" \(check MHMTL_PGLITE_SETTINGS\)/,
    );
  });
});

describe('configuration', () => {
  it('prefers --database-url, then --data-dir, then DATABASE_URL, then MHMTL_DATA_DIR', () => {
    const env = { DATABASE_URL: 'postgres://env/db', MHMTL_DATA_DIR: '/env/dir' };
    expect(resolveDatabaseConfig({ databaseUrl: 'postgres://cli/db', dataDir: '/x' }, env)).toEqual({
      kind: 'server',
      url: 'postgres://cli/db',
    });
    expect(resolveDatabaseConfig({ dataDir: '/cli/dir' }, env)).toEqual({
      kind: 'embedded',
      dataDir: '/cli/dir',
      settings: { shared_buffers: '32MB' },
    });
    expect(resolveDatabaseConfig({}, env)).toEqual({ kind: 'server', url: 'postgres://env/db' });
    expect(resolveDatabaseConfig({}, { MHMTL_DATA_DIR: '/env/dir' })).toEqual({
      kind: 'embedded',
      dataDir: '/env/dir',
      settings: { shared_buffers: '32MB' },
    });
    expect(() => resolveDatabaseConfig({ databaseUrl: 'mysql://x' }, {})).toThrow(/postgres:\/\//);
  });

  it('starts an embedded database with shared_buffers=32MB, overridden and extended by MHMTL_PGLITE_SETTINGS', () => {
    expect(resolveDatabaseConfig({}, { MHMTL_DATA_DIR: ':memory:' })).toEqual({
      kind: 'embedded-memory',
      settings: { shared_buffers: '32MB' },
    });
    const env = { MHMTL_PGLITE_SETTINGS: ' shared_buffers=128MB, work_mem=16MB  temp_buffers=4MB' };
    expect(resolveDatabaseConfig({ dataDir: '/d' }, env)).toEqual({
      kind: 'embedded',
      dataDir: '/d',
      settings: { shared_buffers: '128MB', work_mem: '16MB', temp_buffers: '4MB' },
    });
    expect(parseEmbeddedSettings('')).toEqual({});
    expect(() => parseEmbeddedSettings('work_mem=16MB shared_buffers')).toThrow(
      /MHMTL_PGLITE_SETTINGS: expected name=value .*\(got "shared_buffers"\)/,
    );
    expect(() => resolveDatabaseConfig({}, { MHMTL_PGLITE_SETTINGS: '=1' })).toThrow(/got "=1"/);
  });

  it('masks passwords in URLs', () => {
    expect(maskUrl('postgres://alice:s3cret@host:5432/db')).toBe('postgres://alice:****@host:5432/db');
    expect(maskUrl('postgres://alice@host/db')).toBe('postgres://alice@host/db');
  });
});
