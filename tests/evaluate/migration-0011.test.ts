import { type Kysely, sql } from 'kysely';
import { Migrator } from 'kysely/migration';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { migrations } from '../../src/db/migrations/index.js';
import { openBackend } from '../../src/db/open.js';
import { readRunReport } from '../../src/evaluate/store.js';
import { createTestDatabase, type TestDatabase, testBackendNames } from '../helpers/databases.js';

// A database with reports stored before migration 0011 migrates: its rows become the whole
// population (subgroup ''), ece NULL, and the views return the same rows after subgroup rows arrive.
for (const name of testBackendNames()) {
  describe(`migration 0011 on a database with stored reports [${name}]`, () => {
    let database: TestDatabase;
    let backend: Backend;
    const q = <R>(text: string, params: unknown[] = []) =>
      backend.transaction((s) => s.query<R>(text, params));
    beforeAll(async () => {
      database = await createTestDatabase(name, { memory: true });
      backend = await openBackend(database.config, { migrate: false });
      const db = backend.db as unknown as Kysely<unknown>;
      await sql`CREATE SCHEMA IF NOT EXISTS mhmtl`.execute(db);
      const result = await new Migrator({
        db,
        provider: {
          getMigrations: async () =>
            Object.fromEntries(Object.entries(migrations).filter(([k]) => k < '0011')),
        },
        migrationTableSchema: 'mhmtl',
        migrationTableName: 'schema_migrations',
        migrationLockTableName: 'schema_migrations_lock',
      }).migrateToLatest();
      expect(result.error).toBeUndefined();
      await q(
        `INSERT INTO mhmtl.runs (run_id, pipeline, config, status, seed, code_version, backend, finished_at)
         VALUES (1, 'old', '{}', 'succeeded', 42, '0.1.0', 'pglite', now())`,
      );
      await q(
        `INSERT INTO mhmtl.task_reports (run_id, model, kind, task, split, fold, auxiliary, n, positives, negatives, auc,
           bootstrap_used, bootstrap_skipped)
         VALUES (1, 'mtl', 'mtl', 'anxiety', 'test', 0, false, 80, 20, 60, 0.9, 0, 0),
                (1, 'lr', 'lr', 'anxiety', 'test', 0, false, 80, 20, 60, 0.85, 0, 0)`,
      );
      await q(
        `INSERT INTO mhmtl.model_comparisons (run_id, repeat, fold, split, model, reference, task, delta_auc, method)
         VALUES (1, 0, 0, 'test', 'mtl', 'lr', 'anxiety', 0.05, 'difference')`,
      );
      expect(await migrateToLatest(backend.db)).toContain('0011_calibration_subgroups');
    });
    afterAll(async () => {
      await backend?.close();
      await database?.cleanup();
    });

    it('stored rows are the whole population, without an ECE', async () => {
      const rows = await q<{ model: string; subgroup: string; subgroup_value: string; ece: number | null }>(
        `SELECT model, subgroup, subgroup_value, ece FROM mhmtl.task_reports ORDER BY model`,
      );
      expect(rows).toEqual([
        { model: 'lr', subgroup: '', subgroup_value: '', ece: null },
        { model: 'mtl', subgroup: '', subgroup_value: '', ece: null },
      ]);
      const report = await readRunReport(backend, 1);
      expect(report.reports.map((r) => [r.model, r.auc, r.ece])).toEqual([
        ['mtl', 0.9, null],
        ['lr', 0.85, null],
      ]);
      expect(report.subgroups).toBeUndefined();
      expect(report.calibration).toBeUndefined();
    });

    it('after subgroup rows arrive, the views return the rows they returned before', async () => {
      const views = async () => ({
        latest: await q<{ model: string }>(`SELECT model, auc FROM mhmtl.latest_task_reports ORDER BY model`),
        history: await q<{ model: string }>(
          `SELECT model, auc FROM mhmtl.task_report_history ORDER BY model`,
        ),
        versus: await q<{ model: string }>(
          `SELECT model, reference, auc_model, auc_reference FROM mhmtl.mtl_vs_baselines ORDER BY model`,
        ),
      });
      const before = await views();
      expect(before.latest).toHaveLength(2);
      expect(before.versus).toEqual([{ model: 'mtl', reference: 'lr', auc_model: 0.9, auc_reference: 0.85 }]);
      await q(
        `INSERT INTO mhmtl.task_reports (run_id, model, kind, task, split, fold, auxiliary, n, positives, negatives, auc,
           bootstrap_used, bootstrap_skipped, subgroup, subgroup_value)
         SELECT 1, m, m, 'anxiety', 'test', 0, false, 40, 10, 30, a, 0, 0, 'gender', v
         FROM (VALUES ('mtl', 0.99, '1'), ('mtl', 0.7, '0'), ('lr', 0.86, '1'), ('lr', 0.84, '0')) AS x(m, a, v)`,
      );
      expect(await views()).toEqual(before);
      // a tie (depression: both genders 0.8) names two different values
      await q(
        `INSERT INTO mhmtl.task_reports (run_id, model, kind, task, split, fold, auxiliary, n, positives, negatives, auc,
           bootstrap_used, bootstrap_skipped, subgroup, subgroup_value)
         SELECT 1, 'lr', 'lr', 'depression', 'test', 0, false, 40, 10, 30, 0.8, 0, 0, 'gender', v
         FROM (VALUES ('1'), ('0'), ('unknown')) AS x(v)`,
      );
      const gaps = await q<{
        model: string;
        task: string;
        auc_gap: number;
        value_highest: string;
        value_lowest: string;
      }>(
        `SELECT model, task, auc_gap, value_highest, value_lowest FROM mhmtl.subgroup_auc_gaps ORDER BY model, task`,
      );
      expect(gaps).toEqual([
        {
          model: 'lr',
          task: 'anxiety',
          auc_gap: expect.closeTo(0.02, 12),
          value_highest: '1',
          value_lowest: '0',
        },
        { model: 'lr', task: 'depression', auc_gap: 0, value_highest: '0', value_lowest: '1' },
        {
          model: 'mtl',
          task: 'anxiety',
          auc_gap: expect.closeTo(0.29, 12),
          value_highest: '1',
          value_lowest: '0',
        },
      ]);
    });

    it('a subgroup row needs its value, and the whole population has none', async () => {
      await expect(
        q(
          `INSERT INTO mhmtl.task_reports (run_id, model, kind, task, split, fold, auxiliary, n, positives, negatives,
             bootstrap_used, bootstrap_skipped, null_reason, subgroup, subgroup_value)
           VALUES (1, 'mtl', 'mtl', 'depression', 'test', 0, false, 0, 0, 0, 0, 0, 'no_labels', 'gender', '')`,
        ),
      ).rejects.toThrow(/task_reports_subgroup_check/);
    });
  });
}
