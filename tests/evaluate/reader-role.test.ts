import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import { openBackend } from '../../src/db/open.js';
import { evaluateRun } from '../../src/evaluate/evaluate.js';
import { writeRunEvaluation } from '../../src/evaluate/store.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { syntheticRun } from './fixture.js';

// A real login: a LOGIN role that is a member of mhmtl_reader connects over TCP (trust auth on
// 127.0.0.1) and is refused what the reader must not see. Server only: PGlite has a single user
// (store.test.ts checks the same grants there with SET ROLE).
const url = process.env.MHMTL_TEST_DATABASE_URL;

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
        `INSERT INTO mhmtl.runs (run_id, pipeline, config, status, seed, code_version, backend) VALUES (1, 'p', '{}', 'succeeded', 1, 't', 'postgres')`,
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
      'SELECT run_id, model, family, architecture, history, best_epoch FROM mhmtl.models',
      'SELECT name, kind, inserted FROM mhmtl.sources',
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
    ]) {
      const r = await attempt(q);
      expect(r, q).toMatchObject({ ok: false, code: '42501' });
      expect(r.ok === false && r.message, q).toMatch(/permission denied/);
    }
    expect(await attempt('DELETE FROM mhmtl.task_reports')).toMatchObject({ ok: false, code: '42501' });
  });
});
