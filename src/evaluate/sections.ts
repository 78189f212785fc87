import type { CalibrationMethod } from './calibration.js';
import { calibrationCurves } from './calibration-curves.js';
import type { EvaluationInput, RunEvaluation } from './evaluate.js';
import { type SubgroupAttribute, subgroupReports } from './subgroups.js';

/**
 * The calibration and subgroup sections of a run's evaluation (issue 18), added to what
 * {@link evaluateRepeats} computed: per repeat, the reliability curves (calibration-curves.ts) and
 * the test reports per subgroup value (subgroups.ts). Pure computation.
 */

/** Options of {@link addCalibrationAndSubgroups}. */
export interface SectionOptions {
  /** One seed per repeat (the bootstrap seeds of the subgroup intervals). */
  seeds: readonly number[];
  /** Post-hoc calibration fitted on dev (default 'none'). */
  calibration?: CalibrationMethod;
  /** Subgroup attributes with each unit's value (default none). */
  subgroups?: readonly SubgroupAttribute[];
}

/**
 * Set `evaluation.calibration` and `evaluation.subgroupReports` from the repeats' inputs (one per
 * repeat, in order), with the evaluation's own bins, bootstrap resamples, FPR targets and low-support
 * threshold. Returns what could not be done (e.g. Platt scaling in a cross-validated run), each once.
 * @throws RangeError when inputs and seeds differ in number, or as {@link subgroupReports}.
 */
export function addCalibrationAndSubgroups(
  evaluation: RunEvaluation,
  inputs: readonly EvaluationInput[],
  options: SectionOptions,
): string[] {
  if (inputs.length !== options.seeds.length)
    throw new RangeError(`${inputs.length} repeat inputs for ${options.seeds.length} seeds`);
  const notes = new Set<string>();
  evaluation.calibration = [];
  evaluation.subgroupReports = [];
  for (const [repeat, input] of inputs.entries()) {
    const c = calibrationCurves(input, {
      repeat,
      ...(evaluation.calibrationBins !== undefined ? { bins: evaluation.calibrationBins } : {}),
      method: options.calibration ?? 'none',
    });
    evaluation.calibration.push(...c.curves);
    for (const n of c.notes) notes.add(n);
    evaluation.subgroupReports.push(
      ...subgroupReports(
        input,
        options.subgroups ?? [],
        evaluation.reports.filter((r) => r.repeat === repeat),
        {
          seed: options.seeds[repeat]!,
          repeat,
          bootstrapResamples: evaluation.bootstrapResamples,
          fprTargets: evaluation.fprTargets,
          minPositives: evaluation.minPositives,
          ...(evaluation.calibrationBins !== undefined
            ? { calibrationBins: evaluation.calibrationBins }
            : {}),
        },
      ),
    );
  }
  return [...notes];
}
