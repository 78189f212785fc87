/**
 * The model stage: backend selection, architectures, losses, task weighting, training, baselines,
 * persistence. Pure computation on typed arrays except store.ts / export.ts (database adapter).
 *
 * Typical use (the pipeline):
 *   await initTensorflow();
 *   for (const plan of planModels({ tasks, auxTasks, architectureConfig, training })) {
 *     const model = plan.create();
 *     await model.fit(data, { onEpoch, signal });
 *     await saveModel(session, runId, plan.name, plan.family, await model.toArtifact());
 *     model.dispose();
 *   }
 *   const model = modelFromArtifact(await loadModel(backend, runId, 'mtl'));  // predict later
 */
import { UsageError } from '../errors.js';
import { type LogisticRegressionConfig, LogisticRegression } from './baselines/logistic-regression.js';
import type { ModelFamily } from './store.js';
import { NeuralModel } from './neural-model.js';
import type { TrainingConfig } from './training-config.js';
import type { Model } from './types.js';

export { activeBackend, initTensorflow, type TensorflowInfo, tensorflowInfo } from './backend.js';
export { architectureNames, getArchitecture } from './architectures/index.js';
export { modelFromArtifact, modelJson } from './io/artifact.js';
export { exportModel } from './export.js';
export { LogisticRegression, type LogisticRegressionConfig } from './baselines/logistic-regression.js';
export { loadFeatureSpace, listModels, loadModel, type ModelFamily, saveModel } from './store.js';
export { NeuralModel, type NeuralModelOptions } from './neural-model.js';
export { resolveTrainingConfig, TRAINING_DEFAULTS, type TrainingConfig } from './training-config.js';
export { TrainingDivergedError } from './trainer.js';
export type { EpochRecord, FitOptions, Model, ModelArtifact, TrainingData, TrainingResult } from './types.js';

/** One model to train in a run: its stored name, family, and how to create it. */
export interface ModelPlan {
  /** `mtl`, `mtl_no_aux`, `stl:<task>`, `lr:<task>`. */
  name: string;
  family: ModelFamily;
  create(): Model;
}

/** What {@link planModels} needs. */
export interface PlanOptions {
  /** Every task (main and auxiliary), as columns of the labels. */
  tasks: readonly string[];
  auxTasks?: readonly string[];
  architecture?: string;
  architectureConfig?: Record<string, unknown>;
  training?: Partial<TrainingConfig>;
  logisticRegression?: Partial<LogisticRegressionConfig>;
  /** Which baselines to add; default all (stl, lr, and mtl_no_aux when there are aux tasks). */
  baselines?: { stl?: boolean; lr?: boolean; mtlNoAux?: boolean };
}

/**
 * The models of a run, as in Benton et al. (EACL 2017, Section 5): the multi-task network over
 * every task (`mtl`), without the auxiliary tasks (`mtl_no_aux`, when there are any), a
 * single-task network with the same hidden layers per main task (`stl:<task>`), and a logistic
 * regression per main task (`lr:<task>`). All share the same training configuration and seed.
 * @throws UsageError when an auxiliary task is not among the tasks or no main task remains.
 */
export function planModels(options: PlanOptions): ModelPlan[] {
  const aux = [...(options.auxTasks ?? [])];
  for (const a of aux)
    if (!options.tasks.includes(a)) throw new UsageError(`auxiliary task '${a}' is not a task`);
  const main = options.tasks.filter((t) => !aux.includes(t));
  if (main.length === 0) throw new UsageError('no main task (every task is auxiliary)');
  const neural = (tasks: readonly string[], auxTasks: readonly string[]) => () =>
    new NeuralModel({
      architecture: options.architecture,
      architectureConfig: options.architectureConfig,
      tasks,
      auxTasks,
      runTasks: options.tasks,
      training: options.training,
    });
  const b = { stl: true, lr: true, mtlNoAux: true, ...options.baselines };
  const plans: ModelPlan[] = [{ name: 'mtl', family: 'mtl', create: neural(options.tasks, aux) }];
  if (aux.length > 0 && b.mtlNoAux)
    plans.push({ name: 'mtl_no_aux', family: 'mtl_no_aux', create: neural(main, []) });
  if (b.stl) for (const t of main) plans.push({ name: `stl:${t}`, family: 'stl', create: neural([t], []) });
  if (b.lr) {
    const seed = options.training?.seed;
    for (const t of main) {
      plans.push({
        name: `lr:${t}`,
        family: 'lr',
        create: () =>
          new LogisticRegression([t], {
            ...(seed === undefined ? {} : { seed }),
            ...options.logisticRegression,
          }),
      });
    }
  }
  return plans;
}
