import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import { type EvaluationInput, evaluateRepeats } from '../../src/evaluate/evaluate.js';
import { SeededRandom } from '../../src/evaluate/random.js';
import { addCalibrationAndSubgroups } from '../../src/evaluate/sections.js';
import {
  calibrationRows,
  subgroupAucGaps,
  subgroupGapRows,
  subgroupRows,
} from '../../src/evaluate/section-rows.js';
import { readRunReport, writeRunEvaluation } from '../../src/evaluate/store.js';
import { type SubgroupAttribute, subgroupReports } from '../../src/evaluate/subgroups.js';
import { SPLIT_DEV, SPLIT_TEST, SPLIT_TRAIN } from '../../src/evaluate/splits.js';
import { type BackendContext, describeBackends } from '../helpers/databases.js';

/**
 * A cohort where the model is built to fail on one subgroup: for gender '1' the score follows the
 * depression label (AUC near 1), for gender '0' it is noise (AUC near 0.5); one unit in ten has no
 * gender ('unknown'). Two models: 'mtl' as described, 'lr' good on both genders.
 */
function genderCohort(units: number, seed: number): { input: EvaluationInput; gender: SubgroupAttribute } {
  const rng = new SeededRandom(seed);
  const t = 2; // depression (main), anxiety (main)
  const y = new Float32Array(units * t);
  const mtl = new Float32Array(units * t);
  const lr = new Float32Array(units * t);
  const split = new Int8Array(units);
  const values: (string | null)[] = [];
  for (let u = 0; u < units; u++) {
    const g = u % 10 === 9 ? null : u % 2 === 0 ? '1' : '0';
    values.push(g);
    split[u] = u % 3 === 0 ? SPLIT_TEST : u % 3 === 1 ? SPLIT_DEV : SPLIT_TRAIN;
    for (let j = 0; j < t; j++) {
      const label = rng.next() < 0.4 ? 1 : 0;
      y[u * t + j] = label;
      const noise = rng.next();
      mtl[u * t + j] = g === '1' ? 0.1 + 0.6 * label + 0.2 * noise : noise;
      lr[u * t + j] = 0.2 + 0.4 * label + 0.3 * rng.next();
    }
  }
  return {
    input: {
      tasks: [
        { name: 'depression', auxiliary: false },
        { name: 'anxiety', auxiliary: false },
      ],
      unitIds: Array.from({ length: units }, (_, u) => `u${u}`),
      y,
      design: { kind: 'holdout', split },
      models: [
        { name: 'mtl', kind: 'mtl', auxiliary: [] },
        { name: 'lr', kind: 'lr', auxiliary: [] },
      ],
      scores: { mtl, lr },
    },
    gender: { name: 'gender', values },
  };
}

function evaluated(units = 600) {
  const { input, gender } = genderCohort(units, 17);
  const evaluation = evaluateRepeats([input], { seeds: [17], bootstrapResamples: 50, calibrationBins: 5 });
  const notes = addCalibrationAndSubgroups(evaluation, [input], {
    seeds: [17],
    calibration: 'platt',
    subgroups: [gender],
  });
  return { input, gender, evaluation, notes };
}

describe('metrics per subgroup', () => {
  const { input, gender, evaluation, notes } = evaluated();
  const test = Array.from(input.unitIds.keys()).filter(
    (u) => (input.design as { split: Int8Array }).split[u] === SPLIT_TEST,
  );
  const rows = evaluation.subgroupReports!;

  it('the model built to fail on gender 0 has AUC near 1 for gender 1 and near 0.5 for gender 0', () => {
    const auc = (model: string, value: string) =>
      rows.find((r) => r.model === model && r.task === 'depression' && r.subgroupValue === value)!.auc!;
    expect(auc('mtl', '1')).toBe(1);
    expect(Math.abs(auc('mtl', '0') - 0.5)).toBeLessThan(0.15);
    expect(Math.abs(auc('lr', '1') - auc('lr', '0'))).toBeLessThan(0.1);
    expect(notes).toEqual([]);
  });

  it('counts every test unit once per model and task, the ones without gender under unknown', () => {
    const mtlDep = rows.filter((r) => r.model === 'mtl' && r.task === 'depression');
    expect(mtlDep.map((r) => r.subgroupValue)).toEqual(['0', '1', 'unknown']);
    expect(mtlDep.reduce((a, r) => a + r.n, 0)).toBe(test.length);
    expect(mtlDep.find((r) => r.subgroupValue === 'unknown')!.n).toBe(
      test.filter((u) => gender.values[u] === null).length,
    );
    const whole = evaluation.reports.find(
      (r) => r.model === 'mtl' && r.task === 'depression' && r.split === 'test',
    )!;
    expect(mtlDep.reduce((a, r) => a + r.positives, 0)).toBe(whole.positives);
    // precision / recall / F1 at the whole population's dev-chosen threshold
    expect(mtlDep.every((r) => r.threshold === whole.threshold)).toBe(true);
    expect(rows).toHaveLength(2 * 2 * 3);
    expect(rows.every((r) => r.split === 'test' && r.fold === 0 && r.subgroup === 'gender')).toBe(true);
  });

  it('the largest AUC gap names the failing value; unknown is not a value compared', () => {
    const gaps = subgroupAucGaps(
      rows.map((r) => ({
        model: r.model,
        task: r.task,
        repeat: r.repeat,
        subgroup: r.subgroup!,
        value: r.subgroupValue!,
        n: r.n,
        positives: r.positives,
        auc: r.auc,
        averagePrecision: r.averagePrecision,
        brier: r.brier,
      })),
    );
    const mtl = gaps.find((g) => g.model === 'mtl' && g.task === 'depression')!;
    expect(mtl).toMatchObject({ valuesCompared: 2, valueHighest: '1', valueLowest: '0', aucHighest: 1 });
    expect(mtl.aucGap).toBeGreaterThan(0.35);
    expect(gaps.find((g) => g.model === 'lr' && g.task === 'depression')!.aucGap).toBeLessThan(0.1);
  });

  it("skips the attribute's own task and refuses values that do not match the units", () => {
    const asTask = subgroupReports(
      input,
      [{ name: 'depression', values: gender.values }],
      evaluation.reports,
      {
        seed: 1,
        repeat: 0,
        bootstrapResamples: 10,
      },
    );
    expect(new Set(asTask.map((r) => r.task))).toEqual(new Set(['anxiety']));
    expect(() =>
      subgroupReports(input, [{ name: 'gender', values: ['1'] }], evaluation.reports, { seed: 1, repeat: 0 }),
    ).toThrow(/gender has 1 values, expected 600/);
  });
});

async function insertRun(backend: Backend): Promise<number> {
  const rows = await backend.transaction((s) =>
    s.query<{ run_id: number }>(
      `INSERT INTO mhmtl.runs (pipeline, config, status, seed, code_version, backend, finished_at)
       VALUES ('subgroups', '{}', 'succeeded', 1, 'test', 'test', now()) RETURNING run_id`,
    ),
  );
  return Number(rows[0]!.run_id);
}

describeBackends('calibration bins and subgroup reports in the database', (ctx: BackendContext) => {
  const { input, evaluation } = evaluated();
  const q = <R>(sql: string, params: unknown[] = []) =>
    ctx.backend.transaction((s) => s.query<R>(sql, params));

  it('stores subgroup rows beside the whole population; every view and the report read the whole population as before', async () => {
    const runId = await insertRun(ctx.backend);
    const counts = await writeRunEvaluation(ctx.backend, runId, input, evaluation, { predictions: false });
    expect(counts.taskReports).toBe(evaluation.reports.length + evaluation.subgroupReports!.length);
    const whole = evaluation.reports.length; // 2 models x 2 tasks x (test, dev)
    expect(whole).toBe(8);
    const n = async (sql: string) => (await q<{ n: number }>(sql, [runId]))[0]!.n;
    expect(
      await n(`SELECT count(*)::int AS n FROM mhmtl.task_reports WHERE run_id = $1 AND subgroup = ''`),
    ).toBe(8);
    expect(await n(`SELECT count(*)::int AS n FROM mhmtl.latest_task_reports WHERE run_id = $1`)).toBe(4);
    expect(await n(`SELECT count(*)::int AS n FROM mhmtl.task_report_history WHERE run_id = $1`)).toBe(4);
    // one comparison per main task (mtl - lr): one row each, not one per subgroup value
    expect(await n(`SELECT count(*)::int AS n FROM mhmtl.mtl_vs_baselines WHERE run_id = $1`)).toBe(2);
    const back = await readRunReport(ctx.backend, runId);
    expect(back.reports).toHaveLength(8);
    expect(back.reports.every((r) => r.ece !== null && r.ece !== undefined)).toBe(true);
    expect(back.subgroups).toHaveLength(12);
    expect(
      back.subgroups!.find((s) => s.model === 'mtl' && s.task === 'depression' && s.value === '1'),
    ).toMatchObject({ subgroup: 'gender', auc: 1 });
    expect(subgroupRows(back).map((r) => r.value)).toEqual(Array(4).fill(['0', '1', 'unknown']).flat());
  });

  it('the subgroup_auc_gaps view gives the gaps the report computes', async () => {
    const runId = Number(
      (await q<{ run_id: number }>('SELECT max(run_id) AS run_id FROM mhmtl.runs'))[0]!.run_id,
    );
    const view = await q<Record<string, unknown>>(
      `SELECT repeat, model, task, subgroup, values_compared, auc_gap, value_highest, auc_highest, value_lowest, auc_lowest
       FROM mhmtl.subgroup_auc_gaps WHERE run_id = $1 ORDER BY task, model`,
      [runId],
    );
    const back = await readRunReport(ctx.backend, runId);
    const rows = subgroupGapRows(back).sort(
      (a, b) =>
        String(a.task).localeCompare(String(b.task)) || String(a.model).localeCompare(String(b.model)),
    );
    expect(view).toHaveLength(4);
    expect(view.map((v) => ({ ...v, auc_gap: expect.closeTo(v.auc_gap as number, 12) }))).toEqual(rows);
    expect(view.find((v) => v.model === 'mtl' && v.task === 'depression')).toMatchObject({
      value_lowest: '0',
      value_highest: '1',
    });
  });

  it('stores the reliability curves: raw ECE equals task_reports.ece, Platt beside it', async () => {
    const runId = Number(
      (await q<{ run_id: number }>('SELECT max(run_id) AS run_id FROM mhmtl.runs'))[0]!.run_id,
    );
    const errors = await q<{
      model: string;
      task: string;
      method: string;
      bins: number;
      n: number;
      ece: number;
    }>(
      `SELECT model, task, method, bins, n, ece FROM mhmtl.calibration_errors WHERE run_id = $1 ORDER BY model, task, method`,
      [runId],
    );
    expect(errors.map((e) => e.method)).toEqual([
      'platt',
      'raw',
      'platt',
      'raw',
      'platt',
      'raw',
      'platt',
      'raw',
    ]);
    expect(errors.every((e) => e.bins === 5)).toBe(true);
    const reports = await q<{ model: string; task: string; n: number; ece: number }>(
      `SELECT model, task, n, ece FROM mhmtl.task_reports WHERE run_id = $1 AND split = 'test' AND subgroup = ''`,
      [runId],
    );
    for (const r of reports) {
      const raw = errors.find((e) => e.model === r.model && e.task === r.task && e.method === 'raw')!;
      expect(raw.n).toBe(r.n);
      expect(raw.ece).toBeCloseTo(r.ece, 12);
    }
    const back = await readRunReport(ctx.backend, runId);
    expect(back.calibration).toHaveLength(8);
    expect(back.calibration![0]).toMatchObject({ method: 'raw', repeat: 0 });
    expect(back.calibration!.every((c) => c.bins.length === 5 && c.ece !== null)).toBe(true);
    expect(calibrationRows(back)).toHaveLength(8 * 5);
  });

  it('a run without them reads back without the sections', async () => {
    const plain = evaluateRepeats([input], { seeds: [3], bootstrapResamples: 20 });
    const runId = await insertRun(ctx.backend);
    await writeRunEvaluation(ctx.backend, runId, input, plain, { predictions: false });
    const back = await readRunReport(ctx.backend, runId);
    expect(back.calibration).toBeUndefined();
    expect(back.subgroups).toBeUndefined();
    expect(back.reports).toHaveLength(8);
  });
});
