import { SeededRandom } from './random.js';

/**
 * Area under the ROC curve of `scores` for binary `labels` (1 positive, 0 negative; NaN and other
 * values are ignored), computed as the Mann-Whitney U statistic with average ranks for tied scores
 * (Hanley & McNeil, Radiology 1982). Returns null when the evaluated units hold only one class,
 * never 0.5 or NaN.
 */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === 0 || labels[i] === 1) idx.push(i);
  idx.sort((a, b) => scores[a]! - scores[b]!);
  let positives = 0;
  let rankSumPositives = 0;
  for (let start = 0; start < idx.length; ) {
    let end = start + 1;
    while (end < idx.length && scores[idx[end]!] === scores[idx[start]!]) end++;
    const averageRank = (start + 1 + end) / 2; // ranks are 1-based: start+1 .. end
    for (let k = start; k < end; k++) {
      if (labels[idx[k]!] === 1) {
        positives++;
        rankSumPositives += averageRank;
      }
    }
    start = end;
  }
  const negatives = idx.length - positives;
  if (positives === 0 || negatives === 0) return null;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/**
 * The labeled units of one task, grouped by distinct score in descending order: the sufficient
 * statistics of every threshold metric (ROC, precision-recall, F1). Ties share a group, so a
 * threshold never separates two units with the same score.
 */
export interface ScoreGroups {
  /** Distinct scores, descending. */
  thresholds: Float64Array;
  /** Positives with exactly that score, per group. */
  positives: Int32Array;
  /** Negatives with exactly that score, per group. */
  negatives: Int32Array;
  /** Total positives P and negatives N. */
  totalPositives: number;
  totalNegatives: number;
}

/**
 * Group labeled units (label 0 or 1; NaN and other values are ignored) by distinct score, descending.
 * @throws RangeError when a labeled unit has a score that is not a finite number, or the lengths differ.
 */
export function scoreGroups(scores: ArrayLike<number>, labels: ArrayLike<number>): ScoreGroups {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores (${scores.length}) and labels (${labels.length}) differ in length`);
  }
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] === 0 || labels[i] === 1) {
      if (!Number.isFinite(scores[i])) throw new RangeError(`score of labeled unit ${i} is ${scores[i]}`);
      idx.push(i);
    }
  }
  idx.sort((a, b) => scores[b]! - scores[a]!);
  const thresholds: number[] = [];
  const pos: number[] = [];
  const neg: number[] = [];
  let P = 0;
  for (let k = 0; k < idx.length; k++) {
    const s = scores[idx[k]!]!;
    if (k === 0 || s !== thresholds[thresholds.length - 1]) {
      thresholds.push(s);
      pos.push(0);
      neg.push(0);
    }
    if (labels[idx[k]!] === 1) {
      pos[pos.length - 1]!++;
      P++;
    } else neg[neg.length - 1]!++;
  }
  return {
    thresholds: Float64Array.from(thresholds),
    positives: Int32Array.from(pos),
    negatives: Int32Array.from(neg),
    totalPositives: P,
    totalNegatives: idx.length - P,
  };
}

/** ROC curve: parallel arrays, thresholds descending, FPR and TPR non-decreasing. */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  /** A unit is predicted positive when its score >= threshold; the first point has +Infinity. */
  thresholds: number[];
}

/**
 * The ROC curve at every distinct score (scikit-learn's `roc_curve` with `drop_intermediate=False`):
 * a first point (0, 0) at threshold +Infinity, then one point per distinct score s, descending, with
 * FPR = FP/N and TPR = TP/P for the rule "positive when score >= s". Tied scores move both rates at
 * once (a diagonal segment). Returns null when the labeled units hold only one class.
 */
export function rocCurve(groups: ScoreGroups): RocCurve | null {
  const { totalPositives: P, totalNegatives: N } = groups;
  if (P === 0 || N === 0) return null;
  const curve: RocCurve = { fpr: [0], tpr: [0], thresholds: [Number.POSITIVE_INFINITY] };
  let tp = 0;
  let fp = 0;
  for (let g = 0; g < groups.thresholds.length; g++) {
    tp += groups.positives[g]!;
    fp += groups.negatives[g]!;
    curve.fpr.push(fp / N);
    curve.tpr.push(tp / P);
    curve.thresholds.push(groups.thresholds[g]!);
  }
  return curve;
}

/**
 * Thin a ROC curve to at most `maxPoints` points for storage and plotting, keeping both ends.
 * First drop points that lie inside a horizontal or vertical run (collinear with both neighbours on
 * the same axis: scikit-learn's `drop_intermediate`, which does not change the curve's shape), then,
 * if still too many, keep the points at evenly spaced indices `round(i (n-1) / (maxPoints-1))`.
 * @throws RangeError when maxPoints < 2.
 */
export function downsampleRoc(curve: RocCurve, maxPoints = 200): RocCurve {
  if (maxPoints < 2) throw new RangeError(`maxPoints must be >= 2 (got ${maxPoints})`);
  const n = curve.fpr.length;
  const keep: number[] = [];
  for (let i = 0; i < n; i++) {
    if (i === 0 || i === n - 1) keep.push(i);
    else {
      const sameFpr = curve.fpr[i - 1] === curve.fpr[i] && curve.fpr[i] === curve.fpr[i + 1];
      const sameTpr = curve.tpr[i - 1] === curve.tpr[i] && curve.tpr[i] === curve.tpr[i + 1];
      if (!sameFpr && !sameTpr) keep.push(i);
    }
  }
  let chosen = keep;
  if (keep.length > maxPoints) {
    chosen = [];
    for (let i = 0; i < maxPoints; i++)
      chosen.push(keep[Math.round((i * (keep.length - 1)) / (maxPoints - 1))]!);
  }
  return {
    fpr: chosen.map((i) => curve.fpr[i]!),
    tpr: chosen.map((i) => curve.tpr[i]!),
    thresholds: chosen.map((i) => curve.thresholds[i]!),
  };
}

/**
 * TPR at a target FPR, as a step function of the full ROC curve: the highest TPR among the curve's
 * points (thresholds at distinct scores) whose FPR <= target. No interpolation between points, so
 * the value is achievable by a single threshold on these scores. Always >= 0 (the (0, 0) point).
 */
export function tprAtFpr(curve: RocCurve, targetFpr: number): number {
  let best = 0;
  for (let i = 0; i < curve.fpr.length; i++)
    if (curve.fpr[i]! <= targetFpr && curve.tpr[i]! > best) best = curve.tpr[i]!;
  return best;
}

/**
 * Average precision as scikit-learn defines it (`average_precision_score`): AP = sum over distinct
 * thresholds, descending, of (R_k - R_{k-1}) x P_k, with P_k and R_k the precision and recall of
 * "positive when score >= threshold k" and R_0 = 0. Step-wise, no interpolation. Null when there
 * are no positives or no negatives.
 */
export function averagePrecision(groups: ScoreGroups): number | null {
  const { totalPositives: P, totalNegatives: N } = groups;
  if (P === 0 || N === 0) return null;
  let tp = 0;
  let predicted = 0;
  let ap = 0;
  for (let g = 0; g < groups.thresholds.length; g++) {
    const dp = groups.positives[g]!;
    tp += dp;
    predicted += dp + groups.negatives[g]!;
    ap += (dp / P) * (tp / predicted);
  }
  return ap;
}

/** Precision, recall and F1 of "positive when score >= threshold". */
export interface ThresholdMetrics {
  threshold: number;
  /** TP / (TP + FP); 0 when nothing is predicted positive (scikit-learn's zero_division=0). */
  precision: number;
  /** TP / P. */
  recall: number;
  /** 2PR / (P + R); 0 when P + R = 0. */
  f1: number;
}

/**
 * Precision, recall and F1 at `threshold` (positive when score >= threshold).
 * Null when the labeled units have no positives (recall undefined).
 */
export function thresholdMetrics(groups: ScoreGroups, threshold: number): ThresholdMetrics | null {
  if (groups.totalPositives === 0) return null;
  let tp = 0;
  let fp = 0;
  for (let g = 0; g < groups.thresholds.length && groups.thresholds[g]! >= threshold; g++) {
    tp += groups.positives[g]!;
    fp += groups.negatives[g]!;
  }
  return prf(threshold, tp, fp, groups.totalPositives);
}

function prf(threshold: number, tp: number, fp: number, P: number): ThresholdMetrics {
  const precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  const recall = tp / P;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { threshold, precision, recall, f1 };
}

/**
 * Choose the decision threshold that maximizes F1 on (dev) units: the candidates are the distinct
 * scores (positive when score >= candidate); among equal F1, the highest threshold wins (fewest
 * predicted positives). Null when the units hold no positives.
 */
export function maxF1Threshold(groups: ScoreGroups): ThresholdMetrics | null {
  const P = groups.totalPositives;
  if (P === 0) return null;
  let best: ThresholdMetrics | null = null;
  let tp = 0;
  let fp = 0;
  for (let g = 0; g < groups.thresholds.length; g++) {
    tp += groups.positives[g]!;
    fp += groups.negatives[g]!;
    const m = prf(groups.thresholds[g]!, tp, fp, P);
    if (best === null || m.f1 > best.f1) best = m;
  }
  return best;
}

/**
 * Brier score: the mean squared difference between score (a probability in [0, 1]) and label over
 * the labeled units (Brier, Monthly Weather Review 1950). Lower is better. Null with no labeled units.
 */
export function brierScore(scores: ArrayLike<number>, labels: ArrayLike<number>): number | null {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l === 0 || l === 1) {
      const d = scores[i]! - l;
      sum += d * d;
      n++;
    }
  }
  return n === 0 ? null : sum / n;
}

/** Options of {@link bootstrapAucCi}. */
export interface BootstrapOptions {
  /** Number of bootstrap resamples (default 1000). */
  resamples?: number;
  /** Seed of the resampling: same seed, same interval. */
  seed: number;
  /** Confidence level (default 0.95: the 2.5th and 97.5th percentiles). */
  level?: number;
}

/** A percentile bootstrap confidence interval of the AUC. */
export interface BootstrapInterval {
  /** Null when no resample held both classes. */
  low: number | null;
  high: number | null;
  /** Resamples that held both classes and entered the percentiles. */
  used: number;
  /** Resamples skipped because they held only one class. */
  skipped: number;
}

/**
 * Percentile bootstrap confidence interval of the ROC AUC (Efron & Tibshirani, An Introduction to
 * the Bootstrap, 1993, ch. 13): draw the labeled units with replacement `resamples` times (same
 * size, not stratified), compute the AUC of each resample (ties get half credit, as in
 * {@link rocAuc}), skip and count resamples holding one class, and take the (1-level)/2 and
 * (1+level)/2 quantiles of the rest with linear interpolation between order statistics (numpy's
 * default). Each resample costs O(n) after one sort.
 */
export function bootstrapAucCi(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: BootstrapOptions,
): BootstrapInterval {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  const idx: number[] = [];
  for (let i = 0; i < labels.length; i++) if (labels[i] === 0 || labels[i] === 1) idx.push(i);
  idx.sort((a, b) => scores[a]! - scores[b]!);
  const n = idx.length;
  const group = new Int32Array(n);
  const isPos = new Uint8Array(n);
  let groups = 0;
  for (let k = 0; k < n; k++) {
    if (k > 0 && scores[idx[k]!] !== scores[idx[k - 1]!]) groups++;
    group[k] = groups;
    isPos[k] = labels[idx[k]!] === 1 ? 1 : 0;
  }
  groups = n === 0 ? 0 : groups + 1;
  const rng = new SeededRandom(options.seed, 7);
  const weight = new Int32Array(n);
  const posW = new Float64Array(groups);
  const negW = new Float64Array(groups);
  const aucs: number[] = [];
  let skipped = 0;
  for (let r = 0; r < resamples; r++) {
    weight.fill(0);
    posW.fill(0);
    negW.fill(0);
    for (let k = 0; k < n; k++) weight[rng.int(n)]!++;
    let P = 0;
    let N = 0;
    for (let k = 0; k < n; k++) {
      const w = weight[k]!;
      if (w === 0) continue;
      if (isPos[k]) {
        posW[group[k]!]! += w;
        P += w;
      } else {
        negW[group[k]!]! += w;
        N += w;
      }
    }
    if (P === 0 || N === 0) {
      skipped++;
      continue;
    }
    let negBelow = 0;
    let u = 0;
    for (let g = 0; g < groups; g++) {
      u += posW[g]! * (negBelow + 0.5 * negW[g]!);
      negBelow += negW[g]!;
    }
    aucs.push(u / (P * N));
  }
  if (aucs.length === 0) return { low: null, high: null, used: 0, skipped };
  aucs.sort((a, b) => a - b);
  return {
    low: quantile(aucs, (1 - level) / 2),
    high: quantile(aucs, (1 + level) / 2),
    used: aucs.length,
    skipped,
  };
}

/** The q-quantile of ascending `sorted` with linear interpolation between order statistics. */
export function quantile(sorted: readonly number[], q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (pos - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Why a task's metrics are NULL. */
export type NullReason = 'single_class' | 'no_labels';

/** Options of {@link taskMetrics}. */
export interface TaskMetricOptions {
  /** Decision threshold chosen on dev (see {@link maxF1Threshold}); null leaves precision/recall/F1 NULL. */
  threshold: number | null;
  /** FPRs at which to report the TPR (default [0.1]). */
  fprTargets?: readonly number[];
  bootstrap: BootstrapOptions;
  /** Most ROC points kept (default 200). */
  maxRocPoints?: number;
}

/** Every metric of one model on one task and one set of units. */
export interface TaskMetrics {
  /** Labeled units (label 0 or 1), positives, negatives. */
  n: number;
  positives: number;
  negatives: number;
  /** Null with reason 'single_class' (one class present) or 'no_labels' (no labeled unit). */
  nullReason: NullReason | null;
  auc: number | null;
  aucCiLow: number | null;
  aucCiHigh: number | null;
  bootstrapUsed: number;
  bootstrapSkipped: number;
  /** TPR at each target FPR (step function, see {@link tprAtFpr}), keyed by the FPR as written by String(). */
  tprAtFpr: Record<string, number> | null;
  averagePrecision: number | null;
  threshold: number | null;
  precision: number | null;
  recall: number | null;
  f1: number | null;
  brier: number | null;
  /** The ROC curve downsampled to at most maxRocPoints points. */
  roc: RocCurve | null;
}

/**
 * All metrics of one model's scores on one task over one set of units: n, positives, ROC AUC with
 * its percentile bootstrap CI, ROC curve, TPR at the target FPRs, average precision, precision /
 * recall / F1 at the given (dev-chosen) threshold, Brier score. When the labeled units hold a single
 * class (or none) every metric is NULL, with the counts and the reason: never 0.5, never NaN.
 * @param scores `[units]` probabilities; @param labels `[units]` 1 / 0 / NaN (NaN = not evaluated).
 */
export function taskMetrics(
  scores: ArrayLike<number>,
  labels: ArrayLike<number>,
  options: TaskMetricOptions,
): TaskMetrics {
  const groups = scoreGroups(scores, labels);
  const positives = groups.totalPositives;
  const negatives = groups.totalNegatives;
  const n = positives + negatives;
  const empty: TaskMetrics = {
    n,
    positives,
    negatives,
    nullReason: n === 0 ? 'no_labels' : 'single_class',
    auc: null,
    aucCiLow: null,
    aucCiHigh: null,
    bootstrapUsed: 0,
    bootstrapSkipped: 0,
    tprAtFpr: null,
    averagePrecision: null,
    threshold: null,
    precision: null,
    recall: null,
    f1: null,
    brier: null,
    roc: null,
  };
  const curve = rocCurve(groups);
  if (curve === null) return empty;
  const ci = bootstrapAucCi(scores, labels, options.bootstrap);
  const tpr: Record<string, number> = {};
  for (const f of options.fprTargets ?? [0.1]) tpr[String(f)] = tprAtFpr(curve, f);
  const at = options.threshold === null ? null : thresholdMetrics(groups, options.threshold);
  return {
    ...empty,
    nullReason: null,
    auc: rocAuc(scores, labels),
    aucCiLow: ci.low,
    aucCiHigh: ci.high,
    bootstrapUsed: ci.used,
    bootstrapSkipped: ci.skipped,
    tprAtFpr: tpr,
    averagePrecision: averagePrecision(groups),
    threshold: at?.threshold ?? null,
    precision: at?.precision ?? null,
    recall: at?.recall ?? null,
    f1: at?.f1 ?? null,
    brier: brierScore(scores, labels),
    roc: downsampleRoc(curve, options.maxRocPoints ?? 200),
  };
}

/** Mean of the non-null values; null when there is none (a NULL task is left out, never counted as 0.5). */
export function macroAverage(values: readonly (number | null)[]): number | null {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
}

/**
 * Δm, the mean relative improvement of a multi-task model over single-task models (Maninis et al.,
 * CVPR 2019; Vandenhende et al., TPAMI 2021): mean over tasks of (M_mtl - M_stl) / M_stl for a
 * higher-is-better metric M (mhmtl uses the AUC). Tasks where either value is null (or M_stl is 0)
 * are left out. Returned as a fraction (0.02 = +2%); null when no task qualifies.
 */
export function deltaM(mtl: readonly (number | null)[], stl: readonly (number | null)[]): number | null {
  const rel: number[] = [];
  for (let i = 0; i < mtl.length; i++) {
    const m = mtl[i];
    const s = stl[i];
    if (m !== null && m !== undefined && s !== null && s !== undefined && s !== 0) rel.push((m - s) / s);
  }
  return rel.length === 0 ? null : rel.reduce((a, b) => a + b, 0) / rel.length;
}
