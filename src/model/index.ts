/**
 * The model stage: backend selection, architectures, losses, task weighting, training, baselines,
 * persistence. Pure computation on typed arrays except store.ts / export.ts (database adapter).
 *
 * Typical use (the pipeline, which plans the models of a run in src/pipeline/models.ts):
 *   await initTensorflow();
 *   const model = new NeuralModel({ architecture, architectureConfig, tasks, auxTasks, training });
 *   await model.fit(data, { onEpoch, signal });
 *   await saveModel(session, runId, { name: 'mtl', reportedAs: 'mtl', kind: 'mtl' }, await model.toArtifact());
 *   model.dispose();
 *   const model = modelFromArtifact(await loadModel(backend, runId, 'mtl'));  // predict later
 */
export { activeBackend, initTensorflow, type TensorflowInfo, tensorflowInfo } from './backend.js';
export { architectureNames, getArchitecture } from './architectures/index.js';
export { modelFromArtifact, modelJson } from './io/artifact.js';
export { exportModel } from './export.js';
export { LogisticRegression, type LogisticRegressionConfig } from './baselines/logistic-regression.js';
export { loadFeatureSpace, listModels, loadModel, saveModel, type StoredModelName } from './store.js';
export { NeuralModel, type NeuralModelOptions } from './neural-model.js';
export { resolveTrainingConfig, TRAINING_DEFAULTS, type TrainingConfig } from './training-config.js';
export { TrainingDivergedError } from './trainer.js';
export type { EpochRecord, FitOptions, Model, ModelArtifact, TrainingData, TrainingResult } from './types.js';
