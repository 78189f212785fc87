import { expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import { evaluateRun } from '../../src/evaluate/evaluate.js';
import { findReportRun, readRunReport, writeRunEvaluation } from '../../src/evaluate/store.js';
import { type BackendContext, describeBackends } from '../helpers/databases.js';
import { syntheticRun } from './fixture.js';

async function insertRun(backend: Backend, pipeline: string, status = 'succeeded'): Promise<number> {
  const rows = await backend.transaction((s) =>
    s.query<{ run_id: number }>(
      `INSERT INTO mhmtl.runs (pipeline, config, status, seed, code_version, backend, stage_durations, finished_at)
       VALUES ($1, '{}', $2, 1, 'test', 'pglite', '{"features": 1.5, "train": 12.25}', now()) RETURNING run_id`,
      [pipeline, status],
    ),
  );
  return Number(rows[0]!.run_id);
}

async function count(backend: Backend, table: string, runId: number): Promise<number> {
  const r = await backend.transaction((s) =>
    s.query<{ n: number }>(`SELECT count(*)::int AS n FROM mhmtl.${table} WHERE run_id = $1`, [runId]),
  );
  return r[0]!.n;
}

describeBackends('evaluation store', (ctx: BackendContext) => {
  const input = syntheticRun(300, 9);
  const evaluation = evaluateRun(input, { seed: 9, bootstrapResamples: 100 });
  const history = [
    { model: 'mtl', epoch: 1, task: null, loss: 0.7, devLoss: 0.69, devAuc: 0.6 },
    { model: 'mtl', epoch: 1, task: 'anxiety', loss: 0.6, devAuc: 0.62 },
    { model: 'stl:anxiety', epoch: 1, task: 'anxiety', loss: 0.65 },
  ];

  it('writes a run evaluation and reads it back, also through the views', async () => {
    const runId = await insertRun(ctx.backend, 'synthetic');
    const counts = await writeRunEvaluation(ctx.backend, runId, input, evaluation, { history });
    expect(counts.taskReports).toBe(evaluation.reports.length);
    expect(counts.predictions).toBe(300 * 5 * 4);
    expect(counts.splits).toBe(300);
    expect(counts.history).toBe(3);
    expect(await count(ctx.backend, 'roc_points', runId)).toBe(
      evaluation.curves.reduce((a, c) => a + c.curve.fpr.length, 0),
    );

    const back = await readRunReport(ctx.backend, runId);
    expect(back.run).toMatchObject({
      runId,
      pipeline: 'synthetic',
      stageDurations: { features: 1.5, train: 12.25 },
    });
    expect(back.reports.length).toBe(evaluation.reports.length);
    const original = evaluation.reports.find(
      (r) => r.model === 'mtl' && r.task === 'ptsd' && r.split === 'test',
    )!;
    const stored = back.reports.find((r) => r.model === 'mtl' && r.task === 'ptsd' && r.split === 'test')!;
    expect(stored).toEqual(original);
    expect(back.summaries).toEqual(evaluation.summaries);
    const curve = back.curves.find((c) => c.model === 'lr' && c.task === 'anxiety' && c.split === 'test')!;
    expect(curve.curve).toEqual(
      evaluation.curves.find((c) => c.model === 'lr' && c.task === 'anxiety' && c.split === 'test')!.curve,
    );
    expect(curve.curve.thresholds[0]).toBe(Number.POSITIVE_INFINITY);
    expect(back.units.map((u) => u.units).reduce((a, b) => a + b, 0)).toBe(300);
    expect(await findReportRun(ctx.backend)).toBe(runId);
    expect(await findReportRun(ctx.backend, { pipeline: 'synthetic' })).toBe(runId);

    const latest = await ctx.backend.db
      .selectFrom('mhmtl.latest_task_reports')
      .selectAll()
      .where('pipeline', '=', 'synthetic')
      .execute();
    expect(latest.length).toBe(4 * 5);
    const anx = latest.find((r) => r.model === 'mtl' && r.task === 'anxiety')!;
    const anxOriginal = evaluation.reports.find(
      (r) => r.model === 'mtl' && r.task === 'anxiety' && r.split === 'test',
    )!;
    expect(anx.auc).toBe(anxOriginal.auc);
    expect(anx.tpr_at_fpr_10).toBe(anxOriginal.tprAtFpr!['0.1']);
    const side = await ctx.backend.db
      .selectFrom('mhmtl.mtl_vs_baselines')
      .selectAll()
      .where('run_id', '=', runId)
      .where('split', '=', 'test')
      .where('model', '=', 'mtl')
      .orderBy('reference')
      .orderBy('task')
      .execute();
    // Main tasks only (gender is auxiliary), against lr, mtl_no_aux and stl.
    expect(side.map((r) => `${r.reference} ${r.task}`)).toEqual(
      ['lr', 'mtl_no_aux', 'stl'].flatMap((ref) =>
        ['anxiety', 'depression', 'none_positive', 'ptsd'].map((t) => `${ref} ${t}`),
      ),
    );
    for (const r of side.filter((x) => x.task !== 'none_positive')) {
      expect(r.delta_auc).toBeCloseTo(r.auc_model! - r.auc_reference!, 12);
      expect(r.method).toBe('delong');
      expect(r.model_kind).toBe('mtl');
    }
    const anxLr = side.find((r) => r.reference === 'lr' && r.task === 'anxiety')!;
    expect(anxLr.delta_auc).toBeCloseTo(anxOriginal.deltaAucLr!, 12);
    expect(anxLr.reference_kind).toBe('lr');
    expect(side.find((r) => r.task === 'none_positive')).toMatchObject({
      auc_model: null,
      delta_auc: null,
      null_reason: 'single_class',
    });
    expect(back.comparisons).toEqual(
      expect.arrayContaining(evaluation.comparisons.map((c) => expect.objectContaining({ ...c }))),
    );
    expect(back.comparisons.length).toBe(evaluation.comparisons.length);
    const hist = await ctx.backend.db
      .selectFrom('mhmtl.task_report_history')
      .select('run_id')
      .distinct()
      .execute();
    expect(hist.map((h) => h.run_id)).toContain(runId);
  });

  it('shows a newer succeeded run as the latest, and ignores failed runs', async () => {
    const newer = await insertRun(ctx.backend, 'synthetic');
    await writeRunEvaluation(ctx.backend, newer, input, evaluation, { predictions: false });
    const failed = await insertRun(ctx.backend, 'synthetic', 'failed');
    await writeRunEvaluation(ctx.backend, failed, input, evaluation, { predictions: false });
    const latest = await ctx.backend.db
      .selectFrom('mhmtl.latest_task_reports')
      .select('run_id')
      .distinct()
      .execute();
    expect(latest).toEqual([{ run_id: newer }]);
    expect(await findReportRun(ctx.backend)).toBe(newer);
    expect(await count(ctx.backend, 'predictions', newer)).toBe(0);
  });

  it('writes in one transaction: a failure mid-write leaves nothing', async () => {
    const runId = await insertRun(ctx.backend, 'atomic');
    // The duplicate history row fails after reports, curves, predictions and splits were written.
    const bad = [...history, history[0]!];
    await expect(
      writeRunEvaluation(ctx.backend, runId, input, evaluation, { history: bad }),
    ).rejects.toMatchObject({
      code: '23505',
    });
    for (const table of [
      'task_reports',
      'roc_points',
      'model_summaries',
      'model_comparisons',
      'predictions',
      'splits',
      'training_history',
    ]) {
      expect(await count(ctx.backend, table, runId), table).toBe(0);
    }
  });

  it('writes inside a caller transaction (session) that can roll back', async () => {
    const runId = await insertRun(ctx.backend, 'session');
    await expect(
      ctx.backend.transaction(async (session) => {
        await writeRunEvaluation(session, runId, input, evaluation, { predictions: false });
        expect(
          (
            await session.query<{ n: number }>(
              'SELECT count(*)::int AS n FROM mhmtl.task_reports WHERE run_id = $1',
              [runId],
            )
          )[0]!.n,
        ).toBe(evaluation.reports.length);
        throw new Error('stage failed later');
      }),
    ).rejects.toThrow('stage failed later');
    expect(await count(ctx.backend, 'task_reports', runId)).toBe(0);
  });

  it('lets mhmtl_reader read reports and views but not text, labels, predictions or weights', async () => {
    const asReader = (query: string) =>
      ctx.backend
        .transaction(async (s) => {
          await s.query('SET LOCAL ROLE mhmtl_reader');
          return s.query(query);
        })
        .then(
          (rows) => ({ ok: true, rows: rows.length }),
          (e: { code?: string }) => ({ ok: false, code: e.code }),
        );
    for (const q of [
      'SELECT * FROM mhmtl.latest_task_reports',
      'SELECT * FROM mhmtl.mtl_vs_baselines',
      'SELECT * FROM mhmtl.task_report_history',
      'SELECT * FROM mhmtl.task_reports',
      'SELECT * FROM mhmtl.roc_points',
      'SELECT run_id, pipeline, status, stage_durations FROM mhmtl.runs',
      'SELECT * FROM mhmtl.run_metadata',
      'SELECT run_id, model, family, history FROM mhmtl.models',
      'SELECT * FROM mhmtl.training_history',
      'SELECT * FROM mhmtl.model_comparisons',
      'SELECT run_id, model, kind FROM mhmtl.models',
    ]) {
      expect(await asReader(q), q).toMatchObject({ ok: true });
    }
    for (const q of [
      'SELECT text FROM mhmtl.posts',
      'SELECT * FROM mhmtl.post_tokens',
      'SELECT * FROM mhmtl.pseudonym_key',
      'SELECT raw FROM mhmtl.quarantine',
      'SELECT * FROM mhmtl.labels',
      'SELECT * FROM mhmtl.predictions',
      'SELECT * FROM mhmtl.splits',
      'SELECT state FROM mhmtl.feature_spaces',
      'SELECT weights FROM mhmtl.models',
      'SELECT * FROM mhmtl.models',
      'SELECT * FROM mhmtl.runs',
      'SELECT config FROM mhmtl.runs',
      'SELECT error FROM mhmtl.runs',
    ]) {
      expect(await asReader(q), q).toEqual({ ok: false, code: '42501' });
    }
  });

  it('documents every evaluation table and view with COMMENT ON', async () => {
    const rows = await ctx.backend.transaction((s) =>
      s.query<{ name: string; comment: string | null }>(
        `SELECT c.relname AS name, obj_description(c.oid, 'pg_class') AS comment
         FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = 'mhmtl' AND c.relname = ANY($1) ORDER BY c.relname`,
        [
          [
            'task_reports',
            'roc_points',
            'predictions',
            'splits',
            'training_history',
            'model_summaries',
            'model_comparisons',
            'latest_task_reports',
            'task_report_history',
            'mtl_vs_baselines',
          ],
        ],
      ),
    );
    expect(rows.length).toBe(10);
    for (const r of rows) expect(r.comment?.length ?? 0, r.name).toBeGreaterThan(40);
  });
});
