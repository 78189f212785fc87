import { DEFAULT_MIN_POSITIVES, type EvaluationDesign } from '../evaluate/evaluate.js';
import { UsageError } from '../errors.js';
import {
  crossValidationSplit,
  holdoutSplit,
  type LabelMatrix,
  SPLIT_NAMES,
  SPLIT_TEST,
  SPLIT_TRAIN,
  temporalSplit,
} from '../evaluate/splits.js';
import type { PipelineConfig } from './config.js';
import type { TrainedUnits } from './transfer-split.js';

/**
 * How a run splits its units, repeat by repeat: the design (holdout ratios or K folds), the seed of
 * each repeat, the units kept out of test by a transfer, and the record of all that for
 * mhmtl.runs.split_design.
 */

/**
 * The seed of repeat `r` of a run with seed `seed`: the run seed itself for the first repeat (so a
 * run of one repeat is what it always was), then a splitmix32 mix of (seed, r) in [0, 2^31).
 */
export function repeatSeed(seed: number, r: number): number {
  if (r === 0) return seed;
  let z = (Math.trunc(seed) + Math.imul(r, 0x9e3779b9)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return (z ^ (z >>> 16)) >>> 1;
}

/** One repeat of the split. */
export interface RepeatSplit {
  repeat: number;
  seed: number;
  design: EvaluationDesign;
  /** Per fold (one for holdout): the split code of every unit. */
  assignments: Int8Array[];
}

/** The splits of a run and their record. */
export interface SplitDesign {
  repeats: RepeatSplit[];
  /** Stored in mhmtl.runs.split_design. */
  record: Record<string, unknown>;
}

/** What a temporal or given split is made from (src/pipeline/train-stage.ts loads it). */
export interface SplitData {
  /** temporal: each unit's time (epoch ms), `[units]`. */
  times?: Float64Array;
  /** given: each unit's split code `[units]`, and what the record says of the file. */
  given?: { codes: Int8Array; record: Record<string, unknown> };
}

/**
 * Split the labelled units `repeats` times (evaluation.repeats, default 1): holdout with the
 * normalized evaluation.split ratios (stratified, or temporal from `data.times`), a given split
 * (`data.given`), or evaluation.folds-fold cross-validation, each repeat with {@link repeatSeed}
 * (temporal and given splits are the same in every repeat; the seeds still vary the models).
 * Units an earlier run trained or early-stopped on (`trained`, from --from-run) only ever train:
 * the rest is split as usual; a given split that puts one in dev or test is refused.
 * @throws UsageError (exit 2) for a temporal split whose units all have the same time (no
 *   dates to order by), a split with an empty part, or a given split that would test on units
 *   the --from-run run learned from.
 */
export function designSplits(
  labels: LabelMatrix,
  unitIds: readonly string[],
  config: PipelineConfig,
  seed: number,
  trained?: TrainedUnits,
  data: SplitData = {},
): SplitDesign {
  const kind = config.evaluation?.split?.kind ?? 'stratified';
  const folds = config.evaluation?.folds ?? null;
  const split = config.evaluation?.split;
  const ratios: [number, number, number] = [split?.train ?? 0.7, split?.dev ?? 0.1, split?.test ?? 0.2];
  const total = ratios[0] + ratios[1] + ratios[2];
  const normalized: [number, number, number] = [ratios[0] / total, ratios[1] / total, ratios[2] / total];
  const count = config.evaluation?.repeats ?? 1;
  const trainOnly = trained ? Uint8Array.from(unitIds, (u) => (trained.units.has(u) ? 1 : 0)) : undefined;
  const repeats: RepeatSplit[] = [];
  const fixed = kind === 'stratified' ? null : fixedSplit(kind, data, normalized, trainOnly, config);
  for (let r = 0; r < count; r++) {
    const s = repeatSeed(seed, r);
    const options = trainOnly ? { trainOnly } : {};
    if (fixed) {
      repeats.push({
        repeat: r,
        seed: s,
        design: { kind: 'holdout', split: fixed.codes },
        assignments: [fixed.codes],
      });
    } else if (folds) {
      const cv = crossValidationSplit(labels, { seed: s, folds, ...options });
      repeats.push({
        repeat: r,
        seed: s,
        design: { kind: 'cv', assignments: cv.assignments },
        assignments: cv.assignments,
      });
    } else {
      const a = holdoutSplit(labels, { seed: s, ratios: normalized, ...options });
      repeats.push({ repeat: r, seed: s, design: { kind: 'holdout', split: a }, assignments: [a] });
    }
  }
  let kept = 0;
  if (trainOnly) for (const x of trainOnly) kept += x;
  const testUnits = repeats[0]!.assignments.reduce(
    (n, a) => n + a.reduce((m, code) => m + (code === SPLIT_TEST ? 1 : 0), 0),
    0,
  );
  return {
    repeats,
    record: {
      kind: fixed ? kind : folds ? 'cv' : 'holdout',
      ...(fixed ? fixed.record : folds ? { folds } : { ratios: normalized }),
      repeats: count,
      seeds: repeats.map((r) => r.seed),
      min_positives: config.evaluation?.min_positives ?? DEFAULT_MIN_POSITIVES,
      units: unitIds.length,
      test_units: testUnits,
      models_stored_for_repeat: 0,
      ...(trained
        ? {
            transfer: {
              from_run: trained.runId,
              source_units: trained.units.size,
              units_kept_out_of_test: kept,
            },
          }
        : {}),
    },
  };
}

/**
 * The split codes of a temporal or given split, checked: no empty part, no train-only unit in dev
 * or test. @throws UsageError as {@link designSplits} says.
 */
function fixedSplit(
  kind: 'temporal' | 'given',
  data: SplitData,
  ratios: [number, number, number],
  trainOnly: Uint8Array | undefined,
  config: PipelineConfig,
): { codes: Int8Array; record: Record<string, unknown> } {
  let codes: Int8Array;
  let record: Record<string, unknown>;
  if (kind === 'temporal') {
    const times = data.times;
    if (!times) throw new Error("a temporal split needs the units' times");
    const orderBy = config.evaluation?.split?.order_by ?? 'last_post';
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const t of times) {
      if (t < lo) lo = t;
      if (t > hi) hi = t;
    }
    if (!(hi > lo))
      throw new UsageError(
        `evaluation.split: a temporal split needs dated units, but ${times.length === 0 || Number.isNaN(lo) ? 'the units have no post time' : `every unit's ${orderBy === 'first_post' ? 'first' : 'last'} post has the same time (${new Date(lo).toISOString()})`}: use the stratified or a given split`,
      );
    codes = temporalSplit(times, ratios, trainOnly);
    const first = (code: number) => {
      let m = Number.POSITIVE_INFINITY;
      codes.forEach((c, u) => {
        if (c === code && !trainOnly?.[u] && times[u]! < m) m = times[u]!;
      });
      return Number.isFinite(m) ? new Date(m).toISOString() : null;
    };
    record = { order_by: orderBy, ratios, dev_from: first(1), test_from: first(SPLIT_TEST) };
  } else {
    if (!data.given) throw new Error('a given split needs its codes');
    codes = data.given.codes;
    record = { ...data.given.record };
    if (trainOnly) {
      let n = 0;
      codes.forEach((c, u) => {
        if (trainOnly[u] && c !== SPLIT_TRAIN) n++;
      });
      if (n > 0)
        throw new UsageError(
          `evaluation.split: the given split puts ${n} units that the --from-run run trained or early-stopped on in dev or test: its test figures would measure memory; train from scratch, or give a split that keeps them in train`,
        );
    }
  }
  const parts = [0, 0, 0];
  for (const c of codes) parts[c]!++;
  const empty = SPLIT_NAMES.filter((_, c) => parts[c] === 0);
  if (empty.length > 0)
    throw new UsageError(
      `evaluation.split: the ${kind} split leaves ${empty.join(' and ')} empty (units per part: train ${parts[0]}, dev ${parts[1]}, test ${parts[2]})`,
    );
  record.parts = { train: parts[0], dev: parts[1], test: parts[2] };
  return { codes, record };
}
