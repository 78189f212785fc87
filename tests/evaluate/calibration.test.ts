import { describe, expect, it } from 'vitest';
import {
  expectedCalibrationError,
  fitIsotonic,
  fitPlatt,
  isotonicCalibrator,
  plattCalibrator,
  poolAdjacentViolators,
  reliabilityBins,
} from '../../src/evaluate/calibration.js';
import { calibrationCurves } from '../../src/evaluate/calibration-curves.js';
import type { EvaluationInput } from '../../src/evaluate/evaluate.js';
import { SeededRandom } from '../../src/evaluate/random.js';
import { SPLIT_DEV, SPLIT_TEST, SPLIT_TRAIN } from '../../src/evaluate/splits.js';

describe('reliability bins and expected calibration error', () => {
  it('equals the hand-computed ECE with 4 equal-mass bins (unit order does not matter)', () => {
    // Sorted: (0.1,0) (0.2,0) | (0.3,1) (0.4,0) | (0.6,1) (0.7,1) | (0.8,0) (0.9,1)
    // bins: mean .15 rate 0; mean .35 rate .5; mean .65 rate 1; mean .85 rate .5
    // ECE = (2·.15 + 2·.15 + 2·.35 + 2·.35) / 8 = 0.25
    const scores = [0.7, 0.1, 0.9, 0.4, 0.2, 0.8, 0.3, 0.6];
    const labels = [1, 0, 1, 0, 0, 0, 1, 1];
    const bins = reliabilityBins(scores, labels, 4);
    expect(bins.map((b) => b.count)).toEqual([2, 2, 2, 2]);
    expect(bins.map((b) => b.meanScore)).toEqual([0.15, 0.35, 0.65, 0.85].map((x) => expect.closeTo(x, 12)));
    expect(bins.map((b) => b.positiveRate)).toEqual([0, 0.5, 1, 0.5]);
    expect(expectedCalibrationError(bins)).toBeCloseTo(0.25, 12);
  });

  it('cuts n units into bins whose sizes differ by at most one, leaves unlabelled units out, never makes empty bins', () => {
    const scores = Array.from({ length: 12 }, (_, i) => i / 12);
    const labels = scores.map((_, i) => (i === 3 || i === 7 ? Number.NaN : i % 2));
    const bins = reliabilityBins(scores, labels, 3); // 10 labelled: positions 0-2, 3-5, 6-9
    expect(bins.map((b) => b.count)).toEqual([3, 3, 4]);
    expect(bins.map((b) => b.bin)).toEqual([0, 1, 2]);
    // first bin: units 0, 1, 2 (labels 0, 1, 0)
    expect(bins[0]!.meanScore).toBeCloseTo(1 / 12, 12);
    expect(bins[0]!.positiveRate).toBeCloseTo(1 / 3, 12);
    expect(reliabilityBins([0.2, 0.9], [0, 1], 10).map((b) => b.count)).toEqual([1, 1]);
    expect(reliabilityBins([0.2], [Number.NaN], 10)).toEqual([]);
    expect(expectedCalibrationError([])).toBeNull();
  });

  it('is 0 for a model whose scores equal the positive rate of every bin', () => {
    // 5 units at 0.2 (1 positive), 5 at 0.8 (4 positive): perfectly calibrated with 2 bins.
    const scores = [0.2, 0.2, 0.2, 0.2, 0.2, 0.8, 0.8, 0.8, 0.8, 0.8];
    const labels = [1, 0, 0, 0, 0, 1, 1, 1, 1, 0];
    expect(expectedCalibrationError(reliabilityBins(scores, labels, 2))).toBeCloseTo(0, 12);
  });
});

describe('Platt scaling', () => {
  // Reference: scikit-learn 1.2.1 (Debian python3-sklearn), sklearn.calibration._sigmoid_calibration
  // on f = logit(s) of these scores and labels: A = -0.8896731316721773, B = 0.07302500150949226,
  // and 1 / (1 + exp(A·logit(0.25) + B)) = 0.25914237689731107.
  const s = [0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.15, 0.65];
  const y = [0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0];

  it('matches scikit-learn on the same objective (Platt targets, logit input)', () => {
    const p = fitPlatt(s, y);
    expect(p.a).toBeCloseTo(-0.8896731316721773, 4);
    expect(p.b).toBeCloseTo(0.07302500150949226, 4);
    expect(plattCalibrator(p).apply(0.25)).toBeCloseTo(0.25914237689731107, 5);
  });

  it('leaves unlabelled units out and refuses a single class', () => {
    const p = fitPlatt([...s, 0.99], [...y, Number.NaN]);
    expect(p.a).toBeCloseTo(-0.8896731316721773, 4);
    expect(() => fitPlatt([0.1, 0.2], [1, 1])).toThrow(RangeError);
  });
});

describe('isotonic calibration (pool-adjacent-violators)', () => {
  it('pools adjacent violators into their (weighted) means', () => {
    expect(Array.from(poolAdjacentViolators([1, 3, 2, 4, 3, 5]))).toEqual([1, 2.5, 2.5, 3.5, 3.5, 5]);
    expect(Array.from(poolAdjacentViolators([3, 1], [1, 3]))).toEqual([1.5, 1.5]);
    expect(Array.from(poolAdjacentViolators([4, 3, 2, 1]))).toEqual([2.5, 2.5, 2.5, 2.5]);
  });

  it('is monotone and the least-squares monotone fit: no monotone sequence has a smaller error', () => {
    const rng = new SeededRandom(5);
    for (let trial = 0; trial < 20; trial++) {
      const n = 3 + rng.int(20);
      const yv = Array.from({ length: n }, () => Math.round(rng.next() * 10));
      const fit = poolAdjacentViolators(yv);
      for (let i = 1; i < n; i++) expect(fit[i]!).toBeGreaterThanOrEqual(fit[i - 1]! - 1e-12);
      const sse = (v: ArrayLike<number>) => yv.reduce((a, x, i) => a + (x - v[i]!) ** 2, 0);
      for (let k = 0; k < 50; k++) {
        // a random monotone competitor
        const v = Array.from({ length: n }, () => rng.next() * 10).sort((a, b) => a - b);
        expect(sse(fit)).toBeLessThanOrEqual(sse(v) + 1e-9);
        // projection onto the monotone cone: <y - fit, v - fit> <= 0 for every monotone v
        const inner = yv.reduce((a, x, i) => a + (x - fit[i]!) * (v[i]! - fit[i]!), 0);
        expect(inner).toBeLessThanOrEqual(1e-9);
      }
    }
  });

  it('predicts as scikit-learn IsotonicRegression(out_of_bounds="clip") does', () => {
    // Reference: scikit-learn 1.2.1 on the Platt example's scores and labels:
    // predict([0, 0.25, 0.5, 0.62, 1]) = [0, 1/6, 0.5, 0.5, 1].
    const s = [0.05, 0.1, 0.2, 0.3, 0.35, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95, 0.15, 0.65];
    const y = [0, 0, 0, 1, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0];
    const c = isotonicCalibrator(fitIsotonic(s, y));
    expect([0, 0.25, 0.5, 0.62, 1].map((x) => c.apply(x))).toEqual(
      [0, 1 / 6, 0.5, 0.5, 1].map((x) => expect.closeTo(x, 12)),
    );
    // equal scores are pooled first: (0.5: 1, 0, 1) -> 2/3
    const tied = fitIsotonic([0.5, 0.5, 0.5, 0.9], [1, 0, 1, 1]);
    expect(Array.from(tied.x)).toEqual([0.5, 0.9]);
    expect(tied.y[0]).toBeCloseTo(2 / 3, 12);
  });
});

/** A holdout run of one model that is over-confident by construction: score = sigmoid(4·z) while P(y=1) = sigmoid(z). */
function overconfident(units: number, seed: number, design: 'holdout' | 'cv' = 'holdout'): EvaluationInput {
  const rng = new SeededRandom(seed);
  const y = new Float32Array(units);
  const scores = new Float32Array(units);
  const split = new Int8Array(units);
  for (let u = 0; u < units; u++) {
    const z = 3 * (rng.next() - 0.5);
    y[u] = rng.next() < 1 / (1 + Math.exp(-z)) ? 1 : 0;
    scores[u] = 1 / (1 + Math.exp(-4 * z));
    split[u] = u % 5 === 0 ? SPLIT_TEST : u % 5 === 1 ? SPLIT_DEV : SPLIT_TRAIN;
  }
  const folds = [0, 1].map((k) =>
    Int8Array.from({ length: units }, (_, u) => (u % 2 === k ? SPLIT_TEST : SPLIT_TRAIN)),
  );
  return {
    tasks: [{ name: 'depression', auxiliary: false }],
    unitIds: Array.from({ length: units }, (_, u) => `u${u}`),
    y,
    design: design === 'holdout' ? { kind: 'holdout', split } : { kind: 'cv', assignments: folds },
    models: [{ name: 'lr', kind: 'lr', auxiliary: [] }],
    scores: { lr: scores },
  };
}

describe('reliability curves of a run', () => {
  it('a model over-confident by construction: Platt and isotonic fitted on dev lower the test ECE', () => {
    const input = overconfident(5000, 3);
    const raw = calibrationCurves(input, { repeat: 0 }).curves;
    expect(raw.map((c) => c.method)).toEqual(['raw']);
    expect(raw[0]!.bins.reduce((a, b) => a + b.count, 0)).toBe(1000); // every test unit, in 10 bins
    expect(raw[0]!.bins).toHaveLength(10);
    const platt = calibrationCurves(input, { repeat: 0, method: 'platt' }).curves;
    const isotonic = calibrationCurves(input, { repeat: 0, method: 'isotonic', bins: 5 }).curves;
    expect(platt.map((c) => c.method)).toEqual(['raw', 'platt']);
    expect(isotonic[1]!.bins).toHaveLength(5);
    expect(raw[0]!.ece!).toBeGreaterThan(0.08);
    expect(platt[1]!.ece!).toBeLessThan(raw[0]!.ece! / 2);
    expect(isotonic[1]!.ece!).toBeLessThan(isotonic[0]!.ece! / 2);
  });

  it('cross-validation has no dev split: raw curves of the out-of-fold scores only, said in a note', () => {
    const r = calibrationCurves(overconfident(200, 4, 'cv'), { repeat: 1, method: 'platt' });
    expect(r.curves.map((c) => [c.method, c.repeat, c.fold])).toEqual([['raw', 1, 0]]);
    expect(r.curves[0]!.bins.reduce((a, b) => a + b.count, 0)).toBe(200);
    expect(r.notes).toEqual([
      'platt calibration needs a dev split: cross-validated runs report raw calibration only',
    ]);
  });
});
