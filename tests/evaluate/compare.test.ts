import { describe, expect, it } from 'vitest';
import {
  bootstrapIndices,
  correctedResampledTTest,
  delongTest,
  holmAdjust,
  midranks,
  pairedBootstrapAucDifference,
} from '../../src/evaluate/compare.js';
import { quantile, rocAuc } from '../../src/evaluate/metrics.js';

// Reference values: /usr/bin/python3 (numpy 1.24.2, scipy 1.10.1, scikit-learn 1.2.1) running
//
//   import numpy as np; from scipy import stats; from sklearn.metrics import roc_auc_score
//   def psi(x, z): return 1.0 if x > z else (0.5 if x == z else 0.0)
//   def delong_direct(s1, s2, y):   # DeLong et al. 1988 by its O(mn) definition
//       X = [np.array([s[i] for i in range(len(y)) if y[i] == 1]) for s in (s1, s2)]
//       Y = [np.array([s[i] for i in range(len(y)) if y[i] == 0]) for s in (s1, s2)]
//       m, n = len(X[0]), len(Y[0])
//       V10 = np.array([[np.mean([psi(X[k][i], Y[k][j]) for j in range(n)]) for i in range(m)] for k in range(2)])
//       V01 = np.array([[np.mean([psi(X[k][i], Y[k][j]) for i in range(m)]) for j in range(n)] for k in range(2)])
//       auc = V10.mean(axis=1); S = np.cov(V10) / m + np.cov(V01) / n
//       var = S[0, 0] + S[1, 1] - 2 * S[0, 1]; z = (auc[0] - auc[1]) / np.sqrt(var)
//       return auc, var, z, 2 * stats.norm.sf(abs(z))
//
// and roc_auc_score(y, a) for the AUCs. The direct definition is independent of Sun & Xu's
// midrank algorithm, which the code implements.
const y = [1, 1, 1, 0, 0, 0, 0, 1, 0, 1, 0, 0];
const a = [0.9, 0.8, 0.4, 0.4, 0.2, 0.5, 0.1, 0.7, 0.3, 0.4, 0.6, 0.2];
const b = [0.6, 0.6, 0.5, 0.6, 0.3, 0.2, 0.2, 0.9, 0.5, 0.1, 0.4, 0.3];
const y2 = [0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0];
const a2 = [
  0.1, 0.8, 0.3, 0.3, 0.8, 0.5, 0.2, 0.5, 0.1, 0.9, 0.3, 0.5, 0.4, 0.2, 0.7, 0.6, 0.1, 0.8, 0.3, 0.5,
];
const b2 = [
  0.2, 0.7, 0.2, 0.5, 0.5, 0.7, 0.2, 0.3, 0.2, 0.5, 0.5, 0.6, 0.2, 0.3, 0.7, 0.2, 0.4, 0.7, 0.5, 0.2,
];

describe('delongTest (Sun & Xu midranks)', () => {
  it('matches the O(mn) definition computed with numpy/scipy, ties included', () => {
    const r = delongTest(a, b, y)!;
    expect(r.aucA).toBeCloseTo(0.8571428571428571, 14); // roc_auc_score(y, a)
    expect(r.aucB).toBeCloseTo(0.7285714285714285, 14);
    expect(r.variance).toBeCloseTo(0.02602040816326531, 14);
    expect(r.z).toBeCloseTo(0.7970533969860857, 12);
    expect(r.pValue).toBeCloseTo(0.4254200204693487, 10);
    const r2 = delongTest(a2, b2, y2)!;
    expect(r2.aucA).toBeCloseTo(0.9560439560439561, 14);
    expect(r2.aucB).toBeCloseTo(0.967032967032967, 14);
    expect(r2.variance).toBeCloseTo(0.0029082638972748867, 14);
    expect(r2.z).toBeCloseTo(-0.2037706832433966, 12);
    expect(r2.pValue).toBeCloseTo(0.8385327035323468, 10);
  });

  it('is antisymmetric, gives p = 1 for identical scores, ignores unknown labels', () => {
    const ab = delongTest(a, b, y)!;
    const ba = delongTest(b, a, y)!;
    expect(ba.delta).toBeCloseTo(-ab.delta, 15);
    expect(ba.pValue).toBeCloseTo(ab.pValue!, 15);
    expect(delongTest(a, a, y)).toMatchObject({ delta: 0, variance: 0, z: null, pValue: 1 });
    const withUnknown = delongTest([...a, 0.99], [...b, 0.01], [...y, Number.NaN])!;
    expect(withUnknown.pValue).toBeCloseTo(ab.pValue!, 15);
    expect(delongTest([0.1, 0.2, 0.3], [0.3, 0.2, 0.1], [1, 0, 0])).toBeNull(); // one positive
  });

  it('midranks give ties the mean of their ranks', () => {
    expect(Array.from(midranks([0.4, 0.1, 0.4, 0.9, 0.4]))).toEqual([3, 1, 3, 5, 3]);
  });
});

describe('pairedBootstrapAucDifference', () => {
  const tasks = [
    { labels: y2, a: a2, b: b2 },
    { labels: y2.map((v, i) => (i % 3 === 0 ? 1 - v : v)), a: a2, b: b2.map((v) => 1 - v) },
  ];
  const seed = 5;
  const resamples = 300;

  it('uses the same resamples for both models and all tasks: recomputed directly with rocAuc', () => {
    const r = pairedBootstrapAucDifference(tasks, { resamples, seed });
    const per: number[][] = [[], []];
    const macro: number[] = [];
    for (const idx of bootstrapIndices(y2.length, resamples, seed)) {
      const deltas = tasks.map((t) => {
        const pick = (v: ArrayLike<number>) => Array.from(idx, (i) => v[i]!);
        const aa = rocAuc(pick(t.a), pick(t.labels));
        const bb = rocAuc(pick(t.b), pick(t.labels));
        return aa === null || bb === null ? null : aa - bb;
      });
      deltas.forEach((d, k) => {
        if (d !== null) per[k]!.push(d);
      });
      if (deltas.every((d) => d !== null)) macro.push((deltas[0]! + deltas[1]!) / 2);
    }
    for (const k of [0, 1]) {
      const sorted = per[k]!.sort((x, z) => x - z);
      expect(r.perTask[k]!.used).toBe(sorted.length);
      expect(r.perTask[k]!.skipped).toBe(resamples - sorted.length);
      expect(r.perTask[k]!.low).toBeCloseTo(quantile(sorted, 0.025), 12);
      expect(r.perTask[k]!.high).toBeCloseTo(quantile(sorted, 0.975), 12);
    }
    macro.sort((x, z) => x - z);
    expect(r.macro.used).toBe(macro.length);
    expect(r.macro.low).toBeCloseTo(quantile(macro, 0.025), 12);
    expect(r.macro.high).toBeCloseTo(quantile(macro, 0.975), 12);
  });

  it('gives a zero-width interval at 0 when B ranks the units exactly as A (paired, not two intervals)', () => {
    const shifted = a2.map((v) => v / 2 + 0.1); // same order, same ties
    const r = pairedBootstrapAucDifference([{ labels: y2, a: a2, b: shifted }], { resamples: 200, seed: 1 });
    expect(r.perTask[0]).toMatchObject({ low: 0, high: 0 });
  });

  it('is deterministic for a seed', () => {
    expect(pairedBootstrapAucDifference(tasks, { resamples: 50, seed: 9 })).toEqual(
      pairedBootstrapAucDifference(tasks, { resamples: 50, seed: 9 }),
    );
  });
});

describe('holmAdjust', () => {
  it('matches Holm (1979) computed by hand in python, keeping the input order and nulls', () => {
    // python: ps = [0.01, 0.04, 0.03, 0.005, 0.2]; sorted ascending, adjusted p_(i) =
    //   max_{j<=i} min(1, (m-j+1) p_(j))  ->  [0.04, 0.09, 0.09, 0.025, 0.2]
    const adjusted = holmAdjust([0.01, 0.04, null, 0.03, 0.005, 0.2]);
    const expected = [0.04, 0.09, null, 0.09, 0.025, 0.2];
    expected.forEach((e, i) => {
      if (e === null) expect(adjusted[i]).toBeNull();
      else expect(adjusted[i]).toBeCloseTo(e, 15);
    });
    expect(holmAdjust([0.6, 0.7])).toEqual([1, 1]);
  });
});

describe('correctedResampledTTest', () => {
  it('matches Nadeau & Bengio (2003) computed with scipy', () => {
    // python: d = np.array([0.021, 0.034, -0.005, 0.012, 0.027]); J = 5; ratio = 90 / 315
    //   se = np.sqrt((1 / J + ratio) * d.var(ddof=1)); t = d.mean() / se
    //   p = 2 * stats.t.sf(abs(t), J - 1); ci = d.mean() -/+ stats.t.ppf(0.975, J - 1) * se
    const r = correctedResampledTTest([0.021, 0.034, -0.005, 0.012, 0.027], 90 / 315)!;
    expect(r.mean).toBeCloseTo(0.017800000000000003, 15);
    expect(r.sd).toBeCloseTo(0.015089731607951152, 15);
    expect(r.df).toBe(4);
    expect(r.t).toBeCloseTo(1.6925754934044104, 12);
    expect(r.pValue).toBeCloseTo(0.16579149135150337, 10);
    expect(r.ciLow).toBeCloseTo(-0.01139853387048458, 10);
    expect(r.ciHigh).toBeCloseTo(0.04699853387048458, 10);
  });

  it('is wider than the naive t-test, and says nothing from one resample or no spread', () => {
    const d = [0.021, 0.034, -0.005, 0.012, 0.027];
    const corrected = correctedResampledTTest(d, 0.25)!;
    const naive = correctedResampledTTest(d, 0)!;
    expect(corrected.pValue!).toBeGreaterThan(naive.pValue!);
    expect(correctedResampledTTest([0.1], 0.25)).toBeNull();
    expect(correctedResampledTTest([0.1, 0.1], 0.25)).toMatchObject({ pValue: null, ciLow: null });
  });
});
