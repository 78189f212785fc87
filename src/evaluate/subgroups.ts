import { DEFAULT_CALIBRATION_BINS, expectedCalibrationError, reliabilityBins } from './calibration.js';
import {
  DEFAULT_MIN_POSITIVES,
  type EvaluationInput,
  foldIdsOf,
  hash32,
  supportOf,
  type TaskReport,
} from './evaluate.js';
import { taskMetrics } from './metrics.js';
import { SPLIT_TEST } from './splits.js';

/**
 * Metrics per subgroup (issue 18): a model that works for one group only is a known failure of the
 * field (Harrigian, Aguirre & Dredze 2020; Aguirre, Harrigian & Dredze 2021). Every metric of a
 * test report is computed again on the test units of each value of a subgroup attribute (e.g.
 * gender = 1 / 0); units without a value are counted under 'unknown', never dropped. Pure computation.
 */

/** The value of units whose attribute is not known. */
export const UNKNOWN_SUBGROUP = 'unknown';

/** One subgroup attribute: its name and each unit's value (`[units]`, null = unknown). */
export interface SubgroupAttribute {
  name: string;
  values: readonly (string | null)[];
}

/** The value of a binary label as a subgroup value: '1', '0', or 'unknown' (NaN). */
export function labelValue(label: number): string {
  return label === 1 ? '1' : label === 0 ? '0' : UNKNOWN_SUBGROUP;
}

/** Options of {@link subgroupReports}. */
export interface SubgroupOptions {
  seed: number;
  repeat: number;
  bootstrapResamples?: number;
  fprTargets?: readonly number[];
  minPositives?: number;
  calibrationBins?: number;
}

/**
 * Test reports per subgroup value, for one repeat: for each attribute, model and task the model
 * predicts (the attribute's own task left out: within a value it has one class), the test units
 * (holdout: the test split; cross-validation: every unit's out-of-fold score, fold 0) grouped by
 * value, values in order '0', '1', ... and 'unknown' last, and on each group every metric of
 * {@link taskMetrics}, precision / recall / F1 at the whole population's dev-chosen threshold
 * (`reports`' test row; cross-validation: none), the ECE, and low support as for the whole population.
 * @param reports the repeat's whole-population reports (for the thresholds).
 * @throws RangeError when an attribute's values do not match the units.
 */
export function subgroupReports(
  input: EvaluationInput,
  attributes: readonly SubgroupAttribute[],
  reports: readonly TaskReport[],
  options: SubgroupOptions,
): TaskReport[] {
  const t = input.tasks.length;
  const units = input.unitIds.length;
  const minPositives = options.minPositives ?? DEFAULT_MIN_POSITIVES;
  let test: number[];
  if (input.design.kind === 'holdout') {
    const split = input.design.split;
    test = [];
    for (let u = 0; u < units; u++) if (split[u] === SPLIT_TEST) test.push(u);
  } else {
    const folds = foldIdsOf(input.design.assignments, units);
    test = [];
    for (let u = 0; u < units; u++) if (folds[u] !== -1) test.push(u);
  }
  const out: TaskReport[] = [];
  for (const attribute of attributes) {
    if (attribute.values.length !== units)
      throw new RangeError(
        `subgroup ${attribute.name} has ${attribute.values.length} values, expected ${units}`,
      );
    const groups = new Map<string, number[]>();
    for (const u of test) {
      const v = attribute.values[u] ?? UNKNOWN_SUBGROUP;
      groups.set(v, [...(groups.get(v) ?? []), u]);
    }
    const values = [...groups.keys()].sort((a, b) =>
      a === UNKNOWN_SUBGROUP ? 1 : b === UNKNOWN_SUBGROUP ? -1 : a.localeCompare(b),
    );
    for (const model of input.models) {
      const scores = input.scores[model.name]!;
      for (let j = 0; j < t; j++) {
        const task = input.tasks[j]!;
        if (task.name === attribute.name) continue;
        const whole = reports.find(
          (r) =>
            r.model === model.name &&
            r.task === task.name &&
            r.split === 'test' &&
            r.fold === 0 &&
            !r.subgroup,
        );
        if (!whole) continue; // the model does not predict this task
        for (const value of values) {
          const rows = groups.get(value)!;
          const s = Float64Array.from(rows, (u) => scores[u * t + j]!);
          const y = Float64Array.from(rows, (u) => input.y[u * t + j]!);
          const { roc: _roc, ...metrics } = taskMetrics(s, y, {
            threshold: input.design.kind === 'holdout' ? whole.threshold : null,
            ...(options.fprTargets ? { fprTargets: options.fprTargets } : {}),
            bootstrap: {
              resamples: options.bootstrapResamples ?? 1000,
              seed:
                (options.seed ^ hash32(`${task.name}\u0000test\u0000${attribute.name}\u0000${value}`)) >>> 0,
            },
          });
          const { lowSupport, ciNullReason } = supportOf(metrics, minPositives);
          out.push({
            ...metrics,
            ...(ciNullReason ? { aucCiLow: null, aucCiHigh: null } : {}),
            model: model.name,
            kind: model.kind,
            repeat: options.repeat,
            task: task.name,
            auxiliary: task.auxiliary,
            split: 'test',
            fold: 0,
            lowSupport,
            ciNullReason,
            deltaAucLr: null,
            deltaAucStl: null,
            ece: expectedCalibrationError(
              reliabilityBins(s, y, options.calibrationBins ?? DEFAULT_CALIBRATION_BINS),
            ),
            subgroup: attribute.name,
            subgroupValue: value,
          });
        }
      }
    }
  }
  return out;
}
