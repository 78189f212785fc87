import type { CsrMatrix } from '../features/csr.js';

/**
 * The data every model of a run trains on: the same features, labels and split. Each model picks
 * its own tasks (columns of `y`) by name, so one TrainingData serves MTL, MTL without auxiliary
 * tasks, STL and logistic regression alike.
 */
export interface TrainingData {
  /** Features, `[units, features]` (TF-IDF), one row per unit of analysis. */
  x: CsrMatrix;
  /** Labels, `[units x tasks]` row-major: 1, 0, or NaN = unknown. */
  y: Float32Array;
  /** Names of the columns of `y`. */
  tasks: readonly string[];
  /** Row ids of the training units. */
  train: Int32Array;
  /** Row ids of the dev units (early stopping); may be empty (then no early stopping). */
  dev: Int32Array;
}

/** One epoch of training, as stored in `mhmtl.models.history`. */
export interface EpochRecord {
  /** 1-based epoch number. */
  epoch: number;
  /** Mean training loss per task (masked BCE, before task weights), by task name. */
  loss: Record<string, number>;
  /** Dev AUC per task; null when the dev split holds one class only (or no dev units). */
  devAuc: Record<string, number | null>;
  /** Mean dev AUC over the main tasks that have one, or null. */
  devMeanAuc: number | null;
  /**
   * Dev loss per task (masked, positive-weighted BCE; null without dev labels) and its mean over
   * the main tasks (the default selection criterion, src/model/early-stopping.ts). Absent in
   * histories stored before they were recorded.
   */
  devLoss?: Record<string, number | null>;
  devMeanLoss?: number | null;
  /** Mean task weight of the epoch's batches, by task (the weighting method's; absent for LR and old histories). */
  weights?: Record<string, number>;
  /** Wall-clock seconds of the epoch (training steps plus dev scoring). */
  seconds: number;
  /** Training throughput of the epoch, units/s (steps only). */
  unitsPerSecond: number;
  /**
   * True when the network changed its structure at the end of this epoch (Network.adaptStructure;
   * model selection restarted there); absent otherwise.
   */
  structureChanged?: boolean;
}

/** What a training run returns. */
export interface TrainingResult {
  history: EpochRecord[];
  /** The epoch whose weights the model holds now (1-based; the last one without early stopping). */
  bestEpoch: number;
  /** Wall-clock seconds of the whole fit. */
  trainSeconds: number;
}

/** Options of a fit that are not part of the model's configuration. */
export interface FitOptions {
  /** Called after every epoch (the CLI renders epoch, loss, dev AUC, units/s). */
  onEpoch?: (record: EpochRecord) => void;
  /** Checked between epochs; an aborted signal throws its reason. */
  signal?: AbortSignal;
}

/**
 * A trained or trainable model: the multi-task network, its baselines, and logistic regression
 * all have this shape (scikit-learn style: configure, `fit`, `predict`).
 */
export interface Model {
  /** 'hard_sharing' or another registered architecture, or 'logistic_regression'. */
  readonly architecture: string;
  /** The tasks it predicts, in output column order (main and auxiliary). */
  readonly tasks: readonly string[];
  /** The subset of {@link tasks} that are auxiliary. */
  readonly auxTasks: readonly string[];
  /** Train on `data.train` (early stopping on `data.dev`); the weights end at the best epoch. */
  fit(data: TrainingData, options?: FitOptions): Promise<TrainingResult>;
  /** Probabilities `[x.rows x tasks.length]` row-major. @throws Error before fit or load. */
  predict(x: import('../features/csr.js').CsrMatrix): Float32Array;
  /** Everything needed to store and rebuild the model. @throws Error before fit or load. */
  toArtifact(): Promise<ModelArtifact>;
  /**
   * What the trained model says about how its tasks relate (mhmtl.task_relations); [] when nothing.
   * `x`: the units to average input-dependent relations over (the training units).
   */
  relations?(x?: CsrMatrix): import('./architectures/architecture.js').TaskRelation[];
  /**
   * What each head relies on: a weight per feature and task (> 0 toward the condition), as
   * ./attribution.ts computes it (coefficients for a linear model, gradient x input for a network).
   * `unitsByTask`: per task of {@link tasks}, the rows of `x` to average over (the test positives);
   * a model whose weights do not depend on units ignores both. @throws Error before fit or load.
   */
  featureAttribution?(
    x: CsrMatrix,
    unitsByTask: readonly ArrayLike<number>[],
  ): import('./attribution.js').FeatureAttribution;
  /** Free tensors and optimizer state. */
  dispose(): void;
}

/**
 * A stored model (a row of mhmtl.models without its run and name). `topology` and `weights` are
 * the tfjs layers format: `{ modelTopology, weightSpecs, format, generatedBy }` as in model.json,
 * and the weight bytes (little-endian float32 in `weightSpecs` order).
 */
export interface ModelArtifact {
  architecture: string;
  /** Architecture and training configuration with defaults filled (JSON). */
  config: Record<string, unknown>;
  tasks: string[];
  auxTasks: string[];
  /** The tfjs backend it was trained on ('wasm', 'tensorflow', 'cpu'). */
  backend: string;
  history: EpochRecord[];
  bestEpoch: number | null;
  trainSeconds: number | null;
  /** Number of input features (the vocabulary size). */
  inputDim: number;
  topology: ModelTopologyJson;
  weights: Uint8Array;
}

/** model.json minus the weights manifest's paths. */
export interface ModelTopologyJson {
  format: 'layers-model';
  generatedBy: string;
  convertedBy: null;
  modelTopology: object;
  weightSpecs: import('@tensorflow/tfjs').io.WeightsManifestEntry[];
}
