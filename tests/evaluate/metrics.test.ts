import { describe, expect, it } from 'vitest';
import {
  averagePrecision,
  bootstrapAucCi,
  brierScore,
  deltaM,
  downsampleRoc,
  macroAverage,
  maxF1Threshold,
  quantile,
  rocAuc,
  rocCurve,
  scoreGroups,
  taskMetrics,
  thresholdMetrics,
  tprAtFpr,
} from '../../src/evaluate/metrics.js';
import { SeededRandom } from '../../src/evaluate/random.js';

// scikit-learn's documentation example: y = [0, 0, 1, 1], scores = [0.1, 0.4, 0.35, 0.8].
const S1 = [0.1, 0.4, 0.35, 0.8];
const Y1 = [0, 0, 1, 1];
// Ties: a positive and two negatives share 0.5.
const S2 = [0.5, 0.5, 0.5, 0.2, 0.9];
const Y2 = [1, 0, 0, 0, 1];

describe('ROC and precision metrics, by hand', () => {
  it('computes the ROC curve at every distinct score, first point at +Infinity', () => {
    const c = rocCurve(scoreGroups(S1, Y1))!;
    expect(c.thresholds).toEqual([Number.POSITIVE_INFINITY, 0.8, 0.4, 0.35, 0.1]);
    expect(c.fpr).toEqual([0, 0, 0.5, 0.5, 1]);
    expect(c.tpr).toEqual([0, 0.5, 0.5, 1, 1]);
    expect(rocAuc(S1, Y1)).toBeCloseTo(0.75, 12);
  });

  it('moves both rates at once on tied scores; AUC gives ties half credit', () => {
    // pairs (pos, neg): 0.9 beats all 3 negatives; 0.5 ties two (2 x 0.5) and beats 0.2 -> 5/6
    expect(rocAuc(S2, Y2)).toBeCloseTo(5 / 6, 12);
    const c = rocCurve(scoreGroups(S2, Y2))!;
    expect(c.fpr).toEqual([0, 0, 2 / 3, 1]);
    expect(c.tpr).toEqual([0, 0.5, 1, 1]);
  });

  it('takes TPR at FPR as the highest TPR with FPR <= target (step function, no interpolation)', () => {
    const c1 = rocCurve(scoreGroups(S1, Y1))!;
    expect(tprAtFpr(c1, 0.1)).toBe(0.5);
    expect(tprAtFpr(c1, 0.5)).toBe(1);
    const c2 = rocCurve(scoreGroups(S2, Y2))!;
    // the tie group jumps from FPR 0 to 2/3: at 10% and at 0.6 only the 0.9 threshold qualifies
    expect(tprAtFpr(c2, 0.1)).toBe(0.5);
    expect(tprAtFpr(c2, 0.6)).toBe(0.5);
    expect(tprAtFpr(c2, 2 / 3)).toBe(1);
  });

  it('computes average precision step-wise as scikit-learn does', () => {
    // 0.8: R .5 P 1 -> .5; 0.4: dR 0; 0.35: R 1 P 2/3 -> .5 x 2/3
    expect(averagePrecision(scoreGroups(S1, Y1))).toBeCloseTo(0.5 + 0.5 * (2 / 3), 12);
    // 0.9: R .5 P 1 -> .5; tie group 0.5: R 1, P 2/4 -> .5 x .5
    expect(averagePrecision(scoreGroups(S2, Y2))).toBeCloseTo(0.75, 12);
  });

  it('computes precision, recall, F1 at a threshold and picks the max-F1 threshold (highest on ties)', () => {
    expect(thresholdMetrics(scoreGroups(S2, Y2), 0.5)).toEqual({
      threshold: 0.5,
      precision: 0.5,
      recall: 1,
      f1: 2 / 3,
    });
    expect(thresholdMetrics(scoreGroups(S2, Y2), 0.95)).toEqual({
      threshold: 0.95,
      precision: 0,
      recall: 0,
      f1: 0,
    });
    // 0.9 -> P 1, R .5, F1 2/3; 0.5 -> P .5, R 1, F1 2/3; 0.2 -> F1 4/7: the tie goes to 0.9
    const best = maxF1Threshold(scoreGroups(S2, Y2))!;
    expect(best.threshold).toBe(0.9);
    expect(best.f1).toBeCloseTo(2 / 3, 12);
    expect(maxF1Threshold(scoreGroups([0.3, 0.2], [0, 0]))).toBeNull();
  });

  it('computes the Brier score over labeled units only', () => {
    expect(brierScore(S1, Y1)).toBeCloseTo((0.01 + 0.16 + 0.4225 + 0.04) / 4, 12);
    expect(brierScore([0.2, 0.9, 0.5], [0, Number.NaN, 1])).toBeCloseTo((0.04 + 0.25) / 2, 12);
    expect(brierScore([0.2], [Number.NaN])).toBeNull();
  });

  it('refuses a non-finite score of a labeled unit', () => {
    expect(() => scoreGroups([Number.NaN, 0.2], [1, 0])).toThrow(/score of labeled unit 0/);
    expect(scoreGroups([Number.NaN, 0.2], [Number.NaN, 0]).totalNegatives).toBe(1);
  });

  it('downsamples a ROC curve to at most 200 points keeping both ends', () => {
    const rng = new SeededRandom(3);
    const n = 5000;
    const scores = Array.from({ length: n }, () => rng.next());
    const labels = scores.map((s) => (rng.next() < s ? 1 : 0));
    const full = rocCurve(scoreGroups(scores, labels))!;
    expect(full.fpr.length).toBe(n + 1);
    const d = downsampleRoc(full, 200);
    expect(d.fpr.length).toBe(200);
    expect([d.fpr[0], d.tpr[0], d.thresholds[0]]).toEqual([0, 0, Number.POSITIVE_INFINITY]);
    expect([d.fpr.at(-1), d.tpr.at(-1)]).toEqual([1, 1]);
    for (let i = 1; i < d.fpr.length; i++) {
      expect(d.fpr[i]!).toBeGreaterThanOrEqual(d.fpr[i - 1]!);
      expect(d.tpr[i]!).toBeGreaterThanOrEqual(d.tpr[i - 1]!);
    }
    // collinear points inside a vertical run go first, without changing the shape
    const v = downsampleRoc({ fpr: [0, 0, 0, 0, 1], tpr: [0, 0.2, 0.6, 1, 1], thresholds: [9, 4, 3, 2, 1] });
    expect(v).toEqual({ fpr: [0, 0, 1], tpr: [0, 1, 1], thresholds: [9, 2, 1] });
  });
});

describe('bootstrap CI', () => {
  const rng = new SeededRandom(11);
  const scores = Array.from({ length: 400 }, () => rng.next());
  const labels = scores.map((s) => (rng.next() < 0.2 + 0.6 * s ? 1 : 0));

  it('is deterministic from the seed and contains the point estimate', () => {
    const a = bootstrapAucCi(scores, labels, { seed: 5, resamples: 500 });
    const b = bootstrapAucCi(scores, labels, { seed: 5, resamples: 500 });
    const c = bootstrapAucCi(scores, labels, { seed: 6, resamples: 500 });
    expect(a).toEqual(b);
    expect(c.low).not.toBe(a.low);
    const auc = rocAuc(scores, labels)!;
    expect(a.low!).toBeLessThan(auc);
    expect(a.high!).toBeGreaterThan(auc);
    expect(a.high! - a.low!).toBeGreaterThan(0.03);
    expect(a.high! - a.low!).toBeLessThan(0.25);
    expect(a.used + a.skipped).toBe(500);
  });

  it('agrees with rocAuc on tied scores (a resample AUC uses the same half credit)', () => {
    // With every unit drawn, resample weights vary; a tie-only data set has AUC 0.5 in every resample.
    const flat = bootstrapAucCi([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0], { seed: 1, resamples: 200 });
    expect(flat.low).toBe(0.5);
    expect(flat.high).toBe(0.5);
    expect(rocAuc([0.5, 0.5, 0.5, 0.5], [1, 0, 1, 0])).toBe(0.5);
  });

  it('skips and counts resamples with a single class', () => {
    const r = bootstrapAucCi([0.2, 0.8], [0, 1], { seed: 2, resamples: 1000 });
    // P(both classes drawn) = 1/2
    expect(r.skipped).toBeGreaterThan(400);
    expect(r.skipped).toBeLessThan(600);
    expect(r.used + r.skipped).toBe(1000);
    expect([r.low, r.high]).toEqual([1, 1]);
  });

  it('interpolates quantiles linearly between order statistics', () => {
    expect(quantile([1, 2, 3, 4, 5], 0.025)).toBeCloseTo(1.1, 12);
    expect(quantile([1, 2, 3, 4, 5], 0.975)).toBeCloseTo(4.9, 12);
  });
});

describe('task metrics', () => {
  it('gives NULL metrics with the reason and counts for a single class, never 0.5 or NaN', () => {
    const m = taskMetrics([0.2, 0.7, 0.4], [1, 1, Number.NaN], { threshold: 0.5, bootstrap: { seed: 1 } });
    expect(m).toMatchObject({
      n: 2,
      positives: 2,
      negatives: 0,
      nullReason: 'single_class',
      auc: null,
      f1: null,
    });
    expect(m.roc).toBeNull();
    const none = taskMetrics([0.2], [Number.NaN], { threshold: null, bootstrap: { seed: 1 } });
    expect(none).toMatchObject({ n: 0, nullReason: 'no_labels', auc: null });
  });

  it('assembles every metric for a task with both classes', () => {
    const m = taskMetrics(S2, Y2, {
      threshold: 0.5,
      fprTargets: [0.1, 0.7],
      bootstrap: { seed: 3, resamples: 100 },
    });
    expect(m.auc).toBeCloseTo(5 / 6, 12);
    expect(m.tprAtFpr).toEqual({ '0.1': 0.5, '0.7': 1 });
    expect(m.averagePrecision).toBeCloseTo(0.75, 12);
    expect([m.precision, m.recall]).toEqual([0.5, 1]);
    expect(m.n).toBe(5);
    expect(m.roc!.fpr.length).toBe(4);
  });

  it('macro-averages non-null values only; Δm is the mean relative AUC gain over STL', () => {
    expect(macroAverage([0.8, null, 0.6])).toBeCloseTo(0.7, 12);
    expect(macroAverage([null])).toBeNull();
    // (0.88 - 0.8)/0.8 = 0.1, (0.57 - 0.6)/0.6 = -0.05, third left out -> 0.025
    expect(deltaM([0.88, 0.57, null], [0.8, 0.6, 0.7])).toBeCloseTo(0.025, 12);
    expect(deltaM([null], [0.5])).toBeNull();
  });
});
