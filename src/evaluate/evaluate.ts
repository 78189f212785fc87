import { DEFAULT_CALIBRATION_BINS, expectedCalibrationError, reliabilityBins } from './calibration.js';
import type { CalibrationRecord } from './calibration-curves.js';
import {
  compareAcrossResamples,
  type ComparedTask,
  type ComparisonPair,
  compareOnUnits,
  defaultComparisons,
  type EvaluatedModel,
  type ModelComparison,
  type ModelKind,
} from './comparisons.js';
import {
  deltaM,
  macroAverage,
  maxF1Threshold,
  type RocCurve,
  scoreGroups,
  type TaskMetrics,
  taskMetrics,
} from './metrics.js';
import { SPLIT_DEV, SPLIT_TEST, SPLIT_TRAIN, type SplitName } from './splits.js';

export {
  type ComparisonPair,
  defaultComparisons,
  type EvaluatedModel,
  MODEL_KINDS,
  type ModelComparison,
  type ModelKind,
} from './comparisons.js';

/**
 * Evaluation of one pipeline run: per model x task x split (x fold) metrics, ROC curves, low
 * support flags, paired comparisons of models against references (per task and macro), macro
 * averages over the main tasks and Δm; for a run with repeats, every repeat's rows and the
 * comparisons across them. Models are known by name (an open set) with their kind beside it.
 * Pure computation on typed arrays; `store.ts` writes the result to the database.
 */

/** Default least number of positives and of negatives for a task's evaluated set not to be low support. */
export const DEFAULT_MIN_POSITIVES = 10;

/** A task of the run. Auxiliary tasks (e.g. gender) are reported but not macro-averaged or compared. */
export interface EvaluationTask {
  name: string;
  auxiliary: boolean;
}

/**
 * How the units were split. `holdout`: one train / dev / test split (`split[u]` is SPLIT_TRAIN,
 * SPLIT_DEV or SPLIT_TEST, see splits.ts; -1 for a unit in none). `cv`: K-fold cross-validation,
 * `assignments[k][u]` the role of unit u when fold k is held out (as {@link crossValidationSplit}
 * returns); each unit must be SPLIT_TEST in exactly one fold.
 */
export type EvaluationDesign =
  | { kind: 'holdout'; split: Int8Array }
  | { kind: 'cv'; assignments: readonly Int8Array[] };

/** What the pipeline hands to {@link evaluateRun}: one repeat's labels, split and scores. */
export interface EvaluationInput {
  tasks: readonly EvaluationTask[];
  /** Unit pseudonyms, `[units]` (stored with the predictions and splits). */
  unitIds: readonly string[];
  /** Labels `[units x tasks]` row-major: 1, 0, NaN unknown. */
  y: Float32Array;
  design: EvaluationDesign;
  /** The models, in the order they are reported; each has scores. */
  models: readonly EvaluatedModel[];
  /**
   * Scores (probabilities) per model name, each `[units x tasks]` row-major, for ALL units
   * (holdout: the model's predictions on train, dev and test; cv: out-of-fold predictions, each unit
   * scored by the model of the fold that held it out). STL and LR kinds: the per-task models' scores
   * assembled into one matrix. NaN is allowed only where the label is NaN or the unit is not evaluated,
   * or in a whole column: a model that does not predict a task (e.g. STL on an auxiliary task) gets
   * no report for it.
   */
  scores: Readonly<Record<string, Float32Array>>;
}

/** Options of {@link evaluateRun}. */
export interface EvaluationOptions {
  /** Seed of the bootstrap (the repeat's seed). */
  seed: number;
  /** The repeat these rows belong to (0-based; default 0). */
  repeat?: number;
  /** Bootstrap resamples for the AUC CI and the comparisons (default 1000). */
  bootstrapResamples?: number;
  /** FPRs at which the TPR is reported (default [0.1]). */
  fprTargets?: readonly number[];
  /** Most ROC points kept per curve (default 200). */
  maxRocPoints?: number;
  /** Least positives and negatives of an evaluated set not to be low support (default 10). */
  minPositives?: number;
  /** Model - reference pairs to compare (default {@link defaultComparisons} of the models). */
  comparisons?: readonly ComparisonPair[];
  /** Equal-mass bins of the expected calibration error of every report (default 10). */
  calibrationBins?: number;
}

/** Why a report's AUC has no confidence interval. */
export type CiNullReason = 'low_support' | 'zero_width' | 'no_bootstrap';

/** One row of mhmtl.task_reports. */
export interface TaskReport extends Omit<TaskMetrics, 'roc'> {
  model: string;
  kind: ModelKind;
  repeat: number;
  task: string;
  auxiliary: boolean;
  split: Exclude<SplitName, 'train'>;
  /** 0: the holdout split, or in a cv run the pooled out-of-fold result; 1..K: fold k-1 held out. */
  fold: number;
  /** Fewer than minPositives positives or negatives among the evaluated units. */
  lowSupport: boolean;
  /** Why auc_ci_low/high are NULL while the AUC is not. */
  ciNullReason: CiNullReason | null;
  /** From the comparisons (test rows): this AUC minus that of the first lr-kind / stl-kind reference compared with. */
  deltaAucLr: number | null;
  deltaAucStl: number | null;
  /** Expected calibration error of the raw scores, equal-mass bins (see calibration.ts); absent before migration 0011. */
  ece?: number | null;
  /** The attribute of a subgroup row (e.g. 'gender'); absent or '' for the whole population. */
  subgroup?: string;
  /** The subgroup's value ('1', '0', 'unknown'); absent or '' for the whole population. */
  subgroupValue?: string;
}

/** One ROC curve (downsampled) of mhmtl.roc_points. */
export interface RocRecord {
  model: string;
  repeat: number;
  task: string;
  split: Exclude<SplitName, 'train'>;
  fold: number;
  curve: RocCurve;
}

/** Macro averages of one model over the main tasks with an AUC that are not low support. */
export interface ModelSummary {
  model: string;
  kind: ModelKind;
  repeat: number;
  split: Exclude<SplitName, 'train'>;
  fold: number;
  /** Main tasks averaged (non-NULL AUC, not low support). */
  tasksAveraged: number;
  /** Main tasks with an AUC left out because of low support (null: not recorded, runs before low support). */
  tasksLowSupport: number | null;
  macroAuc: number | null;
  macroTprAtFpr: Record<string, number | null>;
  macroAveragePrecision: number | null;
  macroF1: number | null;
  macroBrier: number | null;
  /** From the macro comparisons (test): against the first lr-kind / stl-kind reference. */
  deltaAucLr: number | null;
  deltaAucStl: number | null;
  /** Δm in AUC against the first stl-kind reference compared with, a fraction (see {@link deltaM}). */
  deltaM: number | null;
}

/** Everything {@link evaluateRun} / {@link evaluateRepeats} compute for one run. */
export interface RunEvaluation {
  design: 'holdout' | 'cv';
  /** K for cv, 0 for holdout. */
  folds: number;
  /** Number of repeats of the split. */
  repeats: number;
  tasks: EvaluationTask[];
  models: EvaluatedModel[];
  fprTargets: number[];
  bootstrapResamples: number;
  minPositives: number;
  reports: TaskReport[];
  curves: RocRecord[];
  summaries: ModelSummary[];
  comparisons: ModelComparison[];
  /** Equal-mass bins of the calibration error (evaluation.calibration_bins). */
  calibrationBins?: number;
  /** Reliability curves of the test split, raw and recalibrated (see calibration-curves.ts). */
  calibration?: CalibrationRecord[];
  /** Test reports per subgroup value (see subgroups.ts): task_reports rows with a subgroup key. */
  subgroupReports?: TaskReport[];
}

/**
 * Low support (fewer than `minPositives` positives or negatives among n > 0 evaluated units) and
 * why the AUC has no interval: low support, no bootstrap resample, or a zero-width interval.
 */
export function supportOf(
  metrics: Pick<TaskMetrics, 'n' | 'positives' | 'negatives' | 'auc' | 'aucCiLow' | 'aucCiHigh'>,
  minPositives: number,
): { lowSupport: boolean; ciNullReason: CiNullReason | null } {
  const lowSupport = metrics.n > 0 && (metrics.positives < minPositives || metrics.negatives < minPositives);
  let ciNullReason: CiNullReason | null = null;
  if (metrics.auc !== null) {
    if (lowSupport) ciNullReason = 'low_support';
    else if (metrics.aucCiLow === null) ciNullReason = 'no_bootstrap';
    else if (metrics.aucCiLow === metrics.aucCiHigh) ciNullReason = 'zero_width';
  }
  return { lowSupport, ciNullReason };
}

/** A stable 32-bit hash of a string (FNV-1a), to derive per-task bootstrap seeds. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The fold of each unit in a cv design (the fold in which it is SPLIT_TEST); -1 for a unit that is
 * in the test part of no fold, allowed only when it trains in every fold (a train-only unit).
 * @throws RangeError when a unit is tested in several folds, or in none without training in all,
 *   or an assignment has the wrong length.
 */
export function foldIdsOf(assignments: readonly Int8Array[], units: number): Int8Array {
  const fold = new Int8Array(units).fill(-1);
  assignments.forEach((a, k) => {
    if (a.length !== units) throw new RangeError(`fold ${k} assigns ${a.length} units, expected ${units}`);
    for (let u = 0; u < units; u++) {
      if (a[u] !== SPLIT_TEST) continue;
      if (fold[u] !== -1) throw new RangeError(`unit ${u} is in the test part of folds ${fold[u]} and ${k}`);
      fold[u] = k;
    }
  });
  for (let u = 0; u < units; u++) {
    if (fold[u] === -1 && assignments.some((a) => a[u] !== SPLIT_TRAIN))
      throw new RangeError(`unit ${u} is in the test part of no fold`);
  }
  return fold;
}

function checkInput(input: EvaluationInput, pairs: readonly ComparisonPair[]): { units: number } {
  const t = input.tasks.length;
  const units = input.unitIds.length;
  if (t === 0) throw new RangeError('no tasks to evaluate');
  if (input.y.length !== units * t) {
    throw new RangeError(`y has ${input.y.length} values, expected units x tasks = ${units} x ${t}`);
  }
  const names = new Set(input.tasks.map((x) => x.name));
  if (names.size !== t) throw new RangeError('task names must be unique');
  if (input.models.length === 0) throw new RangeError('no model scores to evaluate');
  const models = new Set(input.models.map((m) => m.name));
  if (models.size !== input.models.length) throw new RangeError('model names must be unique');
  for (const m of input.models) {
    const scores = input.scores[m.name];
    if (!scores) throw new RangeError(`model ${m.name} has no scores`);
    if (scores.length !== units * t) {
      throw new RangeError(`scores of ${m.name} have ${scores.length} values, expected ${units * t}`);
    }
  }
  for (const [m, r] of pairs) {
    if (!models.has(m) || !models.has(r))
      throw new RangeError(`comparison ${m} - ${r} names a model without scores`);
  }
  if (input.design.kind === 'holdout' && input.design.split.length !== units) {
    throw new RangeError(`the split assigns ${input.design.split.length} units, expected ${units}`);
  }
  return { units };
}

/** Column `task` of a row-major `[units x tasks]` matrix, restricted to `rows`. */
function column(matrix: Float32Array, tasks: number, task: number, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = matrix[rows[i]! * tasks + task]!;
  return out;
}

/**
 * Evaluate every model on every task, for one repeat of the split.
 *
 * Holdout: for each model and task the decision threshold is the max-F1 threshold on the dev units
 * ({@link maxF1Threshold}); metrics are computed on test (the headline rows, fold 0) and on dev
 * (with the same threshold, so dev F1 is optimistic by construction).
 *
 * Cross-validation: per fold k, metrics on the units of fold k (fold = k+1), with the threshold chosen
 * by max F1 on the out-of-fold scores of all units outside fold k (the fold's own dev scores are not
 * part of the input); and pooled over all units' out-of-fold scores (fold 0), where precision /
 * recall / F1 apply each unit's own fold threshold and the stored threshold is NULL.
 *
 * Low support: an evaluated set with fewer than `minPositives` positives or negatives is flagged,
 * gets no AUC interval (reason `low_support`) and is left out of macro averages, Δm and macro
 * comparisons; a percentile interval of zero width is not stored either (reason `zero_width`).
 * Bootstrap CIs are seeded by (seed, task, split, fold): all models of a task are resampled
 * identically. Comparisons (test rows; see {@link compareOnUnits}): per pair, per main task and
 * macro; the deltas of the reports and summaries against the first lr-kind and stl-kind reference
 * and Δm follow from them.
 * @throws RangeError on inconsistent shapes, an invalid cv design, a comparison of a model without
 *   scores, or a non-finite score of an evaluated labeled unit.
 */
export function evaluateRun(input: EvaluationInput, options: EvaluationOptions): RunEvaluation {
  const pairs = options.comparisons ?? defaultComparisons(input.models);
  const { units } = checkInput(input, pairs);
  const t = input.tasks.length;
  const repeat = options.repeat ?? 0;
  const fprTargets = [...(options.fprTargets ?? [0.1])];
  const resamples = options.bootstrapResamples ?? 1000;
  const minPositives = options.minPositives ?? DEFAULT_MIN_POSITIVES;
  const calibrationBins = options.calibrationBins ?? DEFAULT_CALIBRATION_BINS;
  const reports: TaskReport[] = [];
  const curves: RocRecord[] = [];
  const comparisons: ModelComparison[] = [];
  const kindOf = new Map(input.models.map((m) => [m.name, m.kind]));

  const evaluate = (
    model: string,
    task: number,
    split: 'dev' | 'test',
    fold: number,
    rows: number[],
    threshold: number | null,
  ): TaskMetrics => {
    const name = input.tasks[task]!.name;
    const scores = column(input.scores[model]!, t, task, rows);
    const labels = column(input.y, t, task, rows);
    const metrics = taskMetrics(scores, labels, {
      threshold,
      fprTargets,
      maxRocPoints: options.maxRocPoints ?? 200,
      bootstrap: { resamples, seed: (options.seed ^ hash32(`${name}\u0000${split}\u0000${fold}`)) >>> 0 },
    });
    const { roc, ...rest } = metrics;
    const { lowSupport, ciNullReason } = supportOf(metrics, minPositives);
    reports.push({
      ...rest,
      ...(ciNullReason ? { aucCiLow: null, aucCiHigh: null } : {}),
      model,
      kind: kindOf.get(model)!,
      repeat,
      task: name,
      auxiliary: input.tasks[task]!.auxiliary,
      split,
      fold,
      lowSupport,
      ciNullReason,
      deltaAucLr: null,
      deltaAucStl: null,
      ece: expectedCalibrationError(reliabilityBins(scores, labels, calibrationBins)),
    });
    if (roc) curves.push({ model, repeat, task: name, split, fold, curve: roc });
    return metrics;
  };
  const chooseThreshold = (model: string, task: number, rows: number[]): number | null =>
    maxF1Threshold(scoreGroups(column(input.scores[model]!, t, task, rows), column(input.y, t, task, rows)))
      ?.threshold ?? null;

  // A model that does not predict a task (MTL without auxiliary tasks, STL and LR on an auxiliary
  // task) has an all-NaN column there: it gets no report for that task.
  const predicts = (model: string, task: number): boolean => {
    const scores = input.scores[model]!;
    for (let u = 0; u < units; u++) if (!Number.isNaN(scores[u * t + task]!)) return true;
    return false;
  };
  const mainTasks = input.tasks.flatMap((task, j) => (task.auxiliary ? [] : [j]));
  /** The comparisons on one evaluated set of units (a test split or a fold). */
  const compare = (fold: number, rows: number[]) => {
    const compared: ComparedTask[] = mainTasks.map((j) => {
      const labels = column(input.y, t, j, rows);
      let pos = 0;
      let neg = 0;
      for (const l of labels) {
        if (l === 1) pos++;
        else if (l === 0) neg++;
      }
      return { name: input.tasks[j]!.name, labels, lowSupport: pos < minPositives || neg < minPositives };
    });
    comparisons.push(
      ...compareOnUnits(
        pairs,
        compared,
        (model, k) =>
          predicts(model, mainTasks[k]!) ? column(input.scores[model]!, t, mainTasks[k]!, rows) : null,
        { repeat, fold, seed: (options.seed ^ hash32(`compare\u0000test\u0000${fold}`)) >>> 0, resamples },
      ),
    );
  };

  let folds = 0;
  if (input.design.kind === 'holdout') {
    const split = input.design.split;
    const dev: number[] = [];
    const test: number[] = [];
    for (let u = 0; u < units; u++) {
      if (split[u] === SPLIT_DEV) dev.push(u);
      else if (split[u] === SPLIT_TEST) test.push(u);
    }
    for (const { name: model } of input.models) {
      for (let j = 0; j < t; j++) {
        if (!predicts(model, j)) continue;
        const threshold = chooseThreshold(model, j, dev);
        evaluate(model, j, 'test', 0, test, threshold);
        evaluate(model, j, 'dev', 0, dev, threshold);
      }
    }
    compare(0, test);
  } else {
    folds = input.design.assignments.length;
    const foldIds = foldIdsOf(input.design.assignments, units);
    const members: number[][] = Array.from({ length: folds }, () => []);
    const outside: number[][] = Array.from({ length: folds }, () => []);
    for (let u = 0; u < units; u++) {
      if (foldIds[u] === -1) continue; // train-only: never scored out of fold
      for (let k = 0; k < folds; k++) (foldIds[u] === k ? members : outside)[k]!.push(u);
    }
    const all = Array.from({ length: units }, (_, u) => u).filter((u) => foldIds[u] !== -1);
    for (const { name: model } of input.models) {
      for (let j = 0; j < t; j++) {
        if (!predicts(model, j)) continue;
        const thresholds: (number | null)[] = [];
        for (let k = 0; k < folds; k++) {
          const threshold = chooseThreshold(model, j, outside[k]!);
          thresholds.push(threshold);
          evaluate(model, j, 'test', k + 1, members[k]!, threshold);
        }
        evaluate(model, j, 'test', 0, all, null);
        pooledThresholdMetrics(reports[reports.length - 1]!, input, model, j, foldIds, thresholds);
      }
    }
    for (let k = 0; k < folds; k++) compare(k + 1, members[k]!);
    compare(0, all);
  }

  const summaries = summarize(reports, input.models, fprTargets);
  applyDeltas(reports, summaries, comparisons, input.models);
  return {
    design: input.design.kind,
    folds,
    repeats: 1,
    tasks: input.tasks.map((x) => ({ ...x })),
    models: input.models.map((m) => ({ ...m, auxiliary: [...m.auxiliary] })),
    fprTargets,
    bootstrapResamples: resamples,
    minPositives,
    calibrationBins,
    reports,
    curves,
    summaries,
    comparisons,
  };
}

/**
 * Evaluate every repeat of a run ({@link evaluateRun} with `seeds[r]` and repeat r) and compare the
 * models across the repeats: per pair, per main task and macro, the corrected resampled t-test
 * (Nadeau & Bengio 2003) of the per-resample differences (holdout: one per repeat; cross-validation:
 * one per fold and repeat), whenever there are at least two resamples.
 * @param inputs one per repeat, in repeat order (the same tasks and models).
 * @throws RangeError as {@link evaluateRun}, or when inputs and seeds differ in number.
 */
export function evaluateRepeats(
  inputs: readonly EvaluationInput[],
  options: Omit<EvaluationOptions, 'seed' | 'repeat'> & { seeds: readonly number[] },
): RunEvaluation {
  if (inputs.length === 0 || inputs.length !== options.seeds.length)
    throw new RangeError(`${inputs.length} repeat inputs for ${options.seeds.length} seeds`);
  const { seeds, ...rest } = options;
  const parts = inputs.map((input, r) => evaluateRun(input, { ...rest, seed: seeds[r]!, repeat: r }));
  const first = parts[0]!;
  const perResample = parts.flatMap((p) =>
    p.comparisons.filter((c) => (p.design === 'cv' ? c.fold > 0 : c.fold === 0)),
  );
  const ratios = inputs.flatMap((input) =>
    input.design.kind === 'holdout'
      ? [testTrainRatio(input.design.split)]
      : input.design.assignments.map(testTrainRatio),
  );
  const across =
    perResample.length > 0 && ratios.length >= 2
      ? compareAcrossResamples(perResample, ratios.reduce((s, x) => s + x, 0) / ratios.length)
      : [];
  return {
    ...first,
    repeats: parts.length,
    reports: parts.flatMap((p) => p.reports),
    curves: parts.flatMap((p) => p.curves),
    summaries: parts.flatMap((p) => p.summaries),
    comparisons: [...parts.flatMap((p) => p.comparisons), ...across],
  };
}

/** n_test / n_train of one split (units; dev units are neither). */
function testTrainRatio(split: Int8Array): number {
  let train = 0;
  let test = 0;
  for (const s of split) {
    if (s === SPLIT_TRAIN) train++;
    else if (s === SPLIT_TEST) test++;
  }
  return train === 0 ? 0 : test / train;
}

/** Pooled cv row: precision / recall / F1 with each unit judged by its own fold's threshold. */
function pooledThresholdMetrics(
  report: TaskReport,
  input: EvaluationInput,
  model: string,
  task: number,
  foldIds: Int8Array,
  thresholds: readonly (number | null)[],
): void {
  if (report.nullReason !== null || thresholds.some((x) => x === null)) return;
  const t = input.tasks.length;
  const scores = input.scores[model]!;
  let tp = 0;
  let fp = 0;
  let P = 0;
  for (let u = 0; u < input.unitIds.length; u++) {
    const label = input.y[u * t + task];
    if ((label !== 0 && label !== 1) || foldIds[u] === -1) continue;
    const predicted = scores[u * t + task]! >= thresholds[foldIds[u]!]!;
    if (label === 1) P++;
    if (predicted && label === 1) tp++;
    if (predicted && label === 0) fp++;
  }
  report.precision = tp + fp === 0 ? 0 : tp / (tp + fp);
  report.recall = tp / P;
  report.f1 =
    report.precision + report.recall === 0
      ? 0
      : (2 * report.precision * report.recall) / (report.precision + report.recall);
}

function summarize(
  reports: readonly TaskReport[],
  models: readonly EvaluatedModel[],
  fprTargets: number[],
): ModelSummary[] {
  const groups = new Map<string, TaskReport[]>();
  for (const r of reports) {
    if (r.auxiliary) continue;
    const k = JSON.stringify([r.model, r.split, r.fold]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const summaries: ModelSummary[] = [];
  for (const all of groups.values()) {
    const first = all[0]!;
    const rows = all.filter((r) => !r.lowSupport);
    const macroTprAtFpr: Record<string, number | null> = {};
    for (const f of fprTargets)
      macroTprAtFpr[String(f)] = macroAverage(rows.map((r) => r.tprAtFpr?.[String(f)] ?? null));
    summaries.push({
      model: first.model,
      kind: first.kind,
      repeat: first.repeat,
      split: first.split,
      fold: first.fold,
      tasksAveraged: rows.filter((r) => r.auc !== null).length,
      tasksLowSupport: all.filter((r) => r.lowSupport && r.auc !== null).length,
      macroAuc: macroAverage(rows.map((r) => r.auc)),
      macroTprAtFpr,
      macroAveragePrecision: macroAverage(rows.map((r) => r.averagePrecision)),
      macroF1: macroAverage(rows.map((r) => r.f1)),
      macroBrier: macroAverage(rows.map((r) => r.brier)),
      deltaAucLr: null,
      deltaAucStl: null,
      deltaM: null,
    });
  }
  const position = new Map(models.map((m, i) => [m.name, i]));
  const order = (s: ModelSummary) =>
    `${s.split === 'test' ? 0 : 1}|${String(s.fold).padStart(3, '0')}|${String(position.get(s.model)).padStart(4, '0')}`;
  return summaries.sort((a, b) => order(a).localeCompare(order(b)));
}

/**
 * The deltas that follow from the comparisons: on each test report and summary of a model, the
 * AUC difference against the first lr-kind and the first stl-kind reference it is compared with
 * (same repeat, fold, task); Δm against that stl-kind reference over the main tasks that are
 * neither low support nor single-class in both.
 */
function applyDeltas(
  reports: TaskReport[],
  summaries: ModelSummary[],
  comparisons: readonly ModelComparison[],
  models: readonly EvaluatedModel[],
): void {
  const kindOf = new Map(models.map((m) => [m.name, m.kind]));
  const referenceOf = (model: string, kind: ModelKind) =>
    comparisons.find((c) => c.model === model && kindOf.get(c.reference) === kind)?.reference;
  const delta = new Map(
    comparisons.map((c) => [JSON.stringify([c.model, c.reference, c.repeat, c.fold, c.task]), c.deltaAuc]),
  );
  const lookup = (model: string, kind: ModelKind, repeat: number, fold: number, task: string | null) => {
    const reference = referenceOf(model, kind);
    return reference === undefined
      ? null
      : (delta.get(JSON.stringify([model, reference, repeat, fold, task])) ?? null);
  };
  for (const r of reports) {
    if (r.split !== 'test') continue;
    r.deltaAucLr = lookup(r.model, 'lr', r.repeat, r.fold, r.task);
    r.deltaAucStl = lookup(r.model, 'stl', r.repeat, r.fold, r.task);
  }
  for (const s of summaries) {
    if (s.split !== 'test') continue;
    s.deltaAucLr = lookup(s.model, 'lr', s.repeat, s.fold, null);
    s.deltaAucStl = lookup(s.model, 'stl', s.repeat, s.fold, null);
    const stl = referenceOf(s.model, 'stl');
    if (stl === undefined) continue;
    const mainRows = (m: string) =>
      reports.filter(
        (r) =>
          r.model === m && !r.auxiliary && r.split === s.split && r.fold === s.fold && r.repeat === s.repeat,
      );
    const stlAuc = new Map(mainRows(stl).map((r) => [r.task, r.lowSupport ? null : r.auc]));
    const own = mainRows(s.model).sort((a, b) => a.task.localeCompare(b.task));
    s.deltaM = deltaM(
      own.map((r) => (r.lowSupport ? null : r.auc)),
      own.map((r) => stlAuc.get(r.task) ?? null),
    );
  }
}
