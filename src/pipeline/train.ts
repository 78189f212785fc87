import path from 'node:path';
import type { Backend } from '../db/backend.js';
import { MhmtlError } from '../errors.js';
import type { RunEvaluation } from '../evaluate/evaluate.js';
import { type LoadedPipeline, type PipelineConfig, parsePipeline } from './config.js';
import { modelSpecs } from './model-specs.js';
import { checkModels } from './models.js';
import { pipelineWeighting } from './weighting.js';

/**
 * `mhmtl train`: a pipeline run on what the database holds (no ingest). This module turns the
 * command line into a {@link LoadedPipeline} (a pipeline file or none, plus overrides) and
 * summarizes dev and test AUC per task. The run itself is `runPipeline(..., { skipIngest: true })`.
 */

/** Command-line overrides of a pipeline (already parsed to numbers; validated here). */
export interface TrainOverrides {
  /** Main tasks; default: the pipeline's, or every labelled task except the auxiliary ones. */
  tasks?: string[];
  /** Auxiliary tasks; default: the pipeline's, or ['gender'] when the labels have a gender task. */
  auxTasks?: string[];
  architecture?: string;
  /** Shared hidden layer sizes, e.g. [256]. */
  hidden?: number[];
  dropout?: number;
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  optimizer?: string;
  seed?: number;
  folds?: number;
  /** More options of the architecture (`--model-option key=value`), merged over the pipeline's `model`. */
  modelOptions?: Record<string, unknown>;
  /** Task weighting method (`training.weighting.method`). */
  weighting?: string;
  /** Options of the task weighting method, snake_case as a pipeline file writes them. */
  weightingOptions?: Record<string, unknown>;
}

/** The default auxiliary task (Benton et al., EACL 2017: gender). */
export const DEFAULT_AUX_TASK = 'gender';

/** Tasks with at least one label row in mhmtl.labels, sorted. */
export async function labelledTasks(backend: Backend): Promise<string[]> {
  const rows = await backend.db
    .selectFrom('mhmtl.labels')
    .select('task')
    .distinct()
    .orderBy('task')
    .execute();
  return rows.map((r) => r.task);
}

/**
 * The pipeline `mhmtl train` runs: `base` (a loaded pipeline file) or, without one, a pipeline named
 * `train` with no inputs whose main tasks are every task in mhmtl.labels except the auxiliary ones
 * (auxiliary: `gender` when labelled); then the overrides, validated through {@link parsePipeline}
 * (so schema errors name the JSON path), and the model and training options checked as the train
 * stage will resolve them, so that a bad value fails before a run is recorded.
 * @throws UsageError (exit 2) for an invalid value or task list; MhmtlError when the database has no
 *   labels and no task was given.
 */
export async function trainPipeline(
  backend: Backend,
  base: LoadedPipeline | null,
  overrides: TrainOverrides,
): Promise<LoadedPipeline> {
  const value = structuredClone(
    base?.config ?? ({ name: 'train', inputs: [], tasks: { main: [] } } satisfies PipelineConfig),
  ) as PipelineConfig;
  if (!base || overrides.tasks !== undefined || overrides.auxTasks !== undefined) {
    const labelled = base && overrides.tasks !== undefined ? [] : await labelledTasks(backend);
    const aux =
      overrides.auxTasks ??
      (base
        ? (value.tasks.auxiliary ?? []).filter((t) => !(overrides.tasks ?? []).includes(t))
        : labelled.includes(DEFAULT_AUX_TASK) && !(overrides.tasks ?? []).includes(DEFAULT_AUX_TASK)
          ? [DEFAULT_AUX_TASK]
          : []);
    const main = overrides.tasks ?? (base ? value.tasks.main : labelled.filter((t) => !aux.includes(t)));
    if (main.length === 0) {
      throw new MhmtlError(
        'no task to train: the database has no labels (ingest labels first) and --tasks was not given',
      );
    }
    value.tasks = { ...value.tasks, main, auxiliary: aux };
  }
  const model = { ...(value.model ?? {}) };
  if (overrides.architecture !== undefined) model.architecture = overrides.architecture;
  if (overrides.hidden !== undefined) model.hidden = overrides.hidden;
  if (overrides.dropout !== undefined) model.dropout = overrides.dropout;
  Object.assign(model, overrides.modelOptions ?? {});
  if (Object.keys(model).length > 0) value.model = model;
  const training = { ...(value.training ?? {}) };
  if (overrides.epochs !== undefined) training.epochs = overrides.epochs;
  if (overrides.batchSize !== undefined) training.batch_size = overrides.batchSize;
  if (overrides.learningRate !== undefined) training.learning_rate = overrides.learningRate;
  if (overrides.optimizer !== undefined) training.optimizer = overrides.optimizer;
  if (overrides.weighting !== undefined || overrides.weightingOptions !== undefined)
    training.weighting = weightingOverride(value, overrides);
  if (Object.keys(training).length > 0) value.training = training;
  if (overrides.seed !== undefined) value.seed = overrides.seed;
  if (overrides.folds !== undefined)
    value.evaluation = { ...(value.evaluation ?? {}), folds: overrides.folds };

  const origin = base?.file ? `pipeline file ${base.file} with the command-line options` : 'train options';
  const config = parsePipeline(value, base?.file ? path.dirname(base.file) : process.cwd(), origin);
  // Architectures check their own options: every model is created once as the train stage will.
  checkModels(
    modelSpecs(config),
    { main: config.tasks.main, auxiliary: config.tasks.auxiliary ?? [] },
    config.seed ?? 42,
  );
  return { file: base?.file ?? null, config };
}

/**
 * `training.weighting` after `--weighting` / `--weighting-option`: the options given on the command
 * line over the pipeline's weighting (with `tasks.main_weight`, `aux_weight` and `weights`, the
 * fixed method's options, moved into it) when the method stays the same, alone when `--weighting`
 * names another method (the pipeline's options belong to its own method). Removes the fixed
 * options from `value.tasks`: the result holds them.
 */
function weightingOverride(value: PipelineConfig, overrides: TrainOverrides): Record<string, unknown> {
  const current = pipelineWeighting(value);
  const method = overrides.weighting ?? current.method;
  const { weights: _w, main_weight: _m, aux_weight: _a, ...tasks } = value.tasks;
  value.tasks = tasks;
  return {
    ...(method === current.method ? current : {}),
    ...overrides.weightingOptions,
    method,
  };
}

/**
 * Per task, the dev and test AUC of each model of a holdout run (fold 0, first repeat), as table
 * rows: `task`, then `<model> dev/test` cells ("0.812 / 0.790"; empty when the model does not
 * predict the task, "n/a" for an undefined AUC). Empty for a cross-validated run (it has no dev split).
 */
export function devTestAucRows(evaluation: RunEvaluation): Record<string, string>[] {
  const reports = evaluation.reports.filter((r) => r.fold === 0 && r.repeat === 0);
  if (!reports.some((r) => r.split === 'dev')) return [];
  const f = (x: number | null | undefined) => (x === null || x === undefined ? 'n/a' : x.toFixed(3));
  return evaluation.tasks.map((task) => {
    const row: Record<string, string> = { task: task.auxiliary ? `${task.name} (aux)` : task.name };
    for (const { name: model } of evaluation.models) {
      const dev = reports.find((r) => r.model === model && r.task === task.name && r.split === 'dev');
      const test = reports.find((r) => r.model === model && r.task === task.name && r.split === 'test');
      row[`${model} dev / test AUC`] = dev || test ? `${f(dev?.auc)} / ${f(test?.auc)}` : '';
    }
    return row;
  });
}
