import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Backend } from '../db/backend.js';
import { modelJson } from './io/artifact.js';
import { loadFeatureSpace, loadModel } from './store.js';

/** What {@link exportModel} wrote. */
export interface ExportResult {
  /** Absolute paths of model.json, weights.bin and (when the run has a feature space) features.json. */
  files: string[];
  model: string;
  tasks: string[];
}

/**
 * Write model `name` of run `runId` to `outDir` in the standard tfjs layers format (model.json +
 * weights.bin), which `tf.loadLayersModel` reads with no custom class: the input is the dense
 * TF-IDF vector, the sparse first layer a Dense layer. Beside them, features.json holds the run's
 * fitted feature space (configuration, vocabulary, IDF) from mhmtl.feature_spaces, needed to
 * rebuild that vector from text. The directory is created when missing.
 * @throws MhmtlError when the run has no such model.
 */
export async function exportModel(
  backend: Backend,
  runId: number,
  name: string,
  outDir: string,
): Promise<ExportResult> {
  const artifact = await loadModel(backend, runId, name);
  const features = await loadFeatureSpace(backend, runId);
  mkdirSync(outDir, { recursive: true });
  const files: string[] = [];
  const write = (file: string, data: string | Uint8Array) => {
    const p = path.resolve(outDir, file);
    writeFileSync(p, data);
    files.push(p);
  };
  write('model.json', `${JSON.stringify(modelJson(artifact, 'weights.bin'))}\n`);
  write('weights.bin', artifact.weights);
  if (features) {
    write(
      'features.json',
      `${JSON.stringify({ runId, nFeatures: features.nFeatures, nUnits: features.nUnits, config: features.config, state: features.state })}\n`,
    );
  }
  return { files, model: name, tasks: artifact.tasks };
}
