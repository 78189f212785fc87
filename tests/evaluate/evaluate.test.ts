import { describe, expect, it } from 'vitest';
import { evaluateRun } from '../../src/evaluate/evaluate.js';
import { deltaM, maxF1Threshold, rocAuc, scoreGroups } from '../../src/evaluate/metrics.js';
import { SPLIT_DEV, SPLIT_TEST } from '../../src/evaluate/splits.js';
import { syntheticRun } from './fixture.js';

function columnOf(matrix: Float32Array, t: number, j: number, rows: number[]): number[] {
  return rows.map((u) => matrix[u * t + j]!);
}

describe('evaluateRun, holdout', () => {
  const input = syntheticRun(600, 3);
  const ev = evaluateRun(input, { seed: 3, bootstrapResamples: 200 });
  const split = (input.design as { split: Int8Array }).split;
  const rows = (code: number) => [...split.keys()].filter((u) => split[u] === code);
  const t = input.tasks.length;

  it('reports every model x task on test and dev', () => {
    expect(ev.models).toEqual(['mtl', 'mtl_no_aux', 'stl', 'lr']);
    expect(ev.reports.length).toBe(4 * 5 * 2);
    expect(ev.curves.length).toBe(4 * 4 * 2); // none_positive has no curve
  });

  it('computes test AUC on the test units and the threshold by max F1 on dev', () => {
    const r = ev.reports.find((x) => x.model === 'stl' && x.task === 'ptsd' && x.split === 'test')!;
    const test = rows(SPLIT_TEST);
    const dev = rows(SPLIT_DEV);
    expect(r.auc).toBeCloseTo(
      rocAuc(columnOf(input.scores.stl!, t, 2, test), columnOf(input.y, t, 2, test))!,
      12,
    );
    const devBest = maxF1Threshold(
      scoreGroups(columnOf(input.scores.stl!, t, 2, dev), columnOf(input.y, t, 2, dev)),
    )!;
    expect(r.threshold).toBe(devBest.threshold);
    expect(r.aucCiLow!).toBeLessThan(r.auc!);
    expect(r.aucCiHigh!).toBeGreaterThan(r.auc!);
  });

  it('gives single_class tasks NULL metrics and leaves them and auxiliary tasks out of macro averages', () => {
    const none = ev.reports.filter((x) => x.task === 'none_positive');
    expect(
      none.every((x) => x.nullReason === 'single_class' && x.auc === null && x.positives === 0 && x.n > 0),
    ).toBe(true);
    const mtl = ev.summaries.find((s) => s.model === 'mtl' && s.split === 'test')!;
    expect(mtl.tasksAveraged).toBe(3);
    const main = ev.reports.filter(
      (x) => x.model === 'mtl' && x.split === 'test' && x.auc !== null && !x.auxiliary,
    );
    expect(main.map((x) => x.task).sort()).toEqual(['anxiety', 'depression', 'ptsd']);
    expect(mtl.macroAuc).toBeCloseTo(main.reduce((a, x) => a + x.auc!, 0) / 3, 12);
  });

  it('puts MTL - LR and MTL - STL on the MTL rows, and Δm against STL in the summary', () => {
    const get = (m: string, task: string) =>
      ev.reports.find((x) => x.model === m && x.task === task && x.split === 'test')!;
    for (const task of ['anxiety', 'gender']) {
      expect(get('mtl', task).deltaAucLr).toBeCloseTo(get('mtl', task).auc! - get('lr', task).auc!, 12);
      expect(get('mtl_no_aux', task).deltaAucStl).toBeCloseTo(
        get('mtl_no_aux', task).auc! - get('stl', task).auc!,
        12,
      );
      expect(get('lr', task).deltaAucLr).toBeNull();
    }
    const tasks = ['anxiety', 'depression', 'ptsd', 'none_positive'];
    const expected = deltaM(
      tasks.map((x) => get('mtl', x).auc),
      tasks.map((x) => get('stl', x).auc),
    );
    const s = ev.summaries.find((x) => x.model === 'mtl' && x.split === 'test')!;
    expect(s.deltaM).toBeCloseTo(expected!, 12);
    expect(s.deltaM).not.toBeNull();
    expect(ev.summaries.find((x) => x.model === 'stl' && x.split === 'test')!.deltaM).toBeNull();
  });

  it('gives no report where a model does not predict a task (an all-NaN column)', () => {
    const noAux = Float32Array.from(input.scores.mtl_no_aux!);
    for (let u = 0; u < input.unitIds.length; u++) noAux[u * t + 3] = Number.NaN; // gender
    const e = evaluateRun(
      { ...input, scores: { ...input.scores, mtl_no_aux: noAux } },
      { seed: 3, bootstrapResamples: 50 },
    );
    expect(e.reports.filter((x) => x.model === 'mtl_no_aux').map((x) => x.task)).not.toContain('gender');
    expect(e.reports.filter((x) => x.model === 'mtl').map((x) => x.task)).toContain('gender');
    expect(e.summaries.find((x) => x.model === 'mtl_no_aux' && x.split === 'test')!.tasksAveraged).toBe(3);
  });

  it('is deterministic', () => {
    expect(evaluateRun(input, { seed: 3, bootstrapResamples: 200 })).toEqual(ev);
  });

  it('refuses scores of the wrong shape', () => {
    expect(() => evaluateRun({ ...input, scores: { mtl: new Float32Array(3) } }, { seed: 1 })).toThrow(
      /scores of mtl/,
    );
  });
});

describe('evaluateRun, cross-validation', () => {
  const input = syntheticRun(400, 5, 'cv');
  const ev = evaluateRun(input, { seed: 5, bootstrapResamples: 100 });

  it('reports each fold and the pooled out-of-fold result', () => {
    expect(ev.design).toBe('cv');
    expect(ev.folds).toBe(4);
    const anx = ev.reports.filter((x) => x.model === 'mtl' && x.task === 'anxiety');
    expect(anx.map((x) => x.fold).sort()).toEqual([0, 1, 2, 3, 4]);
    const pooled = anx.find((x) => x.fold === 0)!;
    const t = input.tasks.length;
    const all = [...Array(400).keys()];
    expect(pooled.auc).toBeCloseTo(
      rocAuc(columnOf(input.scores.mtl!, t, 0, all), columnOf(input.y, t, 0, all))!,
      12,
    );
    expect(pooled.threshold).toBeNull();
    expect(pooled.f1).toBeGreaterThan(0);
    expect(anx.filter((x) => x.fold > 0).reduce((a, x) => a + x.n, 0)).toBe(pooled.n);
    expect(
      ev.summaries
        .filter((s) => s.model === 'mtl')
        .map((s) => s.fold)
        .sort(),
    ).toEqual([0, 1, 2, 3, 4]);
  });
});
