import type { Backend } from '../db/backend.js';
import { MhmtlError } from '../errors.js';
import type { TfidfState } from '../features/tfidf.js';
import type { WarmStartSource } from '../model/architectures/architecture.js';
import { namedWeights } from '../model/io/layers-graph.js';
import { loadFeatureSpace, loadModel } from '../model/store.js';

/**
 * The database side of warm starts (transfer learning): an earlier run's model and the vocabulary
 * of its feature space, as a {@link WarmStartSource}. What is copied, and whether it can be, is
 * the architecture's decision (src/model/architectures/<name>.ts `warmStart`).
 */

/**
 * Load model `model` (default `mtl`) of run `runId` and the run's feature space.
 * @throws MhmtlError when the run has no such model or no feature space (e.g. a cross-validation run).
 */
export async function loadWarmStart(
  backend: Backend,
  runId: number,
  model = 'mtl',
): Promise<WarmStartSource> {
  const artifact = await loadModel(backend, runId, model);
  const space = await loadFeatureSpace(backend, runId);
  if (!space) throw new MhmtlError(`run ${runId} has no stored feature space to warm-start from`);
  return {
    runId,
    architecture: artifact.architecture,
    config: (artifact.config as { architecture?: Record<string, unknown> }).architecture ?? {},
    tasks: artifact.tasks,
    vocabulary: (space.state as TfidfState).vocabulary,
    weights: namedWeights(artifact.topology.weightSpecs, artifact.weights),
  };
}
