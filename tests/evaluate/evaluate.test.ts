import { describe, expect, it } from 'vitest';
import { correctedResampledTTest, delongTest, holmAdjust } from '../../src/evaluate/compare.js';
import { evaluateRepeats, evaluateRun } from '../../src/evaluate/evaluate.js';
import { deltaM, maxF1Threshold, rocAuc, scoreGroups } from '../../src/evaluate/metrics.js';
import { spread, summarizeRepeats } from '../../src/evaluate/repeats.js';
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
    expect(ev.models.map((m) => m.name)).toEqual(['mtl', 'mtl_no_aux', 'stl', 'lr']);
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

  it('puts MTL - LR and MTL - STL on the main-task MTL test rows, from the comparisons, and Δm against STL', () => {
    const get = (m: string, task: string) =>
      ev.reports.find((x) => x.model === m && x.task === task && x.split === 'test')!;
    expect(get('mtl', 'anxiety').deltaAucLr).toBeCloseTo(
      get('mtl', 'anxiety').auc! - get('lr', 'anxiety').auc!,
      12,
    );
    expect(get('mtl_no_aux', 'anxiety').deltaAucStl).toBeCloseTo(
      get('mtl_no_aux', 'anxiety').auc! - get('stl', 'anxiety').auc!,
      12,
    );
    expect(get('lr', 'anxiety').deltaAucLr).toBeNull();
    expect(get('mtl', 'gender').deltaAucLr).toBeNull(); // auxiliary: not compared
    const tasks = ['anxiety', 'depression', 'ptsd', 'none_positive'];
    const usable = (r: { auc: number | null; lowSupport: boolean }) => (r.lowSupport ? null : r.auc);
    const expected = deltaM(
      tasks.map((x) => usable(get('mtl', x))),
      tasks.map((x) => usable(get('stl', x))),
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
    expect(() =>
      evaluateRun({ ...input, scores: { ...input.scores, mtl: new Float32Array(3) } }, { seed: 1 }),
    ).toThrow(/scores of mtl/);
    expect(() => evaluateRun(input, { seed: 1, comparisons: [['mtl', 'svm']] })).toThrow(/svm/);
  });
});

describe('evaluateRun, low support', () => {
  const input = syntheticRun(600, 3);
  const ev = evaluateRun(input, { seed: 3, bootstrapResamples: 100, minPositives: 20 });
  const test = ev.reports.filter((r) => r.split === 'test' && r.model === 'mtl');

  it('flags a set with fewer positives or negatives than min_positives, and gives it no interval', () => {
    for (const r of test) {
      expect(r.lowSupport, r.task).toBe(r.n > 0 && (r.positives < 20 || r.negatives < 20));
      if (r.lowSupport && r.auc !== null) {
        expect(r).toMatchObject({ aucCiLow: null, aucCiHigh: null, ciNullReason: 'low_support' });
      }
    }
    expect(test.find((r) => r.task === 'ptsd')!.lowSupport).toBe(true); // 8% of 120 test units
    expect(test.find((r) => r.task === 'anxiety')!.lowSupport).toBe(false);
  });

  it('leaves low-support tasks out of the macro average and says how many', () => {
    const s = ev.summaries.find((x) => x.model === 'mtl' && x.split === 'test')!;
    const kept = test.filter((r) => !r.auxiliary && !r.lowSupport && r.auc !== null);
    expect(s.tasksAveraged).toBe(kept.length);
    expect(s.tasksLowSupport).toBe(test.filter((r) => !r.auxiliary && r.lowSupport && r.auc !== null).length);
    expect(s.tasksLowSupport).toBe(1);
    expect(s.macroAuc).toBeCloseTo(kept.reduce((a, r) => a + r.auc!, 0) / kept.length, 12);
  });

  it('never stores a zero-width interval', () => {
    // Perfect scores on every task: every resample has AUC 1, so the percentile interval is [1, 1].
    const perfect = Float32Array.from(input.y, (v) => (Number.isNaN(v) ? 0.5 : v));
    const e = evaluateRun(
      { ...input, scores: { ...input.scores, mtl: perfect } },
      { seed: 3, bootstrapResamples: 50, minPositives: 1 },
    );
    const r = e.reports.find((x) => x.model === 'mtl' && x.task === 'anxiety' && x.split === 'test')!;
    expect(r).toMatchObject({ auc: 1, aucCiLow: null, aucCiHigh: null, ciNullReason: 'zero_width' });
  });
});

describe('evaluateRun, paired comparisons', () => {
  const input = syntheticRun(600, 3);
  const ev = evaluateRun(input, { seed: 3, bootstrapResamples: 200, minPositives: 10 });
  const split = (input.design as { split: Int8Array }).split;
  const test = [...split.keys()].filter((u) => split[u] === SPLIT_TEST);
  const t = input.tasks.length;

  it('compares each mtl-kind model with lr and stl, and mtl with mtl_no_aux, on the main tasks', () => {
    const pairs = [...new Set(ev.comparisons.map((c) => `${c.model}-${c.reference}`))];
    expect(pairs).toEqual(['mtl-lr', 'mtl-stl', 'mtl-mtl_no_aux', 'mtl_no_aux-lr', 'mtl_no_aux-stl']);
    const tasks = ev.comparisons.filter((c) => c.model === 'mtl' && c.reference === 'lr').map((c) => c.task);
    expect(tasks).toEqual(['anxiety', 'depression', 'ptsd', 'none_positive', null]);
  });

  it("gives DeLong's p-value of the test units, Holm-adjusted across the comparison's tasks", () => {
    const rows = ev.comparisons.filter((c) => c.model === 'mtl' && c.reference === 'stl' && c.task !== null);
    for (const [j, name] of ['anxiety', 'depression'].entries()) {
      const d = delongTest(
        columnOf(input.scores.mtl!, t, j, test),
        columnOf(input.scores.stl!, t, j, test),
        columnOf(input.y, t, j, test),
      )!;
      const row = rows.find((r) => r.task === name)!;
      expect(row.deltaAuc).toBeCloseTo(d.delta, 12);
      expect(row.pValue).toBeCloseTo(d.pValue!, 12);
      expect(row.method).toBe('delong');
      expect(row.ciLow!).toBeLessThan(row.deltaAuc!);
      expect(row.ciHigh!).toBeGreaterThan(row.deltaAuc!);
    }
    const holm = holmAdjust(rows.map((r) => r.pValue));
    rows.forEach((r, k) => {
      expect(r.pHolm).toBe(holm[k]);
    });
    expect(rows.find((r) => r.task === 'none_positive')).toMatchObject({
      deltaAuc: null,
      nullReason: 'single_class',
    });
  });

  it('gives the macro difference over the tasks that are neither low support nor single-class', () => {
    const rows = ev.comparisons.filter((c) => c.model === 'mtl' && c.reference === 'lr');
    const macro = rows.find((r) => r.task === null)!;
    const used = rows.filter((r) => r.task !== null && r.pValue !== null);
    expect(macro.tasksAveraged).toBe(used.length);
    expect(macro.tasksLeftOut).toBe(rows.length - 1 - used.length);
    expect(macro.deltaAuc).toBeCloseTo(used.reduce((a, r) => a + r.deltaAuc!, 0) / used.length, 12);
    expect(macro).toMatchObject({ method: 'paired_bootstrap', pValue: null });
    expect(macro.ciLow!).toBeLessThan(macro.deltaAuc!);
  });

  it('takes the pairs it is given', () => {
    const e = evaluateRun(input, { seed: 3, bootstrapResamples: 20, comparisons: [['lr', 'stl']] });
    expect([...new Set(e.comparisons.map((c) => `${c.model}-${c.reference}`))]).toEqual(['lr-stl']);
    expect(e.reports.find((r) => r.model === 'mtl' && r.split === 'test')!.deltaAucLr).toBeNull();
  });
});

describe('evaluateRepeats', () => {
  const inputs = [syntheticRun(400, 3), syntheticRun(400, 4), syntheticRun(400, 5)];
  const ev = evaluateRepeats(inputs, { seeds: [3, 4, 5], bootstrapResamples: 50 });

  it("stores every repeat's rows with its repeat number", () => {
    expect(ev.repeats).toBe(3);
    for (const r of [0, 1, 2]) {
      const alone = evaluateRun(inputs[r]!, { seed: [3, 4, 5][r]!, repeat: r, bootstrapResamples: 50 });
      expect(ev.reports.filter((x) => x.repeat === r)).toEqual(alone.reports);
      expect(ev.summaries.filter((x) => x.repeat === r)).toEqual(alone.summaries);
    }
  });

  it('tests each difference over the repeats with the corrected resampled t-test', () => {
    const per = ev.comparisons.filter(
      (c) => c.model === 'mtl' && c.reference === 'lr' && c.task === null && c.repeat !== null,
    );
    expect(per.map((c) => c.repeat)).toEqual([0, 1, 2]);
    const across = ev.comparisons.find(
      (c) => c.model === 'mtl' && c.reference === 'lr' && c.task === null && c.repeat === null,
    )!;
    const ratio =
      inputs
        .map((i) => {
          const a = (i.design as { split: Int8Array }).split;
          return a.filter((x) => x === SPLIT_TEST).length / a.filter((x) => x === 0).length;
        })
        .reduce((x, y) => x + y, 0) / 3;
    const nb = correctedResampledTTest(
      per.map((c) => c.deltaAuc!),
      ratio,
    )!;
    expect(across).toMatchObject({ method: 'corrected_resampled_t', resamples: 3, fold: 0 });
    // the macro row says how many tasks each resample's macro averaged (the report printed '?')
    expect(across.tasksAveraged).toBe(per[0]!.tasksAveraged);
    expect(across.tasksAveraged).toBeGreaterThan(0);
    expect(across.deltaAuc).toBeCloseTo(nb.mean, 12);
    expect(across.pValue).toBeCloseTo(nb.pValue!, 12);
    expect(across.ciLow).toBeCloseTo(nb.ciLow!, 12);
  });

  it('summarizes the spread over repeats: mean, sd and range per model and task, and of the macro AUC', () => {
    const rows = summarizeRepeats(ev.reports, ev.summaries);
    const anx = rows.find((r) => r.model === 'mtl' && r.task === 'anxiety')!;
    const aucs = [0, 1, 2].map(
      (r) =>
        ev.reports.find(
          (x) => x.model === 'mtl' && x.task === 'anxiety' && x.split === 'test' && x.repeat === r,
        )!.auc!,
    );
    expect(anx.repeats).toBe(3);
    expect(anx.auc).toEqual(spread(aucs));
    const macro = rows.find((r) => r.model === 'lr' && r.task === null)!;
    expect(macro.auc.mean).toBeCloseTo(
      ev.summaries
        .filter((s) => s.model === 'lr' && s.split === 'test')
        .reduce((a, s) => a + s.macroAuc!, 0) / 3,
      12,
    );
  });
});

describe('spread', () => {
  it('is the mean, sample sd and range of the values that exist', () => {
    // By hand: values 0.7, 0.8, 0.9 -> mean 0.8, sd sqrt(((0.1)^2 + 0 + (0.1)^2) / 2) = 0.1.
    const s = spread([0.7, null, 0.8, 0.9]);
    expect(s.count).toBe(3);
    expect(s.mean).toBeCloseTo(0.8, 15);
    expect(s.sd).toBeCloseTo(0.1, 15);
    expect([s.min, s.max]).toEqual([0.7, 0.9]);
    expect(spread([0.5])).toEqual({ count: 1, mean: 0.5, sd: null, min: 0.5, max: 0.5 });
    expect(spread([null])).toEqual({ count: 0, mean: null, sd: null, min: null, max: null });
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
