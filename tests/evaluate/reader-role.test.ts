import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import { openBackend } from '../../src/db/open.js';
import { READER_ACCESS } from '../../src/db/reader-access.js';
import { evaluateRun } from '../../src/evaluate/evaluate.js';
import { writeRunEvaluation } from '../../src/evaluate/store.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { syntheticRun } from './fixture.js';

// A real login: a LOGIN role that is a member of mhmtl_reader connects over TCP (trust auth on
// 127.0.0.1) and is refused what the reader must not see. Server only: PGlite has a single user
// (store.test.ts checks the same grants there with SET ROLE).
const url = process.env.MHMTL_TEST_DATABASE_URL;

/** What a run's config and error may hold: paths and masked terms that name a person. */
const SECRET_CONFIG = {
  name: 'p',
  description: 'John Smith cohort',
  inputs: [{ kind: 'posts', files: ['/home/ana/patient-john-smith-posts.jsonl'] }],
  masked_terms: ['john smith'],
  tasks: { main: ['a'] },
};
const SECRET_ERROR = 'cannot read /home/ana/patient-john-smith-posts.jsonl: no such file';

describe.skipIf(!url)('mhmtl_reader, logged in on the server', () => {
  const login = `mhmtl_test_alice_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  let database: TestDatabase;
  let backend: Backend;
  let alice: pg.Client;

  beforeAll(async () => {
    database = await createTestDatabase('postgres');
    backend = await openBackend(database.config);
    const input = syntheticRun(120, 4);
    await backend.transaction(async (s) => {
      await s.query(`INSERT INTO mhmtl.users (user_id) VALUES ('u1')`);
      await s.query(
        `INSERT INTO mhmtl.posts (user_id, post_id, created_at, text, text_hash) VALUES ('u1', 'p1', now(), 'secret text', 'h')`,
      );
      await s.query(
        `INSERT INTO mhmtl.quarantine (line_number, reason, raw) VALUES (1, 'bad json', '{raw row')`,
      );
      await s.query(
        `INSERT INTO mhmtl.runs (run_id, pipeline, config, status, seed, code_version, backend) VALUES (1, 'p', $1, 'succeeded', 1, 't', 'postgres')`,
        [JSON.stringify(SECRET_CONFIG)],
      );
      await s.query(
        `INSERT INTO mhmtl.runs (run_id, pipeline, config, status, seed, code_version, backend, error, note)
         VALUES (2, 'p', $1, 'failed', 1, 't', 'postgres', $2, $2)`,
        [JSON.stringify(SECRET_CONFIG), SECRET_ERROR],
      );
      await s.query(
        `INSERT INTO mhmtl.sources (name, file_name, sha256, format, kind, started_at)
         VALUES ('patient John Smith, ward 3', 'john-smith.jsonl', 'ab', 'jsonl', 'posts', now())`,
      );
      await s.query(
        `INSERT INTO mhmtl.models (run_id, model, family, kind, architecture, tasks, config, weights, backend) VALUES (1, 'mtl', 'mtl', 'mtl', 'hard_sharing', '{a}', '{}', '\\x0102', 'wasm')`,
      );
    });
    await writeRunEvaluation(backend, 1, input, evaluateRun(input, { seed: 4, bootstrapResamples: 50 }));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE ROLE ${login} LOGIN`);
    await admin.query(`GRANT mhmtl_reader TO ${login}`);
    await admin.end();
    const u = new URL(database.cliArgs[1]!);
    u.username = login;
    u.password = '';
    alice = new pg.Client({ connectionString: u.toString() });
    await alice.connect();
  });

  afterAll(async () => {
    await alice?.end().catch(() => {});
    await backend?.close();
    await database?.cleanup();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP ROLE IF EXISTS ${login}`);
    await admin.end();
  });

  const attempt = (q: string) =>
    alice.query(q).then(
      (r) => ({ ok: true as const, rows: r.rows }),
      (e: { code?: string; message: string }) => ({ ok: false as const, code: e.code, message: e.message }),
    );

  it('is who it says and reads reports, curves, run and model metadata and the views', async () => {
    expect(await attempt('SELECT current_user AS u')).toEqual({ ok: true, rows: [{ u: login }] });
    const latest = await attempt('SELECT task, model, auc FROM mhmtl.latest_task_reports');
    expect(latest.ok && latest.rows.length).toBe(20);
    for (const q of [
      'SELECT * FROM mhmtl.mtl_vs_baselines',
      'SELECT * FROM mhmtl.task_report_history',
      'SELECT * FROM mhmtl.task_reports',
      'SELECT * FROM mhmtl.model_summaries',
      'SELECT * FROM mhmtl.model_comparisons',
      'SELECT * FROM mhmtl.roc_points',
      'SELECT * FROM mhmtl.training_history',
      'SELECT pipeline, status, stage_durations FROM mhmtl.runs',
      'SELECT * FROM mhmtl.run_metadata',
      'SELECT run_id, model, family, architecture, history, best_epoch FROM mhmtl.models',
      'SELECT kind, inserted FROM mhmtl.sources',
    ]) {
      expect(await attempt(q), q).toMatchObject({ ok: true });
    }
  });

  it('is refused post text, tokens, quarantined raw rows, labels, predictions, the pseudonym key, vocabulary and weights', async () => {
    for (const q of [
      'SELECT text FROM mhmtl.posts',
      'SELECT * FROM mhmtl.post_tokens',
      'SELECT raw FROM mhmtl.quarantine',
      'SELECT * FROM mhmtl.pseudonym_key',
      'SELECT * FROM mhmtl.labels',
      'SELECT * FROM mhmtl.users',
      'SELECT * FROM mhmtl.predictions',
      'SELECT * FROM mhmtl.splits',
      'SELECT state FROM mhmtl.feature_spaces',
      'SELECT weights FROM mhmtl.models',
      'SELECT topology FROM mhmtl.models',
      'SELECT file_name FROM mhmtl.sources',
      'SELECT name FROM mhmtl.sources',
      'SELECT details FROM mhmtl.sources',
      'SELECT * FROM mhmtl.runs',
      'SELECT config FROM mhmtl.runs',
      'SELECT error FROM mhmtl.runs',
      'SELECT note FROM mhmtl.runs',
      'SELECT * FROM mhmtl.reader_role',
    ]) {
      const r = await attempt(q);
      expect(r, q).toMatchObject({ ok: false, code: '42501' });
      expect(r.ok === false && r.message, q).toMatch(/permission denied/);
    }
    expect(await attempt('DELETE FROM mhmtl.task_reports')).toMatchObject({ ok: false, code: '42501' });
  });

  it('reads no path, masked term, source name or error text anywhere it is allowed to read', async () => {
    let seen = '';
    for (const [relation, columns] of Object.entries(READER_ACCESS)) {
      const r = await attempt(
        `SELECT ${columns === 'all' ? '*' : columns.join(', ')} FROM mhmtl.${relation}`,
      );
      expect(r, relation).toMatchObject({ ok: true });
      seen += JSON.stringify(r.ok ? r.rows : []);
    }
    expect(seen).toContain('"failure":"error"');
    expect(seen).not.toMatch(/john|smith|ward 3|home\/ana|cannot read/i);
  });

  it('a per-database reader role confines a person to that database', async () => {
    const role = `mhmtl_test_reader_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const bob = `mhmtl_test_bob_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const other = await createTestDatabase('postgres');
    const otherBackend = await openBackend(other.config);
    await otherBackend.close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const connect = async (user: string, db: TestDatabase) => {
      const u = new URL(db.cliArgs[1]!);
      u.username = user;
      u.password = '';
      const c = new pg.Client({ connectionString: u.toString() });
      await c.connect();
      return c;
    };
    try {
      const set = await runCli(['db', 'reader-role', role, ...database.cliArgs]);
      expect(set.stdout).toBe(
        `reader role ${role} (was mhmtl_reader, which no longer reads this database)\n`,
      );
      expect(set.code).toBe(0);
      const shown = await runCli(['db', 'reader-role', ...database.cliArgs]);
      expect(shown.stdout).toBe(`${role}\n`);
      await admin.query(`CREATE ROLE ${bob} LOGIN`);
      await admin.query(`GRANT ${role} TO ${bob}`);
      const here = await connect(bob, database);
      const there = await connect(bob, other);
      try {
        const a = await here.query('SELECT count(*)::int AS n FROM mhmtl.task_reports');
        expect(a.rows[0].n).toBeGreaterThan(0);
        await expect(there.query('SELECT count(*) FROM mhmtl.task_reports')).rejects.toMatchObject({
          code: '42501',
        });
      } finally {
        await here.end();
        await there.end();
      }
      // alice holds mhmtl_reader, which this database no longer grants anything.
      expect(await attempt('SELECT * FROM mhmtl.task_reports')).toMatchObject({ ok: false, code: '42501' });
    } finally {
      // Back to the default role: the test role then holds nothing anywhere and can be dropped.
      await runCli(['db', 'reader-role', 'mhmtl_reader', ...database.cliArgs]);
      await other.cleanup();
      await admin.query(`DROP ROLE IF EXISTS ${bob}`);
      await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    }
    expect(await attempt('SELECT count(*) FROM mhmtl.task_reports')).toMatchObject({ ok: true });
  });
});
