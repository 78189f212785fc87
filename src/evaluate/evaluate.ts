import {
  deltaM,
  macroAverage,
  maxF1Threshold,
  type RocCurve,
  scoreGroups,
  type TaskMetrics,
  taskMetrics,
} from './metrics.js';
import { SPLIT_DEV, SPLIT_TEST, type SplitName } from './splits.js';

/**
 * Evaluation of one pipeline run: per model x task x split (x fold) metrics, ROC curves, the deltas
 * of the multi-task models against their baselines, macro averages over the main tasks and Δm.
 * Pure computation on typed arrays; `store.ts` writes the result to the database.
 */

/** The model families evaluated side by side (STL and LR: one model per task, assembled). */
export const MODEL_FAMILIES = ['mtl', 'mtl_no_aux', 'stl', 'lr'] as const;
export type ModelFamily = (typeof MODEL_FAMILIES)[number];
/** The multi-task families, which get deltas against LR and STL and a Δm. */
export const MTL_FAMILIES: readonly ModelFamily[] = ['mtl', 'mtl_no_aux'];

/** A task of the run. Auxiliary tasks (e.g. gender) are reported but not macro-averaged. */
export interface EvaluationTask {
  name: string;
  auxiliary: boolean;
}

/**
 * How the units were split. `holdout`: one train / dev / test split (`split[u]` is SPLIT_TRAIN,
 * SPLIT_DEV or SPLIT_TEST, see splits.ts). `cv`: K-fold cross-validation, `assignments[k][u]` the
 * role of unit u when fold k is held out (as {@link crossValidationSplit} returns); each unit must be
 * SPLIT_TEST in exactly one fold.
 */
export type EvaluationDesign =
  | { kind: 'holdout'; split: Int8Array }
  | { kind: 'cv'; assignments: readonly Int8Array[] };

/** What the pipeline hands to {@link evaluateRun}. */
export interface EvaluationInput {
  tasks: readonly EvaluationTask[];
  /** Unit pseudonyms, `[units]` (stored with the predictions and splits). */
  unitIds: readonly string[];
  /** Labels `[units x tasks]` row-major: 1, 0, NaN unknown. */
  y: Float32Array;
  design: EvaluationDesign;
  /**
   * Scores (probabilities) per model family, each `[units x tasks]` row-major, for ALL units
   * (holdout: the model's predictions on train, dev and test; cv: out-of-fold predictions, each unit
   * scored by the model of the fold that held it out). STL and LR: the per-task models' scores
   * assembled into one matrix. NaN is allowed only where the label is NaN or the unit is not evaluated,
   * or in a whole column: a model that does not predict a task (e.g. STL on an auxiliary task) gets
   * no report for it.
   */
  scores: Partial<Record<ModelFamily, Float32Array>>;
}

/** Options of {@link evaluateRun}. */
export interface EvaluationOptions {
  /** Seed of the bootstrap (the run's seed). */
  seed: number;
  /** Bootstrap resamples for the AUC CI (default 1000). */
  bootstrapResamples?: number;
  /** FPRs at which the TPR is reported (default [0.1]). */
  fprTargets?: readonly number[];
  /** Most ROC points kept per curve (default 200). */
  maxRocPoints?: number;
}

/** One row of mhmtl.task_reports. */
export interface TaskReport extends Omit<TaskMetrics, 'roc'> {
  model: ModelFamily;
  task: string;
  auxiliary: boolean;
  split: Exclude<SplitName, 'train'>;
  /** 0: the holdout split, or in a cv run the pooled out-of-fold result; 1..K: fold k-1 held out. */
  fold: number;
  /** AUC of this row minus the LR / STL row of the same task, split and fold (MTL families only). */
  deltaAucLr: number | null;
  deltaAucStl: number | null;
}

/** One ROC curve (downsampled) of mhmtl.roc_points. */
export interface RocRecord {
  model: ModelFamily;
  task: string;
  split: Exclude<SplitName, 'train'>;
  fold: number;
  curve: RocCurve;
}

/** Macro averages of one model over the main (non-auxiliary) tasks whose metrics are not NULL. */
export interface ModelSummary {
  model: ModelFamily;
  split: Exclude<SplitName, 'train'>;
  fold: number;
  /** Main tasks with a non-NULL AUC (the ones averaged). */
  tasksAveraged: number;
  macroAuc: number | null;
  macroTprAtFpr: Record<string, number | null>;
  macroAveragePrecision: number | null;
  macroF1: number | null;
  macroBrier: number | null;
  /** Macro AUC minus the LR / STL macro AUC (MTL families only). */
  deltaAucLr: number | null;
  deltaAucStl: number | null;
  /** Δm in AUC against STL, a fraction (MTL families only; see {@link deltaM}). */
  deltaM: number | null;
}

/** Everything {@link evaluateRun} computes for one run. */
export interface RunEvaluation {
  design: 'holdout' | 'cv';
  /** K for cv, 0 for holdout. */
  folds: number;
  tasks: EvaluationTask[];
  models: ModelFamily[];
  fprTargets: number[];
  bootstrapResamples: number;
  reports: TaskReport[];
  curves: RocRecord[];
  summaries: ModelSummary[];
}

/** A stable 32-bit hash of a string (FNV-1a), to derive per-task bootstrap seeds. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * The fold of each unit in a cv design (the fold in which it is SPLIT_TEST).
 * @throws RangeError when a unit is tested in no fold or in several, or an assignment has the wrong length.
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
  const missing = fold.indexOf(-1);
  if (missing >= 0) throw new RangeError(`unit ${missing} is in the test part of no fold`);
  return fold;
}

function checkInput(input: EvaluationInput): { units: number; models: ModelFamily[] } {
  const t = input.tasks.length;
  const units = input.unitIds.length;
  if (t === 0) throw new RangeError('no tasks to evaluate');
  if (input.y.length !== units * t) {
    throw new RangeError(`y has ${input.y.length} values, expected units x tasks = ${units} x ${t}`);
  }
  const names = new Set(input.tasks.map((x) => x.name));
  if (names.size !== t) throw new RangeError('task names must be unique');
  const models = MODEL_FAMILIES.filter((m) => input.scores[m] !== undefined);
  if (models.length === 0) throw new RangeError('no model scores to evaluate');
  for (const m of models) {
    if (input.scores[m]!.length !== units * t) {
      throw new RangeError(`scores of ${m} have ${input.scores[m]!.length} values, expected ${units * t}`);
    }
  }
  if (input.design.kind === 'holdout' && input.design.split.length !== units) {
    throw new RangeError(`the split assigns ${input.design.split.length} units, expected ${units}`);
  }
  return { units, models };
}

/** Column `task` of a row-major `[units x tasks]` matrix, restricted to `rows`. */
function column(matrix: Float32Array, tasks: number, task: number, rows: readonly number[]): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = matrix[rows[i]! * tasks + task]!;
  return out;
}

/**
 * Evaluate every model on every task.
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
 * Bootstrap CIs are seeded by (seed, task, split, fold): all models of a task are resampled
 * identically (paired). Deltas (MTL - LR, MTL - STL in AUC) on the rows of mtl and mtl_no_aux;
 * macro averages over main tasks with non-NULL metrics; Δm in AUC against STL.
 * @throws RangeError on inconsistent shapes, an invalid cv design, or a non-finite score of an
 *   evaluated labeled unit.
 */
export function evaluateRun(input: EvaluationInput, options: EvaluationOptions): RunEvaluation {
  const { units, models } = checkInput(input);
  const t = input.tasks.length;
  const fprTargets = [...(options.fprTargets ?? [0.1])];
  const resamples = options.bootstrapResamples ?? 1000;
  const reports: TaskReport[] = [];
  const curves: RocRecord[] = [];

  const evaluate = (
    model: ModelFamily,
    task: number,
    split: 'dev' | 'test',
    fold: number,
    rows: number[],
    threshold: number | null,
  ): TaskMetrics => {
    const name = input.tasks[task]!.name;
    const metrics = taskMetrics(column(input.scores[model]!, t, task, rows), column(input.y, t, task, rows), {
      threshold,
      fprTargets,
      maxRocPoints: options.maxRocPoints ?? 200,
      bootstrap: { resamples, seed: (options.seed ^ hash32(`${name}\u0000${split}\u0000${fold}`)) >>> 0 },
    });
    const { roc, ...rest } = metrics;
    reports.push({
      ...rest,
      model,
      task: name,
      auxiliary: input.tasks[task]!.auxiliary,
      split,
      fold,
      deltaAucLr: null,
      deltaAucStl: null,
    });
    if (roc) curves.push({ model, task: name, split, fold, curve: roc });
    return metrics;
  };
  const chooseThreshold = (model: ModelFamily, task: number, rows: number[]): number | null =>
    maxF1Threshold(scoreGroups(column(input.scores[model]!, t, task, rows), column(input.y, t, task, rows)))
      ?.threshold ?? null;

  // A model that does not predict a task (MTL without auxiliary tasks, STL and LR on an auxiliary
  // task) has an all-NaN column there: it gets no report for that task.
  const predicts = (model: ModelFamily, task: number): boolean => {
    const scores = input.scores[model]!;
    for (let u = 0; u < units; u++) if (!Number.isNaN(scores[u * t + task]!)) return true;
    return false;
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
    for (const model of models) {
      for (let j = 0; j < t; j++) {
        if (!predicts(model, j)) continue;
        const threshold = chooseThreshold(model, j, dev);
        evaluate(model, j, 'test', 0, test, threshold);
        evaluate(model, j, 'dev', 0, dev, threshold);
      }
    }
  } else {
    folds = input.design.assignments.length;
    const foldIds = foldIdsOf(input.design.assignments, units);
    const members: number[][] = Array.from({ length: folds }, () => []);
    const outside: number[][] = Array.from({ length: folds }, () => []);
    for (let u = 0; u < units; u++) {
      for (let k = 0; k < folds; k++) (foldIds[u] === k ? members : outside)[k]!.push(u);
    }
    const all = Array.from({ length: units }, (_, u) => u);
    for (const model of models) {
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
  }

  // Deltas of the multi-task rows against the baselines of the same task, split and fold.
  const key = (m: string, r: { task: string; split: string; fold: number }) =>
    `${m}|${r.task}|${r.split}|${r.fold}`;
  const aucOf = new Map(reports.map((r) => [key(r.model, r), r.auc]));
  const diff = (a: number | null, b: number | null | undefined) => (a === null || b == null ? null : a - b);
  for (const r of reports) {
    if (!MTL_FAMILIES.includes(r.model)) continue;
    r.deltaAucLr = diff(r.auc, aucOf.get(key('lr', r)));
    r.deltaAucStl = diff(r.auc, aucOf.get(key('stl', r)));
  }

  const summaries = summarize(reports, models, fprTargets);
  return {
    design: input.design.kind,
    folds,
    tasks: input.tasks.map((x) => ({ ...x })),
    models,
    fprTargets,
    bootstrapResamples: resamples,
    reports,
    curves,
    summaries,
  };
}

/** Pooled cv row: precision / recall / F1 with each unit judged by its own fold's threshold. */
function pooledThresholdMetrics(
  report: TaskReport,
  input: EvaluationInput,
  model: ModelFamily,
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
    if (label !== 0 && label !== 1) continue;
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
  models: readonly ModelFamily[],
  fprTargets: number[],
): ModelSummary[] {
  const groups = new Map<string, TaskReport[]>();
  for (const r of reports) {
    if (r.auxiliary) continue;
    const k = `${r.model}|${r.split}|${r.fold}`;
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const summaries: ModelSummary[] = [];
  for (const [k, rows] of groups) {
    const [model, split, foldText] = k.split('|') as [ModelFamily, 'dev' | 'test', string];
    const macroTprAtFpr: Record<string, number | null> = {};
    for (const f of fprTargets)
      macroTprAtFpr[String(f)] = macroAverage(rows.map((r) => r.tprAtFpr?.[String(f)] ?? null));
    summaries.push({
      model,
      split,
      fold: Number(foldText),
      tasksAveraged: rows.filter((r) => r.auc !== null).length,
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
  const find = (m: ModelFamily, s: ModelSummary) =>
    summaries.find((x) => x.model === m && x.split === s.split && x.fold === s.fold);
  const mainRows = (m: ModelFamily, s: ModelSummary) =>
    reports
      .filter((r) => r.model === m && !r.auxiliary && r.split === s.split && r.fold === s.fold)
      .sort((a, b) => a.task.localeCompare(b.task));
  for (const s of summaries) {
    if (!MTL_FAMILIES.includes(s.model)) continue;
    const lr = find('lr', s);
    const stl = find('stl', s);
    if (lr && s.macroAuc !== null && lr.macroAuc !== null) s.deltaAucLr = s.macroAuc - lr.macroAuc;
    if (stl && s.macroAuc !== null && stl.macroAuc !== null) s.deltaAucStl = s.macroAuc - stl.macroAuc;
    if (models.includes('stl')) {
      // Paired by task name: a task without an STL report does not enter Δm.
      const own = mainRows(s.model, s);
      const stlAuc = new Map(mainRows('stl', s).map((r) => [r.task, r.auc]));
      s.deltaM = deltaM(
        own.map((r) => r.auc),
        own.map((r) => stlAuc.get(r.task) ?? null),
      );
    }
  }
  const order = (s: ModelSummary) =>
    `${s.split === 'test' ? 0 : 1}|${String(s.fold).padStart(3, '0')}|${models.indexOf(s.model)}`;
  return summaries.sort((a, b) => order(a).localeCompare(order(b)));
}
