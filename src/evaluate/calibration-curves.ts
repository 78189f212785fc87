import {
  type CalibrationMethod,
  DEFAULT_CALIBRATION_BINS,
  expectedCalibrationError,
  fitCalibrator,
  reliabilityBins,
} from './calibration.js';
import type { EvaluationInput } from './evaluate.js';
import type { CalibrationCurve } from './report-sections.js';
import { SPLIT_DEV, SPLIT_TEST } from './splits.js';

/**
 * The reliability curves of a run (mhmtl.calibration_bins): per repeat, model and task, the
 * equal-mass reliability curve and ECE of the test scores (fold 0: the holdout test split, or in a
 * cross-validated run every unit's out-of-fold score), and, when a post-hoc calibration is asked
 * for (holdout runs), the same of the test scores recalibrated by a map fitted on the dev units
 * (Platt 1999 or isotonic, Zadrozny & Elkan 2002; see calibration.ts). Pure computation.
 */

/** A reliability curve with the split and fold it was computed on. */
export interface CalibrationRecord extends CalibrationCurve {
  split: 'dev' | 'test';
  fold: number;
}

/** Options of {@link calibrationCurves}. */
export interface CalibrationCurveOptions {
  /** The repeat of `input` (0-based). */
  repeat: number;
  /** Equal-mass bins (default 10). */
  bins?: number;
  /** Post-hoc calibration fitted on dev (default 'none': raw scores only). */
  method?: CalibrationMethod;
}

/** What {@link calibrationCurves} could not do, one line each (e.g. a cv run asked for Platt scaling). */
export interface CalibrationCurvesResult {
  curves: CalibrationRecord[];
  notes: string[];
}

/**
 * Reliability curves of one repeat: 'raw' for every model and task a model predicts; with a
 * method and a holdout design, the recalibrated curve too (none when dev cannot fit it, e.g. a
 * single class for Platt: said in `notes`). Cross-validated runs have no dev split of their own:
 * raw curves only, said once in `notes`.
 * @param input one repeat's labels `[units x tasks]`, design and scores (see {@link EvaluationInput}).
 */
export function calibrationCurves(
  input: EvaluationInput,
  options: CalibrationCurveOptions,
): CalibrationCurvesResult {
  const bins = options.bins ?? DEFAULT_CALIBRATION_BINS;
  const method = options.method ?? 'none';
  const t = input.tasks.length;
  const units = input.unitIds.length;
  const test: number[] = [];
  const dev: number[] = [];
  if (input.design.kind === 'holdout') {
    for (let u = 0; u < units; u++) {
      if (input.design.split[u] === SPLIT_TEST) test.push(u);
      else if (input.design.split[u] === SPLIT_DEV) dev.push(u);
    }
  } else {
    for (let u = 0; u < units; u++)
      if (input.design.assignments.some((a) => a[u] === SPLIT_TEST)) test.push(u);
  }
  const notes: string[] = [];
  if (method !== 'none' && input.design.kind === 'cv')
    notes.push(`${method} calibration needs a dev split: cross-validated runs report raw calibration only`);
  const curves: CalibrationRecord[] = [];
  const col = (m: Float32Array, j: number, rows: readonly number[]) =>
    Float64Array.from(rows, (u) => m[u * t + j]!);
  for (const { name: model } of input.models) {
    const scores = input.scores[model]!;
    for (let j = 0; j < t; j++) {
      if (!test.some((u) => !Number.isNaN(scores[u * t + j]!))) continue; // the model does not predict task j
      const task = input.tasks[j]!.name;
      const s = col(scores, j, test);
      const y = col(input.y, j, test);
      const record = (m: CalibrationRecord['method'], values: Float64Array) => {
        const curve = reliabilityBins(values, y, bins);
        curves.push({
          model,
          task,
          repeat: options.repeat,
          method: m,
          split: 'test',
          fold: 0,
          ece: expectedCalibrationError(curve),
          bins: curve,
        });
      };
      record('raw', s);
      if (method === 'none' || input.design.kind === 'cv') continue;
      const calibrator = fitCalibrator(method, col(scores, j, dev), col(input.y, j, dev));
      if (!calibrator) {
        notes.push(
          `${model} ${task}: ${method} calibration not fitted (dev has ${method === 'platt' ? 'one class' : 'no labels'})`,
        );
        continue;
      }
      record(
        method,
        s.map((v, i) => (y[i] === 0 || y[i] === 1 ? calibrator.apply(v) : v)),
      );
    }
  }
  return { curves, notes };
}
