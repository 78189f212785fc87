import {
  correctedResampledTTest,
  delongTest,
  holmAdjust,
  type PairedTask,
  pairedBootstrapAucDifference,
} from './compare.js';
import { rocAuc } from './metrics.js';

/**
 * The paired comparisons of a run: which model is compared with which reference, and the rows of
 * mhmtl.model_comparisons (per task and macro, per repeat and fold, and across repeats). Pure:
 * typed arrays in, rows out; the statistics are in compare.ts.
 */

/** The kinds of model a run trains: multi-task networks, single-task networks, logistic regression. */
export const MODEL_KINDS = ['mtl', 'stl', 'lr'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** A model of the run as the evaluation sees it: its name (an open set), kind and auxiliary tasks. */
export interface EvaluatedModel {
  name: string;
  kind: ModelKind;
  /** Auxiliary tasks it trains on (mtl kind; empty otherwise). */
  auxiliary: readonly string[];
}

/** A comparison: model minus reference. */
export type ComparisonPair = readonly [model: string, reference: string];

/**
 * The default comparisons: each mtl-kind model against every lr-kind and stl-kind model, and each
 * mtl-kind model that has auxiliary tasks against every mtl-kind model without any.
 */
export function defaultComparisons(models: readonly EvaluatedModel[]): ComparisonPair[] {
  const pairs: ComparisonPair[] = [];
  for (const m of models) {
    if (m.kind !== 'mtl') continue;
    for (const r of models) if (r.kind === 'lr') pairs.push([m.name, r.name]);
    for (const r of models) if (r.kind === 'stl') pairs.push([m.name, r.name]);
    if (m.auxiliary.length > 0)
      for (const r of models)
        if (r.kind === 'mtl' && r.auxiliary.length === 0 && r.name !== m.name) pairs.push([m.name, r.name]);
  }
  return pairs;
}

/** How a comparison row was computed ('difference': a delta stored before comparisons existed, read back only). */
export type ComparisonMethod = 'delong' | 'paired_bootstrap' | 'corrected_resampled_t' | 'difference';

/** Why a comparison row has no interval or p-value. */
export type ComparisonNullReason =
  | 'low_support'
  | 'single_class'
  | 'no_task'
  | 'too_few_resamples'
  | 'no_variance';

/** One row of mhmtl.model_comparisons. */
export interface ModelComparison {
  /** The repeat (0-based); null for a row over all repeats (and folds). */
  repeat: number | null;
  fold: number;
  split: 'test';
  model: string;
  reference: string;
  /** Null for the macro row (over the main tasks). */
  task: string | null;
  /** AUC of the model minus AUC of the reference (macro: mean over tasks; across repeats: mean over resamples). */
  deltaAuc: number | null;
  /** Paired bootstrap percentile interval (delong, paired_bootstrap) or the t interval (corrected_resampled_t). */
  ciLow: number | null;
  ciHigh: number | null;
  /** DeLong (per task) or corrected resampled t-test (across repeats); null for a macro row of one repeat. */
  pValue: number | null;
  /** Holm-adjusted across the tasks of the comparison (same repeat, fold, split, method); null on macro rows. */
  pHolm: number | null;
  method: ComparisonMethod;
  nullReason: ComparisonNullReason | null;
  /** Macro rows: tasks averaged, and main tasks left out (low support or one class). */
  tasksAveraged: number | null;
  tasksLeftOut: number | null;
  /** Bootstrap resamples used, or the J resamples of the corrected t-test. */
  resamples: number | null;
}

/** One task's evaluated units as {@link compareOnUnits} needs them. */
export interface ComparedTask {
  name: string;
  /** `[units]` 1 / 0 / NaN of the evaluated units. */
  labels: Float64Array;
  /** True when the evaluated units hold too few positives or negatives (no interval, no p-value, not in the macro). */
  lowSupport: boolean;
}

/** Options of {@link compareOnUnits}. */
export interface CompareOptions {
  repeat: number;
  fold: number;
  /** Bootstrap seed: the same for every pair, so all comparisons of a fold share their resamples. */
  seed: number;
  resamples: number;
}

/**
 * Every comparison pair on one set of evaluated units (a test split or a fold): per main task, the
 * AUC difference with its paired bootstrap interval and DeLong's p-value (Holm-adjusted across the
 * tasks of the pair); and a macro row, the mean difference over the tasks that are neither low
 * support nor single-class, with its paired bootstrap interval (the same unit resamples for every
 * task and both models). A low-support task gets its difference, no interval and no p-value.
 * @param scores per model name, `[units x tasks]` of the evaluated units (task columns as `tasks`).
 */
export function compareOnUnits(
  pairs: readonly ComparisonPair[],
  tasks: readonly ComparedTask[],
  scoreOf: (model: string, task: number) => Float64Array | null,
  options: CompareOptions,
): ModelComparison[] {
  const rows: ModelComparison[] = [];
  const base = { repeat: options.repeat, fold: options.fold, split: 'test' as const };
  for (const [model, reference] of pairs) {
    const perTask: ModelComparison[] = [];
    const paired: PairedTask[] = [];
    const pairedRows: ModelComparison[] = [];
    let leftOut = 0;
    for (const [j, task] of tasks.entries()) {
      const a = scoreOf(model, j);
      const b = scoreOf(reference, j);
      if (!a || !b) continue;
      const row: ModelComparison = {
        ...base,
        model,
        reference,
        task: task.name,
        deltaAuc: null,
        ciLow: null,
        ciHigh: null,
        pValue: null,
        pHolm: null,
        method: 'delong',
        nullReason: null,
        tasksAveraged: null,
        tasksLeftOut: null,
        resamples: null,
      };
      const test = delongTest(a, b, task.labels);
      if (test === null) {
        // Fewer than 2 positives or negatives: the difference when both AUCs exist, nothing more.
        const d = aucDifference(a, b, task.labels);
        row.deltaAuc = d;
        row.nullReason = d === null ? 'single_class' : 'low_support';
        leftOut++;
      } else if (task.lowSupport) {
        row.deltaAuc = test.delta;
        row.nullReason = 'low_support';
        leftOut++;
      } else {
        row.deltaAuc = test.delta;
        row.pValue = test.pValue;
        paired.push({ labels: task.labels, a, b });
        pairedRows.push(row);
      }
      perTask.push(row);
    }
    if (perTask.length === 0) continue;
    const boot = pairedBootstrapAucDifference(paired, { resamples: options.resamples, seed: options.seed });
    pairedRows.forEach((row, k) => {
      row.ciLow = boot.perTask[k]!.low;
      row.ciHigh = boot.perTask[k]!.high;
      row.resamples = boot.perTask[k]!.used;
    });
    const holm = holmAdjust(perTask.map((r) => r.pValue));
    perTask.forEach((r, k) => {
      r.pHolm = holm[k]!;
    });
    rows.push(...perTask);
    const deltas = pairedRows.map((r) => r.deltaAuc!);
    rows.push({
      ...base,
      model,
      reference,
      task: null,
      deltaAuc: deltas.length ? deltas.reduce((s, x) => s + x, 0) / deltas.length : null,
      ciLow: boot.macro.low,
      ciHigh: boot.macro.high,
      pValue: null,
      pHolm: null,
      method: 'paired_bootstrap',
      nullReason: deltas.length ? null : 'no_task',
      tasksAveraged: deltas.length,
      tasksLeftOut: leftOut,
      resamples: boot.macro.used,
    });
  }
  return rows;
}

function aucDifference(a: Float64Array, b: Float64Array, labels: Float64Array): number | null {
  const x = rocAuc(a, labels);
  const y = rocAuc(b, labels);
  return x === null || y === null ? null : x - y;
}

/** The value every element has, or null when they differ or there are none. */
function sameOrNull(values: readonly (number | null)[]): number | null {
  return values.length > 0 && values.every((v) => v === values[0]) ? values[0]! : null;
}

/**
 * The comparisons over all resamples of a run (repeats, and the folds of each repeat in a
 * cross-validated run): per pair, per task and macro, Nadeau & Bengio's corrected resampled t-test
 * of the per-resample differences ({@link correctedResampledTTest}), Holm-adjusted across tasks.
 * A task enters from the resamples in which it was not low support; the macro from every
 * resample's macro difference. Rows have repeat null and fold 0.
 * @param perResample the rows of {@link compareOnUnits} of every resample (holdout: fold 0 of each
 *   repeat; cross-validation: folds 1..K of each repeat).
 * @param testTrainRatio n_test / n_train of one resample (units), averaged over the resamples.
 */
export function compareAcrossResamples(
  perResample: readonly ModelComparison[],
  testTrainRatio: number,
): ModelComparison[] {
  const groups = new Map<string, ModelComparison[]>();
  for (const r of perResample) {
    const k = JSON.stringify([r.model, r.reference, r.task]);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  const out: ModelComparison[] = [];
  const byPair = new Map<string, ModelComparison[]>();
  for (const rows of groups.values()) {
    const first = rows[0]!;
    const usable = rows.filter(
      (r) =>
        r.deltaAuc !== null &&
        (r.task === null
          ? r.nullReason === null
          : r.nullReason !== 'low_support' && r.nullReason !== 'single_class'),
    );
    const test = correctedResampledTTest(
      usable.map((r) => r.deltaAuc!),
      testTrainRatio,
    );
    const row: ModelComparison = {
      repeat: null,
      fold: 0,
      split: 'test',
      model: first.model,
      reference: first.reference,
      task: first.task,
      deltaAuc: usable.length ? usable.reduce((s, r) => s + r.deltaAuc!, 0) / usable.length : null,
      ciLow: test?.ciLow ?? null,
      ciHigh: test?.ciHigh ?? null,
      pValue: test?.pValue ?? null,
      pHolm: null,
      method: 'corrected_resampled_t',
      nullReason:
        test === null
          ? usable.length === 0 && rows.some((r) => r.nullReason === 'low_support')
            ? 'low_support'
            : 'too_few_resamples'
          : test.pValue === null
            ? 'no_variance'
            : null,
      // the macro row: the tasks each resample's macro averaged, when every resample averaged as many
      tasksAveraged: first.task === null ? sameOrNull(usable.map((r) => r.tasksAveraged)) : null,
      tasksLeftOut: first.task === null ? sameOrNull(usable.map((r) => r.tasksLeftOut)) : null,
      resamples: usable.length,
    };
    out.push(row);
    if (row.task !== null) {
      const k = JSON.stringify([row.model, row.reference]);
      byPair.set(k, [...(byPair.get(k) ?? []), row]);
    }
  }
  for (const rows of byPair.values()) {
    const holm = holmAdjust(rows.map((r) => r.pValue));
    rows.forEach((r, k) => {
      r.pHolm = holm[k]!;
    });
  }
  return out;
}
