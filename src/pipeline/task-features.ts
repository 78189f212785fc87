import type { TaskFeatureRow } from '../evaluate/store.js';
import type { CsrMatrix } from '../features/csr.js';
import { topFeatures } from '../model/attribution.js';
import type { Model } from '../model/index.js';

/** Default of `evaluation.top_terms`: terms stored per model, task and direction. */
export const DEFAULT_TOP_TERMS = 20;

/**
 * What each head of a trained model relies on, as rows of mhmtl.task_features: per task of the
 * model, the `n` vocabulary terms with the largest weight toward its condition and the `n` with
 * the most negative (src/model/attribution.ts: logistic regression's coefficients; a network's
 * gradient x input averaged over the task's test positives). A task without a test positive gets
 * no network terms (nothing to average over); a model without `featureAttribution` gets none.
 * @param x the fold's features `[units, vocabulary]`; @param y labels `[units x runTasks]`;
 * @param test the test rows of `x`; @param vocabulary the feature space's terms, in column order.
 */
export function headTerms(
  model: Model,
  options: {
    reportedAs: string;
    repeat: number;
    n: number;
    x: CsrMatrix;
    y: Float32Array;
    runTasks: readonly string[];
    test: Int32Array;
    vocabulary: readonly string[];
  },
): TaskFeatureRow[] {
  const { n, x, y, runTasks, test, vocabulary } = options;
  if (n === 0 || !model.featureAttribution) return [];
  const T = runTasks.length;
  const positives = model.tasks.map((task) => {
    const j = runTasks.indexOf(task);
    return test.filter((r) => y[r * T + j] === 1);
  });
  const attribution = model.featureAttribution(x, positives);
  const rows: TaskFeatureRow[] = [];
  for (const [k, task] of model.tasks.entries()) {
    const units = attribution.units[k] ?? null;
    if (units === 0) continue;
    const { toward, away } = topFeatures(attribution.weights[k]!, n);
    for (const f of [...toward, ...away]) {
      rows.push({
        model: options.reportedAs,
        task,
        repeat: options.repeat,
        rank: f.rank,
        term: vocabulary[f.feature]!,
        weight: f.weight,
        method: attribution.method,
        units,
      });
    }
  }
  return rows;
}
