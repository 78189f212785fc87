import * as tf from '@tensorflow/tfjs';
import type { CsrMatrix } from '../../features/csr.js';
import type { OptimizerConfig } from '../optimizers.js';
import type { Random } from '../random.js';
import type { ModelTopologyJson } from '../types.js';

/**
 * Network architectures, pluggable by name (LibMTL's `architecture/` folder: an abstract base,
 * one architecture a file, chosen by the configuration's `architecture`). An architecture builds a
 * {@link Network}: something that maps a CSR batch `[batch, features]` to one logit per task and
 * can take a gradient step on a loss given by the training loop (src/model/train.ts), which is the
 * same for every architecture.
 */

/** What a network is built from. */
export interface NetworkSpec {
  /** Number of input features (the vocabulary size, CSR `cols`). */
  inputDim: number;
  /** The tasks, one sigmoid head each, in head order. */
  tasks: readonly string[];
  /** The architecture's own options (e.g. hidden sizes); defaults filled by the architecture. */
  config: Record<string, unknown>;
  optimizer: OptimizerConfig;
  /** L2 penalty coefficient on the weight matrices (not biases): loss += l2 * sum(W^2). */
  l2: number;
  /** Seed of the initial weights. */
  seed: number;
}

/**
 * The loss a training step minimizes, given the network's logits `[batch, tasks]`: `total` (a
 * scalar: the weighted sum of task losses) and `perTask` (`[tasks]`, for history and the NaN
 * check). Runs inside tf.tidy.
 */
export type LossFunction = (logits: tf.Tensor2D) => { total: tf.Scalar; perTask: tf.Tensor1D };

/** The tfjs layers format of a network: what `model.json` holds, and the weight bytes. */
export interface LayersExport {
  /** `modelTopology` (a Keras-style Sequential or functional model: no custom layer). */
  modelTopology: object;
  /** One entry per weight in `weights` order: name, shape, dtype ('float32'). */
  weightSpecs: tf.io.WeightsManifestEntry[];
  /** All weights concatenated, little-endian float32. */
  weightData: Uint8Array;
}

/** The `model.json` part of a {@link LayersExport} (without the weight paths), as artifacts store it. */
export function topologyJson(exported: LayersExport): ModelTopologyJson {
  return {
    format: 'layers-model',
    generatedBy: `TensorFlow.js tfjs-layers v${tf.version.tfjs}`,
    convertedBy: null,
    modelTopology: exported.modelTopology,
    weightSpecs: exported.weightSpecs,
  };
}

/** A trainable network of some architecture. */
export interface Network {
  readonly architecture: string;
  readonly inputDim: number;
  readonly tasks: readonly string[];
  /** The architecture's options with defaults filled in (JSON). */
  readonly config: Record<string, unknown>;
  /**
   * One optimization step on the batch `x` (`[batch, features]`): forward with dropout drawn from
   * `random`, loss, gradients, update. Returns the per-task loss of the batch, `[tasks]`.
   */
  trainStep(x: CsrMatrix, loss: LossFunction, random: Random): Float32Array;
  /** Probabilities (sigmoid of the logits), `[units x tasks]` row-major; no dropout. */
  predict(x: CsrMatrix): Float32Array;
  /** A copy of every weight (for restoring the best epoch). */
  snapshot(): Float32Array[];
  /** Set every weight from a {@link snapshot}. */
  restore(weights: readonly Float32Array[]): void;
  /** The equivalent plain tfjs layers model (no custom class), as model.json parts + bytes. */
  exportLayers(): Promise<LayersExport>;
  /** Free the tensors, variables and optimizer state. */
  dispose(): void;
}

/** An architecture: how to build a fresh network, and how to rebuild a trained one. */
export interface Architecture {
  readonly name: string;
  /** Fill the defaults of the architecture's options. @throws UsageError on bad options. */
  resolveConfig(config: Record<string, unknown>): Record<string, unknown>;
  /** A new network with seeded initial weights. */
  create(spec: NetworkSpec): Network;
  /** A network with the given weights, in {@link LayersExport} `weightSpecs` order. */
  fromWeights(spec: NetworkSpec, weights: readonly Float32Array[]): Network;
}
