import { DEFAULT_MIN_POSITIVES, type EvaluationDesign } from '../evaluate/evaluate.js';
import { crossValidationSplit, holdoutSplit, type LabelMatrix, SPLIT_TEST } from '../evaluate/splits.js';
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

/**
 * Split the labelled units `repeats` times (evaluation.repeats, default 1): holdout with the
 * normalized evaluation.split ratios, or evaluation.folds-fold cross-validation, each repeat with
 * {@link repeatSeed}. Units an earlier run trained or early-stopped on (`trained`, from
 * --from-run) only ever train: the rest is split as usual.
 */
export function designSplits(
  labels: LabelMatrix,
  unitIds: readonly string[],
  config: PipelineConfig,
  seed: number,
  trained?: TrainedUnits,
): SplitDesign {
  const folds = config.evaluation?.folds ?? null;
  const split = config.evaluation?.split;
  const ratios: [number, number, number] = [split?.train ?? 0.7, split?.dev ?? 0.1, split?.test ?? 0.2];
  const total = ratios[0] + ratios[1] + ratios[2];
  const normalized: [number, number, number] = [ratios[0] / total, ratios[1] / total, ratios[2] / total];
  const count = config.evaluation?.repeats ?? 1;
  const trainOnly = trained ? Uint8Array.from(unitIds, (u) => (trained.units.has(u) ? 1 : 0)) : undefined;
  const repeats: RepeatSplit[] = [];
  for (let r = 0; r < count; r++) {
    const s = repeatSeed(seed, r);
    const options = trainOnly ? { trainOnly } : {};
    if (folds) {
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
      kind: folds ? 'cv' : 'holdout',
      ...(folds ? { folds } : { ratios: normalized }),
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
