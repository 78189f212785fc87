import normalCdf from '@stdlib/stats-base-dists-normal-cdf';
import tCdf from '@stdlib/stats-base-dists-t-cdf';
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { quantile } from './metrics.js';
import { SeededRandom } from './random.js';

/**
 * Paired comparisons of two models' scores on the same units: DeLong's test for two correlated
 * AUCs, a paired bootstrap interval of the AUC difference, Holm's step-down adjustment, and the
 * corrected resampled t-test of Nadeau & Bengio. Pure computation on typed arrays.
 */

/** DeLong's test of two correlated AUCs (the same units scored by two models). */
export interface DeLongResult {
  /** AUC of model A and of model B (Mann-Whitney, ties at half credit). */
  aucA: number;
  aucB: number;
  /** aucA - aucB. */
  delta: number;
  /** Estimated variance of the difference, Var(aucA) + Var(aucB) - 2 Cov(aucA, aucB). */
  variance: number;
  /** delta / sqrt(variance); null when the variance is 0. */
  z: number | null;
  /** Two-sided p-value, 2 Phi(-|z|); 1 when delta and variance are both 0; null when only the variance is. */
  pValue: number | null;
}

/** Midranks (1-based; ties share the mean of their ranks) of `values`, in their given order. */
export function midranks(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a]! - values[b]!);
  const ranks = new Float64Array(n);
  for (let start = 0; start < n; ) {
    let end = start + 1;
    while (end < n && values[order[end]!] === values[order[start]!]) end++;
    const rank = (start + 1 + end) / 2;
    for (let k = start; k < end; k++) ranks[order[k]!] = rank;
    start = end;
  }
  return ranks;
}

/**
 * DeLong, DeLong & Clarke-Pearson (Biometrics 1988) test of the difference between two correlated
 * ROC AUCs, computed with the fast algorithm of Sun & Xu (IEEE Signal Processing Letters 21(11),
 * 2014): the structural components V10 (per positive) and V01 (per negative) come from midranks,
 * V10_i = (T_Z(i) - T_X(i)) / n and V01_j = 1 - (T_Z(m+j) - T_Y(j)) / m, in O((m+n) log(m+n))
 * instead of O(mn); S = S10 / m + S01 / n with S10, S01 the sample covariances (denominators m-1,
 * n-1) of the components of the two models. Units with a label other than 0 or 1 are left out.
 * @param a `[units]` scores of model A; @param b `[units]` scores of model B; @param labels `[units]` 1 / 0 / NaN.
 * @returns null when the labelled units hold fewer than 2 positives or 2 negatives (no covariance).
 * @throws RangeError when the lengths differ or a labelled unit has a non-finite score.
 */
export function delongTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  labels: ArrayLike<number>,
): DeLongResult | null {
  if (a.length !== labels.length || b.length !== labels.length)
    throw new RangeError(`scores (${a.length}, ${b.length}) and labels (${labels.length}) differ in length`);
  const pos: number[] = [];
  const neg: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) continue;
    if (!Number.isFinite(a[i]) || !Number.isFinite(b[i]))
      throw new RangeError(`score of labelled unit ${i} is not finite`);
    (labels[i] === 1 ? pos : neg).push(i);
  }
  const m = pos.length;
  const n = neg.length;
  if (m < 2 || n < 2) return null;
  const components = (s: ArrayLike<number>) => {
    const x = Float64Array.from(pos, (i) => s[i]!);
    const y = Float64Array.from(neg, (i) => s[i]!);
    const z = new Float64Array(m + n);
    z.set(x);
    z.set(y, m);
    const tx = midranks(x);
    const ty = midranks(y);
    const tz = midranks(z);
    const v10 = Float64Array.from(tx, (r, i) => (tz[i]! - r) / n);
    const v01 = Float64Array.from(ty, (r, j) => 1 - (tz[m + j]! - r) / m);
    let auc = 0;
    for (const v of v10) auc += v;
    return { auc: auc / m, v10, v01 };
  };
  const A = components(a);
  const B = components(b);
  const cov = (x: Float64Array, y: Float64Array, mx: number, my: number) => {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += (x[i]! - mx) * (y[i]! - my);
    return s / (x.length - 1);
  };
  const mean01 = (v: Float64Array) => v.reduce((s, x) => s + x, 0) / v.length;
  const a01 = mean01(A.v01);
  const b01 = mean01(B.v01);
  const s10 =
    (cov(A.v10, A.v10, A.auc, A.auc) +
      cov(B.v10, B.v10, B.auc, B.auc) -
      2 * cov(A.v10, B.v10, A.auc, B.auc)) /
    m;
  const s01 =
    (cov(A.v01, A.v01, a01, a01) + cov(B.v01, B.v01, b01, b01) - 2 * cov(A.v01, B.v01, a01, b01)) / n;
  const variance = Math.max(0, s10 + s01);
  const delta = A.auc - B.auc;
  const z = variance > 0 ? delta / Math.sqrt(variance) : null;
  const pValue = z !== null ? 2 * normalCdf(-Math.abs(z), 0, 1) : delta === 0 ? 1 : null;
  return { aucA: A.auc, aucB: B.auc, delta, variance, z, pValue };
}

/**
 * The bootstrap resamples of `n` units: `resamples` arrays of n indices drawn uniformly with
 * replacement, seeded (same seed, same resamples). Each array is reused: copy it to keep it.
 */
export function* bootstrapIndices(n: number, resamples: number, seed: number): Generator<Int32Array> {
  const rng = new SeededRandom(seed, 11);
  const idx = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let k = 0; k < n; k++) idx[k] = rng.int(n);
    yield idx;
  }
}

/**
 * The AUC of one score vector under resampling weights, in O(n) per resample after one sort: units
 * grouped by distinct score (ties at half credit, as {@link delongTest} and rocAuc).
 */
class WeightedAuc {
  readonly #unit: Int32Array;
  readonly #group: Int32Array;
  readonly #positive: Uint8Array;
  readonly #posW: Float64Array;
  readonly #negW: Float64Array;

  constructor(scores: ArrayLike<number>, labels: ArrayLike<number>) {
    const units: number[] = [];
    for (let i = 0; i < labels.length; i++) if (labels[i] === 0 || labels[i] === 1) units.push(i);
    units.sort((x, y) => scores[x]! - scores[y]!);
    this.#unit = Int32Array.from(units);
    this.#group = new Int32Array(units.length);
    this.#positive = Uint8Array.from(units, (u) => (labels[u] === 1 ? 1 : 0));
    let g = 0;
    for (let k = 1; k < units.length; k++) {
      if (scores[units[k]!] !== scores[units[k - 1]!]) g++;
      this.#group[k] = g;
    }
    const groups = units.length === 0 ? 0 : g + 1;
    this.#posW = new Float64Array(groups);
    this.#negW = new Float64Array(groups);
  }

  /** AUC with unit u counted `weights[u]` times; null when the weighted units hold one class. */
  auc(weights: Int32Array): number | null {
    this.#posW.fill(0);
    this.#negW.fill(0);
    let P = 0;
    let N = 0;
    for (let k = 0; k < this.#unit.length; k++) {
      const w = weights[this.#unit[k]!]!;
      if (w === 0) continue;
      if (this.#positive[k]) {
        this.#posW[this.#group[k]!]! += w;
        P += w;
      } else {
        this.#negW[this.#group[k]!]! += w;
        N += w;
      }
    }
    if (P === 0 || N === 0) return null;
    let below = 0;
    let u = 0;
    for (let g = 0; g < this.#posW.length; g++) {
      u += this.#posW[g]! * (below + 0.5 * this.#negW[g]!);
      below += this.#negW[g]!;
    }
    return u / (P * N);
  }
}

/** One task of a paired bootstrap: labels and both models' scores, `[units]` each (the same units). */
export interface PairedTask {
  labels: ArrayLike<number>;
  a: ArrayLike<number>;
  b: ArrayLike<number>;
}

/** A percentile bootstrap interval of an AUC difference. */
export interface DifferenceInterval {
  /** Null when no resample could be used. */
  low: number | null;
  high: number | null;
  /** Resamples used, and skipped because a task held one class in them. */
  used: number;
  skipped: number;
}

/** Options of {@link pairedBootstrapAucDifference}. */
export interface PairedBootstrapOptions {
  /** Resamples (default 1000). */
  resamples?: number;
  seed: number;
  /** Confidence level (default 0.95). */
  level?: number;
}

/**
 * Paired percentile bootstrap of AUC differences (Efron & Tibshirani 1993, ch. 13): each resample
 * draws the units with replacement ONCE ({@link bootstrapIndices}) and scores both models and every
 * task on that same draw, so the interval reflects the differences on the same units, not two
 * independent intervals. Per task: the quantiles of AUC_A - AUC_B over the resamples in which the
 * task holds both classes. Macro: the quantiles of the mean over tasks of AUC_A - AUC_B, over the
 * resamples in which every task holds both classes. Quantiles interpolated linearly (numpy's default).
 * @param tasks all of the same length n (the evaluated units; NaN labels are not evaluated).
 * @throws RangeError when the tasks' lengths differ.
 */
export function pairedBootstrapAucDifference(
  tasks: readonly PairedTask[],
  options: PairedBootstrapOptions,
): { perTask: DifferenceInterval[]; macro: DifferenceInterval } {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  const n = tasks[0]?.labels.length ?? 0;
  for (const t of tasks) {
    if (t.labels.length !== n || t.a.length !== n || t.b.length !== n)
      throw new RangeError('every task of a paired bootstrap must have the same units');
  }
  const models = tasks.map((t) => ({ a: new WeightedAuc(t.a, t.labels), b: new WeightedAuc(t.b, t.labels) }));
  const perTask = tasks.map(() => [] as number[]);
  const skipped = tasks.map(() => 0);
  const macro: number[] = [];
  let macroSkipped = 0;
  const weights = new Int32Array(n);
  if (n > 0) {
    for (const idx of bootstrapIndices(n, resamples, options.seed)) {
      weights.fill(0);
      for (const i of idx) weights[i]!++;
      let sum = 0;
      let complete = true;
      for (const [k, m] of models.entries()) {
        const a = m.a.auc(weights);
        const b = m.b.auc(weights);
        if (a === null || b === null) {
          skipped[k]!++;
          complete = false;
          continue;
        }
        perTask[k]!.push(a - b);
        sum += a - b;
      }
      if (complete && tasks.length > 0) macro.push(sum / tasks.length);
      else macroSkipped++;
    }
  } else {
    macroSkipped = resamples;
    skipped.fill(resamples);
  }
  const interval = (values: number[], skip: number): DifferenceInterval => {
    if (values.length === 0) return { low: null, high: null, used: 0, skipped: skip };
    values.sort((x, y) => x - y);
    return {
      low: quantile(values, (1 - level) / 2),
      high: quantile(values, (1 + level) / 2),
      used: values.length,
      skipped: skip,
    };
  };
  return {
    perTask: perTask.map((v, k) => interval(v, skipped[k]!)),
    macro: interval(macro, macroSkipped),
  };
}

/**
 * Holm's step-down adjustment for multiple comparisons (Holm, Scandinavian Journal of Statistics
 * 6(2), 1979), controlling the family-wise error rate: with the m non-null p-values sorted
 * ascending, p_(i) becomes max over j <= i of min(1, (m - j + 1) p_(j)). Null entries are not
 * tested, do not count in m and stay null; the result is in the input's order.
 */
export function holmAdjust(pValues: readonly (number | null)[]): (number | null)[] {
  const tested = pValues
    .map((p, i) => ({ p, i }))
    .filter((x): x is { p: number; i: number } => x.p !== null && Number.isFinite(x.p))
    .sort((x, y) => x.p - y.p || x.i - y.i);
  const m = tested.length;
  const out: (number | null)[] = pValues.map(() => null);
  let running = 0;
  for (const [j, x] of tested.entries()) {
    running = Math.max(running, Math.min(1, (m - j) * x.p));
    out[x.i] = running;
  }
  return out;
}

/** The corrected resampled t-test of one mean difference. */
export interface CorrectedTTest {
  /** Number of resamples J (differences). */
  resamples: number;
  mean: number;
  /** Sample standard deviation of the differences (denominator J - 1). */
  sd: number;
  /** mean / sqrt((1/J + n_test/n_train) sd^2); null when sd is 0. */
  t: number | null;
  /** Degrees of freedom, J - 1. */
  df: number;
  /** Two-sided p-value from Student's t with J - 1 degrees of freedom; null when t is. */
  pValue: number | null;
  /** mean -/+ t_{J-1, (1+level)/2} x the corrected standard error; null when sd is 0. */
  ciLow: number | null;
  ciHigh: number | null;
}

/**
 * Nadeau & Bengio's corrected resampled t-test (Machine Learning 52, 2003, Section 5): J
 * differences of a score between two models, each from one random train/test resample of the
 * same data, are not independent (the training sets overlap), so the naive variance sd^2 / J is
 * replaced by (1/J + n_test/n_train) sd^2; t = mean / sqrt(that), with J - 1 degrees of freedom.
 * For repeated K-fold cross-validation J = repeats x K and n_test/n_train = 1/(K-1) (Bouckaert &
 * Frank, PAKDD 2004). Student's t from @stdlib.
 * @param differences `[J]`; @param testTrainRatio n_test / n_train (units).
 * @returns null when J < 2.
 */
export function correctedResampledTTest(
  differences: readonly number[],
  testTrainRatio: number,
  level = 0.95,
): CorrectedTTest | null {
  const J = differences.length;
  if (J < 2) return null;
  const mean = differences.reduce((s, x) => s + x, 0) / J;
  const sd = Math.sqrt(differences.reduce((s, x) => s + (x - mean) ** 2, 0) / (J - 1));
  const df = J - 1;
  if (!(sd > 0)) return { resamples: J, mean, sd: 0, t: null, df, pValue: null, ciLow: null, ciHigh: null };
  const se = Math.sqrt((1 / J + testTrainRatio) * sd * sd);
  const t = mean / se;
  const pValue = 2 * tCdf(-Math.abs(t), df);
  const half = tQuantile((1 + level) / 2, df) * se;
  return { resamples: J, mean, sd, t, df, pValue, ciLow: mean - half, ciHigh: mean + half };
}
