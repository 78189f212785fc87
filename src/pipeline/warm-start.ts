import type { Backend } from '../db/backend.js';
import { MhmtlError } from '../errors.js';
import type { TfidfState } from '../features/tfidf.js';
import { decodeWeights } from '../model/architectures/hard-sharing.js';
import { loadFeatureSpace, loadModel } from '../model/store.js';

/**
 * The least fraction of the new vocabulary that must be found in the source run's vocabulary for a
 * warm start: below it, most first-layer rows would start from scratch anyway and the copied rows
 * would describe a different input space.
 */
export const MIN_SHARED_VOCABULARY = 0.5;

/** An earlier run's multi-task model, as a source of shared-layer weights. */
export interface WarmStartSource {
  runId: number;
  architecture: string;
  /** Hidden layer sizes of the source's shared trunk. */
  hidden: number[];
  /** The source feature space's vocabulary, in column order. */
  vocabulary: readonly string[];
  /** The source weights in snapshot order: [W1 `[features, h1]`, b1, W2, b2, ..., W_heads, b_heads]. */
  weights: Float32Array[];
}

/**
 * Load run `runId`'s `mtl` model and feature space.
 * @throws MhmtlError when the run has no `mtl` model or no feature space (e.g. a cross-validation run).
 */
export async function loadWarmStart(backend: Backend, runId: number): Promise<WarmStartSource> {
  const artifact = await loadModel(backend, runId, 'mtl');
  const space = await loadFeatureSpace(backend, runId);
  if (!space) throw new MhmtlError(`run ${runId} has no stored feature space to warm-start from`);
  const arch = (artifact.config as { architecture?: { hidden?: number[] } }).architecture;
  return {
    runId,
    architecture: artifact.architecture,
    hidden: arch?.hidden ?? [],
    vocabulary: (space.state as TfidfState).vocabulary,
    weights: decodeWeights(artifact.topology.weightSpecs, artifact.weights),
  };
}

/** A warm start that can be applied, or why not. */
export type WarmStartPlan =
  | {
      ok: true;
      sharedTerms: number;
      coverage: number;
      initialWeights: (fresh: Float32Array[]) => Float32Array[];
    }
  | { ok: false; reason: string };

/**
 * Decide whether the shared layers of `source` can initialize a new network over `vocabulary`
 * with the same architecture and hidden sizes (transfer learning by parameter copying, as in
 * Yosinski et al., "How transferable are features in deep neural networks?", NIPS 2014): the
 * first layer's row of each term found in the source vocabulary is copied (other rows keep their
 * fresh initialization), the further shared layers are copied whole, and the task heads start
 * fresh.
 */
export function planWarmStart(
  source: WarmStartSource,
  target: { architecture: string; hidden: readonly number[]; vocabulary: readonly string[] },
): WarmStartPlan {
  if (source.architecture !== target.architecture) {
    return {
      ok: false,
      reason: `run ${source.runId} used architecture ${source.architecture}, not ${target.architecture}`,
    };
  }
  if (source.hidden.join(',') !== target.hidden.join(',')) {
    return {
      ok: false,
      reason: `run ${source.runId} has hidden layers [${source.hidden.join(', ')}], this run [${target.hidden.join(', ')}]`,
    };
  }
  const index = new Map(source.vocabulary.map((t, i) => [t, i]));
  const rowMap = Int32Array.from(target.vocabulary, (t) => index.get(t) ?? -1);
  const sharedTerms = rowMap.reduce((n, r) => n + (r >= 0 ? 1 : 0), 0);
  const coverage = target.vocabulary.length === 0 ? 0 : sharedTerms / target.vocabulary.length;
  if (coverage < MIN_SHARED_VOCABULARY) {
    return {
      ok: false,
      reason: `only ${(100 * coverage).toFixed(1)}% of the vocabulary is shared with run ${source.runId} (at least ${100 * MIN_SHARED_VOCABULARY}% needed)`,
    };
  }
  const h1 = target.hidden[0]!;
  const sharedArrays = 2 * target.hidden.length;
  return {
    ok: true,
    sharedTerms,
    coverage,
    initialWeights(fresh) {
      const out = fresh.map((w) => w.slice());
      const w1 = out[0]!;
      const old = source.weights[0]!;
      for (let j = 0; j < rowMap.length; j++) {
        const r = rowMap[j]!;
        if (r >= 0) w1.set(old.subarray(r * h1, (r + 1) * h1), j * h1);
      }
      for (let k = 1; k < sharedArrays; k++) out[k]!.set(source.weights[k]!);
      return out;
    },
  };
}
