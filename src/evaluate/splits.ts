import { SeededRandom } from './random.js';

/**
 * Splits at the unit of analysis (a user, or a post when a dataset has no author ids): every unit
 * goes to exactly one of train / dev / test, or to exactly one cross-validation fold, so no unit is
 * ever both trained and evaluated on. Stratified per task with iterative stratification for
 * multi-label data (Sechidis, Tsoumakas & Vlahavas, "On the Stratification of Multi-label Data",
 * ECML PKDD 2011, Algorithm 1), deterministic from the seed. Pure: typed arrays in, typed arrays out.
 */

/** Split codes in an assignment array (Int8Array, one entry per unit). */
export const SPLIT_TRAIN = 0;
export const SPLIT_DEV = 1;
export const SPLIT_TEST = 2;
/** Names of the split codes, indexed by code: `SPLIT_NAMES[SPLIT_TEST] === 'test'`. */
export const SPLIT_NAMES = ['train', 'dev', 'test'] as const;
export type SplitName = (typeof SPLIT_NAMES)[number];

/** The labels the splits are stratified on. */
export interface LabelMatrix {
  /** Number of units (rows). */
  units: number;
  /** Task names (columns), in the column order of `y`. */
  tasks: readonly string[];
  /** `[units x tasks]` row-major: 1 positive, 0 negative, NaN unknown. */
  y: Float32Array;
}

/** Options of {@link holdoutSplit}. */
export interface HoldoutOptions {
  /** Seed of the shuffle and tie-breaks: same seed and labels, same split. */
  seed: number;
  /** Fractions of train, dev, test; each >= 0, summing to 1. Default [0.7, 0.1, 0.2]. */
  ratios?: readonly [number, number, number];
  /**
   * `[units]`, 1 for a unit that may only train (e.g. one an earlier run trained or early-stopped
   * on, when this run starts from its weights): it goes to train, never to dev or test; the other
   * units are split with `ratios` as if they were all there is.
   */
  trainOnly?: Uint8Array;
}

/** Options of {@link crossValidationSplit}. */
export interface CrossValidationOptions {
  seed: number;
  /** Number of folds K (2..127). */
  folds: number;
  /**
   * Fraction of each fold's training units (the other K-1 folds) carved off as its dev part, for
   * early stopping and threshold choice. Default 0.125 (with K=5: 70% train, 10% dev, 20% test).
   */
  devFraction?: number;
  /** As in {@link HoldoutOptions}: these units are in no fold and train in every fold. */
  trainOnly?: Uint8Array;
}

/** A K-fold design: the fold of every unit, and for every fold the train / dev / test role of every unit. */
export interface CrossValidationSplit {
  /** Fold id per unit, 0..K-1: the fold in which the unit is in the test part; -1 for a train-only unit. */
  foldIds: Int8Array;
  /**
   * `assignments[k]` is the split of every unit when fold k is held out: SPLIT_TEST for the units
   * of fold k, SPLIT_DEV for the dev part carved (stratified) from the other folds, SPLIT_TRAIN for the rest.
   */
  assignments: Int8Array[];
}

function checkLabels(labels: LabelMatrix): void {
  const { units, tasks, y } = labels;
  if (!Number.isInteger(units) || units < 0) throw new RangeError(`units must be a count (got ${units})`);
  if (y.length !== units * tasks.length) {
    throw new RangeError(
      `y has ${y.length} values, expected units x tasks = ${units} x ${tasks.length} = ${units * tasks.length}`,
    );
  }
}

/** The units of `labels` that are not train-only. @throws RangeError when the mask has the wrong length. */
function freeUnits(labels: LabelMatrix, trainOnly: Uint8Array | undefined): Int32Array {
  if (trainOnly && trainOnly.length !== labels.units)
    throw new RangeError(`trainOnly has ${trainOnly.length} entries, expected ${labels.units}`);
  const out: number[] = [];
  for (let u = 0; u < labels.units; u++) if (!trainOnly?.[u]) out.push(u);
  return Int32Array.from(out);
}

function checkRatios(ratios: readonly number[]): void {
  if (ratios.some((r) => !(r >= 0)) || Math.abs(ratios.reduce((a, b) => a + b, 0) - 1) > 1e-9) {
    throw new RangeError(`split ratios must be >= 0 and sum to 1 (got ${ratios.join(', ')})`);
  }
}

/**
 * Split units into train / dev / test (codes SPLIT_TRAIN, SPLIT_DEV, SPLIT_TEST), stratified per
 * task by iterative stratification (see {@link iterativeStratification}); train-only units
 * (`options.trainOnly`) go to train and the others are split as usual.
 * @returns Int8Array `[units]` of split codes.
 * @throws RangeError on a shape mismatch or ratios that are negative or do not sum to 1.
 */
export function holdoutSplit(labels: LabelMatrix, options: HoldoutOptions): Int8Array {
  checkLabels(labels);
  const ratios = options.ratios ?? [0.7, 0.1, 0.2];
  checkRatios(ratios);
  const free = freeUnits(labels, options.trainOnly);
  const subset = iterativeStratification(labels, free, ratios, new SeededRandom(options.seed, 1));
  return Int8Array.from(subset, (p) => (p < 0 ? SPLIT_TRAIN : p));
}

/**
 * K-fold cross-validation at the unit of analysis: K folds of (nearly) equal size stratified per
 * task, then within each fold a dev part carved, again by iterative stratification, from the
 * other K-1 folds. Train-only units (`options.trainOnly`) are in no fold and train in every fold.
 * @throws RangeError when K is not in 2..127, devFraction not in [0, 1), or the shapes mismatch.
 */
export function crossValidationSplit(
  labels: LabelMatrix,
  options: CrossValidationOptions,
): CrossValidationSplit {
  checkLabels(labels);
  const k = options.folds;
  if (!Number.isInteger(k) || k < 2 || k > 127)
    throw new RangeError(`folds must be an integer in 2..127 (got ${k})`);
  const devFraction = options.devFraction ?? 0.125;
  if (!(devFraction >= 0 && devFraction < 1))
    throw new RangeError(`devFraction must be in [0, 1) (got ${devFraction})`);
  const free = freeUnits(labels, options.trainOnly);
  const foldIds = Int8Array.from(
    iterativeStratification(
      labels,
      free,
      new Array<number>(k).fill(1 / k),
      new SeededRandom(options.seed, 2),
    ),
  );
  const assignments: Int8Array[] = [];
  for (let fold = 0; fold < k; fold++) {
    const rest: number[] = [];
    for (const u of free) if (foldIds[u] !== fold) rest.push(u);
    const carved = iterativeStratification(
      labels,
      Int32Array.from(rest),
      [1 - devFraction, devFraction],
      new SeededRandom(options.seed, 100 + fold),
    );
    const a = new Int8Array(labels.units).fill(SPLIT_TRAIN);
    for (const u of free) if (foldIds[u] === fold) a[u] = SPLIT_TEST;
    for (const u of rest) a[u] = carved[u] === 1 ? SPLIT_DEV : SPLIT_TRAIN;
    assignments.push(a);
  }
  return { foldIds, assignments };
}

/**
 * A temporal split: the units ordered by time (ties: by index), the latest round(test x n) go to
 * test, the round(dev x n) before them to dev, the rest to train, so that every test unit is at
 * least as late as every dev unit, and every dev unit as late as every train unit: the model is
 * tested on a later period than it learned from (Harrigian & Dredze 2022 on temporal drift).
 * Train-only units (`trainOnly`) go to train and `n` counts the others.
 * @param times `[units]` epoch milliseconds (NaN not allowed for units that are not train-only).
 * @param ratios train, dev, test fractions (>= 0, summing to 1).
 * @returns Int8Array `[units]` of split codes.
 * @throws RangeError on a shape mismatch, a NaN time or bad ratios.
 */
export function temporalSplit(
  times: Float64Array,
  ratios: readonly [number, number, number],
  trainOnly?: Uint8Array,
): Int8Array {
  checkRatios(ratios);
  if (trainOnly && trainOnly.length !== times.length)
    throw new RangeError(`trainOnly has ${trainOnly.length} entries, expected ${times.length}`);
  const free: number[] = [];
  for (let u = 0; u < times.length; u++) {
    if (trainOnly?.[u]) continue;
    if (Number.isNaN(times[u]!)) throw new RangeError(`unit ${u} has no time`);
    free.push(u);
  }
  free.sort((a, b) => times[a]! - times[b]! || a - b);
  const n = free.length;
  const nTest = Math.round(ratios[2] * n);
  const nDev = Math.min(n - nTest, Math.round(ratios[1] * n));
  const out = new Int8Array(times.length).fill(SPLIT_TRAIN);
  free.forEach((u, rank) => {
    if (rank >= n - nTest) out[u] = SPLIT_TEST;
    else if (rank >= n - nTest - nDev) out[u] = SPLIT_DEV;
  });
  return out;
}

/**
 * Iterative stratification (Sechidis et al. 2011, Algorithm 1) of the units in `subset` into
 * `ratios.length` parts. Desired counts per part are `ratio x units` overall and `ratio x positives`
 * per task. Repeatedly take the task with the fewest not-yet-assigned positive units; give each of
 * its units (in seeded random order) to the part that most wants that task (largest desired count
 * for it; ties: largest overall desired count; then random), and decrement that part's desired
 * counts for every task the unit is positive for. Units positive for no task (0 or NaN only) go last,
 * each to the part with the largest overall desired count. Only positives (y = 1) drive the
 * stratification: negatives follow from the part sizes.
 * @returns Int8Array `[units]`: the part index of each unit of `subset`, -1 for units outside it.
 */
export function iterativeStratification(
  labels: LabelMatrix,
  subset: Int32Array,
  ratios: readonly number[],
  rng: SeededRandom,
): Int8Array {
  const { tasks, y } = labels;
  const t = tasks.length;
  const parts = ratios.length;
  const part = new Int8Array(labels.units).fill(-1);
  const order = rng.shuffle(Int32Array.from(subset));
  const positivesOf: number[][] = Array.from({ length: t }, () => []);
  for (const u of order) {
    for (let j = 0; j < t; j++) if (y[u * t + j] === 1) positivesOf[j]!.push(u);
  }
  const desired = ratios.map((r) => r * order.length);
  const desiredTask = ratios.map((r) => positivesOf.map((list) => r * list.length));
  const remaining = positivesOf.map((list) => list.length);
  const assigned = new Uint8Array(labels.units);

  const pick = (scoreA: (p: number) => number): number => {
    let best: number[] = [];
    let bestA = Number.NEGATIVE_INFINITY;
    let bestB = Number.NEGATIVE_INFINITY;
    for (let p = 0; p < parts; p++) {
      if (ratios[p] === 0) continue;
      const a = scoreA(p);
      const b = desired[p]!;
      if (a > bestA || (a === bestA && b > bestB)) {
        best = [p];
        bestA = a;
        bestB = b;
      } else if (a === bestA && b === bestB) best.push(p);
    }
    return best.length === 1 ? best[0]! : best[rng.int(best.length)]!;
  };
  const assign = (u: number, p: number): void => {
    part[u] = p;
    assigned[u] = 1;
    desired[p]! -= 1;
    for (let j = 0; j < t; j++) {
      if (y[u * t + j] === 1) {
        desiredTask[p]![j]! -= 1;
        remaining[j]! -= 1;
      }
    }
  };

  for (;;) {
    let task = -1;
    for (let j = 0; j < t; j++) {
      if (remaining[j]! > 0 && (task < 0 || remaining[j]! < remaining[task]!)) task = j;
    }
    if (task < 0) break;
    for (const u of positivesOf[task]!) {
      if (assigned[u]) continue;
      assign(
        u,
        pick((p) => desiredTask[p]![task]!),
      );
    }
  }
  for (const u of order)
    if (!assigned[u])
      assign(
        u,
        pick(() => 0),
      );
  return part;
}
