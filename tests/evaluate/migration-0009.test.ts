import type { Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migrations } from '../../src/db/migrations/index.js';
import { openBackend } from '../../src/db/open.js';
import { readRunReport } from '../../src/evaluate/store.js';
import { createTestDatabase, type TestDatabase, testBackendNames } from '../helpers/databases.js';
import { describe } from 'vitest';

// A database written before migration 0009 (four model families, no repeats, no comparisons)
// migrates, and its runs read back under the names they had.
for (const name of testBackendNames()) {
  describe(`migration 0009 on a database with stored runs [${name}]`, () => {
    let database: TestDatabase;
    let backend: Backend;
    beforeAll(async () => {
      database = await createTestDatabase(name, { memory: true });
      backend = await openBackend(database.config, { migrate: false });
      const db = backend.db as unknown as Kysely<unknown>;
      const before = Object.fromEntries(Object.entries(migrations).filter(([k]) => k < '0008'));
      const { sql } = await import('kysely');
      await sql`CREATE SCHEMA IF NOT EXISTS mhmtl`.execute(db);
      const result = await new Migrator({
        db,
        provider: { getMigrations: async () => before },
        migrationTableSchema: 'mhmtl',
        migrationTableName: 'schema_migrations',
        migrationLockTableName: 'schema_migrations_lock',
      }).migrateToLatest();
      expect(result.error).toBeUndefined();
      await backend.transaction(async (s) => {
        await s.query(
          `INSERT INTO mhmtl.runs (run_id, pipeline, config, status, seed, code_version, backend, finished_at)
           VALUES (1, 'old', '{}', 'succeeded', 42, '0.1.0', 'pglite', now())`,
        );
        const report = (
          model: string,
          task: string,
          auc: number,
          positives: number,
          lr: number | null,
          stl: number | null,
        ) =>
          s.query(
            `INSERT INTO mhmtl.task_reports (run_id, model, task, split, fold, auxiliary, n, positives, negatives, auc,
               auc_ci_low, auc_ci_high, bootstrap_used, bootstrap_skipped, delta_auc_lr, delta_auc_stl)
             VALUES (1, $1, $2, 'test', 0, false, 80, $3::int, 80 - $3::int, $4::float8, $4::float8 - 0.05,
               LEAST($4::float8 + 0.05, 1), 100, 0, $5::float8, $6::float8)`,
            [model, task, positives, auc, lr, stl],
          );
        await report('mtl', 'anxiety', 0.9, 20, 0.05, 0.1);
        await report('mtl_no_aux', 'anxiety', 0.88, 20, 0.03, 0.08);
        await report('stl', 'anxiety', 0.8, 20, null, null);
        await report('lr', 'anxiety', 0.85, 20, null, null);
        await report('mtl', 'bipolar', 1, 1, 0, 0.2);
        await report('lr', 'bipolar', 1, 1, null, null);
        await s.query(
          `INSERT INTO mhmtl.model_summaries (run_id, model, split, fold, tasks_averaged, macro_auc, delta_auc_lr, delta_auc_stl, delta_m)
           VALUES (1, 'mtl', 'test', 0, 2, 0.95, 0.025, 0.15, 0.1), (1, 'lr', 'test', 0, 2, 0.925, NULL, NULL, NULL)`,
        );
        await s.query(
          `INSERT INTO mhmtl.models (run_id, model, family, architecture, tasks, config, backend)
           VALUES (1, 'mtl', 'mtl', 'hard_sharing', '{anxiety}', '{}', 'wasm'),
                  (1, 'mtl_no_aux', 'mtl_no_aux', 'hard_sharing', '{anxiety}', '{}', 'wasm'),
                  (1, 'lr:anxiety', 'lr', 'logistic_regression', '{anxiety}', '{}', 'js')`,
        );
      });
      expect(await migrateToLatest(backend.db)).toContain('0009_model_comparisons');
    });
    afterAll(async () => {
      await backend?.close();
      await database?.cleanup();
    });

    it('reads the stored run under its old names, with kinds, repeat 0 and low support flagged', async () => {
      const report = await readRunReport(backend, 1);
      expect(report.models).toEqual([
        { name: 'mtl', kind: 'mtl' },
        { name: 'mtl_no_aux', kind: 'mtl' },
        { name: 'stl', kind: 'stl' },
        { name: 'lr', kind: 'lr' },
      ]);
      expect(report.repeats).toBe(1);
      const bipolar = report.reports.find((r) => r.model === 'mtl' && r.task === 'bipolar')!;
      expect(bipolar).toMatchObject({ repeat: 0, kind: 'mtl', lowSupport: true, auc: 1, deltaAucStl: 0.2 });
      expect(report.reports.find((r) => r.model === 'mtl' && r.task === 'anxiety')!.lowSupport).toBe(false);
      expect(report.summaries.find((s) => s.model === 'mtl')).toMatchObject({
        kind: 'mtl',
        tasksLowSupport: null,
        macroAuc: 0.95,
        deltaM: 0.1,
      });
      const kinds = await backend.db
        .selectFrom('mhmtl.models')
        .select(['model', 'kind'])
        .orderBy('model')
        .execute();
      expect(kinds).toEqual([
        { model: 'lr:anxiety', kind: 'lr' },
        { model: 'mtl', kind: 'mtl' },
        { model: 'mtl_no_aux', kind: 'mtl' },
      ]);
    });

    it('turns the stored deltas into comparisons, shown through mtl_vs_baselines', async () => {
      const rows = await backend.db
        .selectFrom('mhmtl.mtl_vs_baselines')
        .selectAll()
        .where('run_id', '=', 1)
        .where('task', '=', 'anxiety')
        .orderBy('model')
        .orderBy('reference')
        .execute();
      expect(rows.map((r) => [r.model, r.reference, r.delta_auc, r.method])).toEqual([
        ['mtl', 'lr', 0.05, 'difference'],
        ['mtl', 'mtl_no_aux', expect.closeTo(0.02, 12), 'difference'],
        ['mtl', 'stl', 0.1, 'difference'],
        ['mtl_no_aux', 'lr', 0.03, 'difference'],
        ['mtl_no_aux', 'stl', 0.08, 'difference'],
      ]);
      expect(rows[0]).toMatchObject({
        auc_model: 0.9,
        auc_reference: 0.85,
        model_kind: 'mtl',
        reference_kind: 'lr',
        p_value: null,
      });
      const macro = await backend.db
        .selectFrom('mhmtl.model_comparisons')
        .select(['model', 'reference', 'delta_auc'])
        .where('run_id', '=', 1)
        .where('task', 'is', null)
        .orderBy('reference')
        .execute();
      expect(macro).toEqual([
        { model: 'mtl', reference: 'lr', delta_auc: 0.025 },
        { model: 'mtl', reference: 'stl', delta_auc: 0.15 },
      ]);
    });

    it('takes model names outside the four families now', async () => {
      await backend.transaction((s) =>
        s.query(
          `INSERT INTO mhmtl.task_reports (run_id, model, kind, task, split, fold, auxiliary, n, positives, negatives,
             auc, bootstrap_used, bootstrap_skipped) VALUES (1, 'mtl_wide', 'mtl', 'anxiety', 'test', 0, false, 80, 20, 60, 0.91, 0, 0)`,
        ),
      );
      const back = await readRunReport(backend, 1);
      expect(back.models.map((m) => m.name)).toEqual(['mtl', 'mtl_no_aux', 'mtl_wide', 'stl', 'lr']);
    });
  });
}
