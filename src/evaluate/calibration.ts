import type { CalibrationBin } from './report-sections.js';

/**
 * Calibration of predicted probabilities: equal-mass reliability bins and the expected
 * calibration error (Naeini, Cooper & Hauskrecht, AAAI 2015; Guo et al., ICML 2017, section 2),
 * and two post-hoc recalibrations fitted on dev: Platt scaling (Platt 1999, with the target
 * smoothing and Newton steps of Lin, Lin & Weng 2007) and isotonic regression by
 * pool-adjacent-violators (Zadrozny & Elkan, KDD 2002; Barlow et al. 1972).
 * Pure computation on arrays: no SQL.
 */

/** Default number of equal-mass bins (evaluation.calibration_bins). */
export const DEFAULT_CALIBRATION_BINS = 10;

/** Post-hoc calibration methods (evaluation.calibration); 'none' reports the raw scores only. */
export const CALIBRATION_METHODS = ['none', 'platt', 'isotonic'] as const;
export type CalibrationMethod = (typeof CALIBRATION_METHODS)[number];

/** The labelled units (label 0 or 1) of `labels`, sorted by score ascending, ties by position. */
function labelledByScore(scores: ArrayLike<number>, labels: ArrayLike<number>): number[] {
  if (scores.length !== labels.length)
    throw new RangeError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) continue;
    if (!Number.isFinite(scores[i])) throw new RangeError(`score of labelled unit ${i} is ${scores[i]}`);
    idx.push(i);
  }
  return idx.sort((a, b) => scores[a]! - scores[b]! || a - b);
}

/**
 * The reliability curve with equal-mass bins: the labelled units (label 0 / 1; NaN = not evaluated)
 * sorted by score (ties in unit order), bin b holding sorted positions floor(b·n/B) ..
 * floor((b+1)·n/B) - 1, so bin sizes differ by at most one; with n < B there are n bins of one unit.
 * @param scores `[units]` probabilities in [0, 1]; @param labels `[units]` 1 / 0 / NaN.
 * @returns the non-empty bins, ordered by mean score; [] with no labelled unit.
 * @throws RangeError when bins < 1, lengths differ, or a labelled unit's score is not finite.
 */
export function reliabilityBins(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  bins = DEFAULT_CALIBRATION_BINS,
): CalibrationBin[] {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be an integer >= 1 (got ${bins})`);
  const idx = labelledByScore(scores, labels);
  const n = idx.length;
  const out: CalibrationBin[] = [];
  for (let b = 0; b < bins; b++) {
    const start = Math.floor((b * n) / bins);
    const end = Math.floor(((b + 1) * n) / bins);
    if (end === start) continue;
    let score = 0;
    let positives = 0;
    for (let k = start; k < end; k++) {
      score += scores[idx[k]!]!;
      positives += labels[idx[k]!] === 1 ? 1 : 0;
    }
    out.push({
      bin: out.length,
      meanScore: score / (end - start),
      positiveRate: positives / (end - start),
      count: end - start,
    });
  }
  return out;
}

/**
 * Expected calibration error of a reliability curve: sum over bins of count/n × |positiveRate −
 * meanScore| (Naeini et al. 2015; Guo et al. 2017, eq. 3). Null for an empty curve (no labelled unit).
 */
export function expectedCalibrationError(bins: readonly CalibrationBin[]): number | null {
  let n = 0;
  let sum = 0;
  for (const b of bins) {
    n += b.count;
    sum += b.count * Math.abs(b.positiveRate - b.meanScore);
  }
  return n === 0 ? null : sum / n;
}

/** A fitted recalibration: maps a raw probability to a calibrated one. */
export interface Calibrator {
  method: Exclude<CalibrationMethod, 'none'>;
  apply(score: number): number;
}

/** Scores are clamped to [EPS, 1 - EPS] before their logit is taken. */
const EPS = 1e-7;

/** log(p / (1 - p)) of a probability clamped to [1e-7, 1 - 1e-7]. */
export function logit(p: number): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return Math.log(q / (1 - q));
}

/** Platt's parameters: P(y = 1 | f) = 1 / (1 + exp(a·f + b)), f = logit(score). */
export interface PlattParameters {
  a: number;
  b: number;
}

/**
 * Fit Platt scaling (Platt 1999) on the labelled units: minimize the cross-entropy of
 * 1 / (1 + exp(a·f + b)) against Platt's smoothed targets t+ = (N+ + 1)/(N+ + 2) and
 * t− = 1/(N− + 2), by Newton's method with backtracking (Lin, Lin & Weng, Machine Learning 2007,
 * algorithm 1). The input f is the logit of the score, so a perfectly calibrated model keeps
 * (a, b) near (−1, 0). scikit-learn's `_sigmoid_calibration(f, y)` minimizes the same objective.
 * @param scores `[units]` probabilities; @param labels `[units]` 1 / 0 / NaN (NaN left out).
 * @throws RangeError when the labelled units do not hold both classes.
 */
export function fitPlatt(scores: ArrayLike<number>, labels: ArrayLike<number>): PlattParameters {
  const idx = labelledByScore(scores, labels);
  const f = idx.map((i) => logit(scores[i]!));
  const y = idx.map((i) => labels[i]!);
  const positives = y.filter((v) => v === 1).length;
  const negatives = y.length - positives;
  if (positives === 0 || negatives === 0)
    throw new RangeError('Platt scaling needs positive and negative labelled units');
  const hi = (positives + 1) / (positives + 2);
  const lo = 1 / (negatives + 2);
  const t = y.map((v) => (v === 1 ? hi : lo));
  // Objective: sum_i t_i·(a·f_i + b) + log(1 + exp(−(a·f_i + b))), written stably.
  const objective = (a: number, b: number): number => {
    let s = 0;
    for (let i = 0; i < f.length; i++) {
      const z = a * f[i]! + b;
      s += z >= 0 ? t[i]! * z + Math.log1p(Math.exp(-z)) : (t[i]! - 1) * z + Math.log1p(Math.exp(z));
    }
    return s;
  };
  let a = 0;
  let b = Math.log((negatives + 1) / (positives + 1));
  let value = objective(a, b);
  const sigma = 1e-12; // Lin et al.'s ridge on the Hessian
  for (let iteration = 0; iteration < 100; iteration++) {
    let h11 = sigma;
    let h22 = sigma;
    let h21 = 0;
    let g1 = 0;
    let g2 = 0;
    for (let i = 0; i < f.length; i++) {
      const z = a * f[i]! + b;
      // p = 1 / (1 + exp(z)), q = 1 - p
      const p = z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
      const q = 1 - p;
      const d2 = p * q;
      h11 += f[i]! * f[i]! * d2;
      h22 += d2;
      h21 += f[i]! * d2;
      const d1 = t[i]! - p;
      g1 += f[i]! * d1;
      g2 += d1;
    }
    if (Math.abs(g1) < 1e-10 && Math.abs(g2) < 1e-10) break;
    const det = h11 * h22 - h21 * h21;
    const dA = -(h22 * g1 - h21 * g2) / det;
    const dB = -(-h21 * g1 + h11 * g2) / det;
    const gd = g1 * dA + g2 * dB;
    let step = 1;
    let moved = false;
    while (step >= 1e-10) {
      const na = a + step * dA;
      const nb = b + step * dB;
      const nv = objective(na, nb);
      if (nv < value + 1e-4 * step * gd) {
        a = na;
        b = nb;
        value = nv;
        moved = true;
        break;
      }
      step /= 2;
    }
    if (!moved) break;
  }
  return { a, b };
}

/** A {@link Calibrator} from Platt parameters. */
export function plattCalibrator(p: PlattParameters): Calibrator {
  return {
    method: 'platt',
    apply: (score) => {
      const z = p.a * logit(score) + p.b;
      return z >= 0 ? Math.exp(-z) / (1 + Math.exp(-z)) : 1 / (1 + Math.exp(z));
    },
  };
}

/**
 * Isotonic regression by pool-adjacent-violators (Barlow et al. 1972; Ayer et al. 1955): the
 * non-decreasing sequence ŷ minimizing Σ w_i (y_i − ŷ_i)² over the given order. Adjacent blocks
 * that violate the order are pooled into their weighted mean until none does. O(n).
 * @param y `[n]` values in the order of the predictor; @param w `[n]` positive weights (default 1).
 * @returns `[n]` the fitted non-decreasing values.
 */
export function poolAdjacentViolators(y: ArrayLike<number>, w?: ArrayLike<number>): Float64Array {
  const n = y.length;
  const value: number[] = [];
  const weight: number[] = [];
  const size: number[] = [];
  for (let i = 0; i < n; i++) {
    let v = y[i]!;
    let wt = w ? w[i]! : 1;
    let s = 1;
    while (value.length > 0 && value[value.length - 1]! > v) {
      const pw = weight.pop()!;
      const pv = value.pop()!;
      s += size.pop()!;
      v = (pv * pw + v * wt) / (pw + wt);
      wt += pw;
    }
    value.push(v);
    weight.push(wt);
    size.push(s);
  }
  const out = new Float64Array(n);
  let k = 0;
  for (let b = 0; b < value.length; b++) for (let j = 0; j < size[b]!; j++) out[k++] = value[b]!;
  return out;
}

/** A fitted isotonic map: distinct scores ascending and their fitted probabilities. */
export interface IsotonicFit {
  x: Float64Array;
  y: Float64Array;
}

/**
 * Fit isotonic calibration (Zadrozny & Elkan 2002) on the labelled units: units with equal scores
 * are first pooled (their mean label, weighted by their number), then {@link poolAdjacentViolators}
 * over the distinct scores ascending. Applied as scikit-learn's `IsotonicRegression(out_of_bounds=
 * 'clip')`: linear interpolation between the distinct scores, clipped to the end values outside.
 * @throws RangeError when no unit is labelled.
 */
export function fitIsotonic(scores: ArrayLike<number>, labels: ArrayLike<number>): IsotonicFit {
  const idx = labelledByScore(scores, labels);
  if (idx.length === 0) throw new RangeError('isotonic calibration needs labelled units');
  const xs: number[] = [];
  const means: number[] = [];
  const counts: number[] = [];
  for (const i of idx) {
    const s = scores[i]!;
    if (xs.length > 0 && xs[xs.length - 1] === s) {
      const k = xs.length - 1;
      means[k] = (means[k]! * counts[k]! + labels[i]!) / (counts[k]! + 1);
      counts[k]!++;
    } else {
      xs.push(s);
      means.push(labels[i]!);
      counts.push(1);
    }
  }
  return { x: Float64Array.from(xs), y: poolAdjacentViolators(means, counts) };
}

/** A {@link Calibrator} from an isotonic fit (linear interpolation, clipped; see {@link fitIsotonic}). */
export function isotonicCalibrator(fit: IsotonicFit): Calibrator {
  const { x, y } = fit;
  return {
    method: 'isotonic',
    apply: (score) => {
      const n = x.length;
      if (score <= x[0]!) return y[0]!;
      if (score >= x[n - 1]!) return y[n - 1]!;
      let lo = 0;
      let hi = n - 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >> 1;
        if (x[mid]! <= score) lo = mid;
        else hi = mid;
      }
      const f = (score - x[lo]!) / (x[hi]! - x[lo]!);
      return y[lo]! + f * (y[hi]! - y[lo]!);
    },
  };
}

/**
 * Fit a recalibration of `method` on dev scores and labels (`[units]`, NaN label = left out).
 * Returns null when it cannot be fitted: Platt without both classes, isotonic without labels.
 */
export function fitCalibrator(
  method: Exclude<CalibrationMethod, 'none'>,
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
): Calibrator | null {
  let positives = 0;
  let negatives = 0;
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 1) positives++;
    else if (labels[i] === 0) negatives++;
  }
  if (method === 'platt')
    return positives > 0 && negatives > 0 ? plattCalibrator(fitPlatt(scores, labels)) : null;
  return positives + negatives > 0 ? isotonicCalibrator(fitIsotonic(scores, labels)) : null;
}
