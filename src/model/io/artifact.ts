import { LogisticRegression } from '../baselines/logistic-regression.js';
import { NeuralModel } from '../neural-model.js';
import type { Model, ModelArtifact } from '../types.js';

/** Rebuild a model of any kind (neural architecture or logistic regression) from its artifact. */
export function modelFromArtifact(artifact: ModelArtifact): Model {
  if (artifact.architecture === 'logistic_regression') return LogisticRegression.fromArtifact(artifact);
  return NeuralModel.fromArtifact(artifact);
}

/** The model.json of the tfjs layers format, pointing at one weights file. */
export function modelJson(artifact: ModelArtifact, weightsPath = 'weights.bin'): Record<string, unknown> {
  return {
    format: artifact.topology.format,
    generatedBy: artifact.topology.generatedBy,
    convertedBy: null,
    modelTopology: artifact.topology.modelTopology,
    weightsManifest: [{ paths: [weightsPath], weights: artifact.topology.weightSpecs }],
    userDefinedMetadata: {
      mhmtl: { architecture: artifact.architecture, tasks: artifact.tasks, auxTasks: artifact.auxTasks },
    },
  };
}
