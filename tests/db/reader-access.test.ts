import { expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import {
  applyReaderAccess,
  DEFAULT_READER_ROLE,
  READER_ACCESS,
  readerRole,
  setReaderRole,
} from '../../src/db/reader-access.js';
import { describeBackends } from '../helpers/databases.js';

// The reader's grants are declared in one list (src/db/reader-access.ts) and applied whole: what
// the role can read in schema mhmtl is exactly that list, whatever migrations ran before.

/** Every column of every table and view of schema mhmtl, and whether `role` may SELECT it. */
async function readable(backend: Backend, role: string): Promise<Map<string, Set<string>>> {
  const rows = await backend.transaction((s) =>
    s.query<{ relation: string; column_name: string; allowed: boolean; whole: boolean }>(
      `SELECT c.relname AS relation, a.attname AS column_name,
              has_column_privilege($1, c.oid, a.attnum, 'SELECT') AS allowed,
              has_table_privilege($1, c.oid, 'SELECT') AS whole
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
       WHERE n.nspname = 'mhmtl' AND c.relkind IN ('r', 'v', 'm', 'p')`,
      [role],
    ),
  );
  const out = new Map<string, Set<string>>();
  for (const r of rows) {
    if (!r.allowed) continue;
    if (!out.has(r.relation)) out.set(r.relation, new Set());
    out.get(r.relation)!.add(r.whole ? '*' : r.column_name);
  }
  return out;
}

/** READER_ACCESS in the shape of {@link readable}: 'all' as '*'. */
function declared(access: typeof READER_ACCESS): Map<string, Set<string>> {
  return new Map(Object.entries(access).map(([t, c]) => [t, new Set(c === 'all' ? ['*'] : c)] as const));
}

describeBackends('reader access is declared once and applied whole', (ctx) => {
  it('after the migrations the reader can SELECT exactly the declared tables, views and columns', async () => {
    const db = ctx.backend.db;
    expect(await readerRole(db)).toBe(DEFAULT_READER_ROLE);
    expect(await readable(ctx.backend, DEFAULT_READER_ROLE)).toEqual(declared(READER_ACCESS));
    // Never more than SELECT.
    const writes = await ctx.backend.transaction((s) =>
      s.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM information_schema.role_table_grants
         WHERE grantee = $1 AND table_schema = 'mhmtl' AND privilege_type <> 'SELECT'`,
        [DEFAULT_READER_ROLE],
      ),
    );
    expect(writes[0]?.n).toBe(0);
  });

  it('a table added later is readable by adding one line, and private again without it (idempotent)', async () => {
    const db = ctx.backend.db;
    await ctx.backend.transaction((s) =>
      s.query('CREATE TABLE mhmtl.calibration_bins_example (run_id bigint, bin int, secret text)'),
    );
    expect((await readable(ctx.backend, DEFAULT_READER_ROLE)).has('calibration_bins_example')).toBe(false);
    const withIt = { ...READER_ACCESS, calibration_bins_example: ['run_id', 'bin'] };
    await applyReaderAccess(db, withIt);
    await applyReaderAccess(db, withIt);
    expect(await readable(ctx.backend, DEFAULT_READER_ROLE)).toEqual(declared(withIt));
    await applyReaderAccess(db);
    expect(await readable(ctx.backend, DEFAULT_READER_ROLE)).toEqual(declared(READER_ACCESS));
    await ctx.backend.transaction((s) => s.query('DROP TABLE mhmtl.calibration_bins_example'));
  });

  it('task_features holds vocabulary: the reader cannot select it, nor any column of it', async () => {
    expect(Object.keys(READER_ACCESS)).not.toContain('task_features');
    expect((await readable(ctx.backend, DEFAULT_READER_ROLE)).has('task_features')).toBe(false);
    await ctx.backend.transaction((s) =>
      s.query(
        `INSERT INTO mhmtl.runs (run_id, pipeline, config, status, seed, code_version, backend)
         VALUES (903, 'p', '{}', 'succeeded', 1, 't', 'x')`,
      ),
    );
    await ctx.backend.transaction((s) =>
      s.query(
        `INSERT INTO mhmtl.task_features (run_id, model, task, direction, rank, term, weight, method)
         VALUES (903, 'lr', 'depression', 'toward', 1, 'w:sad', 1.5, 'coefficient')`,
      ),
    );
    for (const query of [
      'SELECT term FROM mhmtl.task_features',
      'SELECT count(*) FROM mhmtl.task_features',
    ]) {
      await expect(
        ctx.backend.transaction(async (s) => {
          await s.query(`SET LOCAL ROLE ${DEFAULT_READER_ROLE}`);
          return s.query(query);
        }),
      ).rejects.toThrow(/permission denied/);
    }
    await ctx.backend.transaction((s) => s.query('DELETE FROM mhmtl.runs WHERE run_id = 903'));
  });

  it('run_metadata shows settings and status but no path, masked term, description or error text', async () => {
    const config = {
      name: 'p',
      description: 'cohort of John Smith',
      inputs: [{ kind: 'posts', files: ['/home/ana/patient-john-smith-posts.jsonl'] }],
      masked_terms: ['john smith', 'depression'],
      tasks: { main: ['depression'] },
      training: { epochs: 3 },
    };
    await ctx.backend.transaction((s) =>
      s.query(
        `INSERT INTO mhmtl.runs (run_id, pipeline, config, status, seed, code_version, backend, error)
         VALUES (901, 'p', $1, 'failed', 1, 't', 'x', $2), (902, 'p', $1, 'failed', 1, 't', 'x', 'interrupted by SIGTERM; stopped')`,
        [JSON.stringify(config), 'cannot read /home/ana/patient-john-smith-posts.jsonl: no such file'],
      ),
    );
    const rows = await ctx.backend.transaction(async (s) => {
      await s.query(`SET LOCAL ROLE ${DEFAULT_READER_ROLE}`);
      return s.query<{ run_id: number; failure: string; settings: Record<string, unknown> }>(
        'SELECT * FROM mhmtl.run_metadata WHERE run_id >= 901 ORDER BY run_id',
      );
    });
    expect(rows.map((r) => r.failure)).toEqual(['error', 'interrupted']);
    expect(rows[0]!.settings).toEqual({
      tasks: { main: ['depression'] },
      training: { epochs: 3 },
      masked_terms: 2,
    });
    expect(JSON.stringify(rows)).not.toMatch(/john|smith|home|patient|cannot|SIGTERM/i);
    await ctx.backend.transaction((s) => s.query('DELETE FROM mhmtl.runs WHERE run_id >= 901'));
  });

  it('a per-database reader role takes every grant from the previous one', async () => {
    const db = ctx.backend.db;
    const role = `mhmtl_reader_t${process.pid}_${Math.random().toString(36).slice(2, 7)}`;
    try {
      expect(await setReaderRole(db, role)).toEqual({ previous: DEFAULT_READER_ROLE });
      expect(await readerRole(db)).toBe(role);
      expect(await readable(ctx.backend, role)).toEqual(declared(READER_ACCESS));
      expect(await readable(ctx.backend, DEFAULT_READER_ROLE)).toEqual(new Map());
      await expect(setReaderRole(db, 'Robert"; DROP TABLE x')).rejects.toThrow(
        /reader role must be a lower-case identifier/,
      );
    } finally {
      await setReaderRole(db, DEFAULT_READER_ROLE);
      await ctx.backend.transaction((s) => s.query(`DROP ROLE IF EXISTS ${role}`));
    }
    expect(await readable(ctx.backend, DEFAULT_READER_ROLE)).toEqual(declared(READER_ACCESS));
  });
});
