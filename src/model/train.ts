import * as tf from '@tensorflow/tfjs';
import { MhmtlError, UsageError } from '../errors.js';
import { type CsrMatrix, selectRows } from '../features/csr.js';
import { rocAuc } from '../evaluate/metrics.js';
import { topologyJson } from './architectures/architecture.js';
import { getArchitecture, type Network, type NetworkSpec } from './architectures/index.js';
import { decodeWeights } from './architectures/hard-sharing.js';
import {
  DEFAULT_POS_WEIGHT_CAP,
  maskLabels,
  maskedBinaryCrossEntropy,
  type PosWeightSetting,
  positiveWeights,
} from './losses.js';
import type { OptimizerConfig } from './optimizers.js';
import { Random } from './random.js';
import type { EpochRecord, FitOptions, Model, ModelArtifact, TrainingData, TrainingResult } from './types.js';
import { createWeighting, type WeightingConfig } from './weighting/index.js';

/** Training options of a neural model (the pipeline file's `training` block). */
export interface TrainingConfig {
  /** 'adam' (default) or 'adagrad'. */
  optimizer: 'adam' | 'adagrad';
  /** Default 0.001 (Adam) / 0.05 (Adagrad). */
  learningRate: number;
  /** Units per step; default 64. */
  batchSize: number;
  /** Maximum number of epochs; default 30. */
  epochs: number;
  /** Stop after this many epochs without a better dev mean AUC over the main tasks; default 5. */
  patience: number;
  /** L2 coefficient on weight matrices; default 1e-6. */
  l2: number;
  /** Positive-class weight per task; default 'balanced' (negatives/positives on train, in [1, cap]). */
  posWeight: PosWeightSetting;
  /** Cap of the 'balanced' positive weight; default 10. */
  posWeightCap: number;
  /** Task weighting strategy; default fixed weights of 1. */
  weighting: WeightingConfig;
  /** Seed of initial weights, shuffling and dropout; default 1. */
  seed: number;
}

/** Defaults of {@link TrainingConfig} (learningRate depends on the optimizer: see resolveTrainingConfig). */
export const TRAINING_DEFAULTS: Omit<TrainingConfig, 'learningRate'> = {
  optimizer: 'adam',
  batchSize: 64,
  epochs: 30,
  patience: 5,
  l2: 1e-6,
  posWeight: 'balanced',
  posWeightCap: DEFAULT_POS_WEIGHT_CAP,
  weighting: { method: 'fixed' },
  seed: 1,
};

/** Fill defaults and check ranges. @throws UsageError on a bad value. */
export function resolveTrainingConfig(config: Partial<TrainingConfig> = {}): TrainingConfig {
  const optimizer = config.optimizer ?? TRAINING_DEFAULTS.optimizer;
  const c: TrainingConfig = {
    ...TRAINING_DEFAULTS,
    ...config,
    optimizer,
    learningRate: config.learningRate ?? (optimizer === 'adagrad' ? 0.05 : 0.001),
  };
  if (c.optimizer !== 'adam' && c.optimizer !== 'adagrad') {
    throw new UsageError(`unknown optimizer '${String(c.optimizer)}' (known: adam, adagrad)`);
  }
  const positiveInt = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min)
      throw new UsageError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  positiveInt('batchSize', c.batchSize, 1);
  positiveInt('epochs', c.epochs, 1);
  positiveInt('patience', c.patience, 1);
  if (!(c.learningRate > 0)) throw new UsageError(`learningRate must be > 0, got ${c.learningRate}`);
  if (!(c.l2 >= 0)) throw new UsageError(`l2 must be >= 0, got ${c.l2}`);
  if (!(c.posWeightCap >= 1)) throw new UsageError(`posWeightCap must be >= 1, got ${c.posWeightCap}`);
  if (!Number.isInteger(c.seed)) throw new UsageError(`seed must be an integer, got ${c.seed}`);
  return c;
}

/** Training stopped because a task's loss became NaN or infinite. */
export class TrainingDivergedError extends MhmtlError {
  constructor(
    readonly task: string,
    readonly epoch: number,
    readonly value: number,
  ) {
    super(
      `training diverged: the loss of task '${task}' is ${value} in epoch ${epoch} ` +
        '(try a smaller learning rate, check the features for non-finite values)',
    );
    this.name = 'TrainingDivergedError';
  }
}

/** Columns `columns` of a row-major `[rows x width]` matrix, for rows `rowIds` (all when null). */
export function selectLabels(
  y: Float32Array,
  width: number,
  rowIds: ArrayLike<number> | null,
  columns: readonly number[],
): Float32Array {
  const rows = rowIds ? rowIds.length : y.length / width;
  const out = new Float32Array(rows * columns.length);
  for (let i = 0; i < rows; i++) {
    const r = rowIds ? rowIds[i]! : i;
    for (let c = 0; c < columns.length; c++) out[i * columns.length + c] = y[r * width + columns[c]!]!;
  }
  return out;
}

/** Column indices of `tasks` within `available`. @throws UsageError when one is missing. */
export function taskColumns(available: readonly string[], tasks: readonly string[]): number[] {
  return tasks.map((t) => {
    const i = available.indexOf(t);
    if (i < 0) throw new UsageError(`task '${t}' is not among the labels (${available.join(', ')})`);
    return i;
  });
}

/** Per-task dev AUC and their mean over `mainTasks` (tasks with one class on dev skipped). */
export function devAucs(
  scores: Float32Array,
  labels: Float32Array,
  tasks: readonly string[],
  mainTasks: readonly string[],
): { perTask: Record<string, number | null>; mean: number | null } {
  const t = tasks.length;
  const n = scores.length / t;
  const perTask: Record<string, number | null> = {};
  const s = new Float32Array(n);
  const l = new Float32Array(n);
  const main: number[] = [];
  tasks.forEach((name, k) => {
    for (let i = 0; i < n; i++) {
      s[i] = scores[i * t + k]!;
      l[i] = labels[i * t + k]!;
    }
    const auc = n > 0 ? rocAuc(s, l) : null;
    perTask[name] = auc;
    if (auc !== null && mainTasks.includes(name)) main.push(auc);
  });
  return { perTask, mean: main.length > 0 ? main.reduce((a, b) => a + b, 0) / main.length : null };
}

/** Options of a {@link NeuralModel}. */
export interface NeuralModelOptions {
  /** Registered architecture name; default 'hard_sharing'. */
  architecture?: string;
  /** The architecture's options (hard_sharing: hidden, activation, dropout). */
  architectureConfig?: Record<string, unknown>;
  /** Tasks, one head each, main and auxiliary. */
  tasks: readonly string[];
  /** The auxiliary subset of `tasks` (trained, not the goal: not in the early-stopping criterion). */
  auxTasks?: readonly string[];
  training?: Partial<TrainingConfig>;
}

/**
 * A neural multi-task model (MTL, MTL without auxiliary tasks, or STL with one task): a network of
 * a registered architecture trained by minibatch gradient descent on the masked, weighted
 * multi-task loss (src/model/losses.ts), with early stopping on the dev split's mean AUC over the
 * main tasks, restoring the best epoch's weights.
 */
export class NeuralModel implements Model {
  readonly architecture: string;
  readonly tasks: readonly string[];
  readonly auxTasks: readonly string[];
  readonly training: TrainingConfig;
  readonly architectureConfig: Record<string, unknown>;
  private network: Network | null = null;
  /**
   * Warm start (transfer learning): given the fresh seeded weights of the network, in
   * {@link Network.snapshot} order, return the weights to start training from (e.g. shared layers
   * copied from an earlier run's model). Applied at the start of every {@link fit}.
   */
  initialWeights: ((fresh: Float32Array[]) => Float32Array[]) | null = null;
  private result: TrainingResult | null = null;
  private backend = '';

  /** @throws UsageError on an unknown architecture, bad options, or aux tasks not among tasks. */
  constructor(options: NeuralModelOptions) {
    this.architecture = options.architecture ?? 'hard_sharing';
    this.architectureConfig = getArchitecture(this.architecture).resolveConfig(
      options.architectureConfig ?? {},
    );
    if (options.tasks.length === 0) throw new UsageError('a model needs at least one task');
    if (new Set(options.tasks).size !== options.tasks.length) throw new UsageError('duplicate task names');
    this.tasks = [...options.tasks];
    this.auxTasks = [...(options.auxTasks ?? [])];
    for (const a of this.auxTasks) {
      if (!this.tasks.includes(a)) throw new UsageError(`auxiliary task '${a}' is not among the tasks`);
    }
    if (this.auxTasks.length === this.tasks.length)
      throw new UsageError('every task is auxiliary: no main task');
    this.training = resolveTrainingConfig(options.training);
  }

  /** The main (non-auxiliary) tasks. */
  get mainTasks(): string[] {
    return this.tasks.filter((t) => !this.auxTasks.includes(t));
  }

  private spec(inputDim: number): NetworkSpec {
    const optimizer: OptimizerConfig = {
      name: this.training.optimizer,
      learningRate: this.training.learningRate,
    };
    return {
      inputDim,
      tasks: this.tasks,
      config: this.architectureConfig,
      optimizer,
      l2: this.training.l2,
      seed: this.training.seed,
    };
  }

  /**
   * Train from scratch on `data.train`, early stopping on `data.dev` (see {@link TrainingConfig}).
   * @throws UsageError when the training split is empty or a task is missing from the labels;
   *   TrainingDivergedError when a task's loss is NaN or infinite (naming task and epoch); the
   *   signal's reason when aborted (checked between epochs).
   */
  async fit(data: TrainingData, options: FitOptions = {}): Promise<TrainingResult> {
    if (data.train.length === 0) throw new UsageError('no training units');
    const columns = taskColumns(data.tasks, this.tasks);
    this.network?.dispose();
    const network = getArchitecture(this.architecture).create(this.spec(data.x.cols));
    if (this.initialWeights) network.restore(this.initialWeights(network.snapshot()));
    this.network = network;
    this.backend = tf.getBackend();
    const result = await trainNetwork(network, data, columns, this, options);
    this.result = result;
    return result;
  }

  predict(x: CsrMatrix): Float32Array {
    if (!this.network) throw new Error('model is not trained');
    return this.network.predict(x);
  }

  async toArtifact(): Promise<ModelArtifact> {
    if (!this.network) throw new Error('model is not trained');
    const exported = await this.network.exportLayers();
    return {
      architecture: this.architecture,
      config: { architecture: this.architectureConfig, training: { ...this.training } },
      tasks: [...this.tasks],
      auxTasks: [...this.auxTasks],
      backend: this.backend || tf.getBackend(),
      history: this.result?.history ?? [],
      bestEpoch: this.result?.bestEpoch ?? null,
      trainSeconds: this.result?.trainSeconds ?? null,
      inputDim: this.network.inputDim,
      topology: topologyJson(exported),
      weights: exported.weightData,
    };
  }

  /** Rebuild a trained model from its artifact (weights, tasks, configuration, history). */
  static fromArtifact(artifact: ModelArtifact): NeuralModel {
    const config = artifact.config as {
      architecture?: Record<string, unknown>;
      training?: Partial<TrainingConfig>;
    };
    const model = new NeuralModel({
      architecture: artifact.architecture,
      architectureConfig: config.architecture ?? {},
      tasks: artifact.tasks,
      auxTasks: artifact.auxTasks,
      training: config.training ?? {},
    });
    const weights = decodeWeights(artifact.topology.weightSpecs, artifact.weights);
    model.network = getArchitecture(artifact.architecture).fromWeights(
      model.spec(artifact.inputDim),
      weights,
    );
    model.backend = artifact.backend;
    model.result = {
      history: artifact.history,
      bestEpoch: artifact.bestEpoch ?? artifact.history.length,
      trainSeconds: artifact.trainSeconds ?? 0,
    };
    return model;
  }

  /** The training history of the last fit (or of the loaded artifact), or null. */
  get trainingResult(): TrainingResult | null {
    return this.result;
  }

  /** A copy of every weight of the network (tests, early stopping). */
  weights(): Float32Array[] {
    if (!this.network) throw new Error('model is not trained');
    return this.network.snapshot();
  }

  dispose(): void {
    this.network?.dispose();
    this.network = null;
  }
}

/**
 * The training loop shared by every architecture: seeded shuffling and dropout, minibatches of
 * `batchSize` training units, one network step each, the NaN check per step, dev AUC per epoch,
 * early stopping with patience, and the best epoch's weights restored at the end.
 */
async function trainNetwork(
  network: Network,
  data: TrainingData,
  columns: number[],
  model: NeuralModel,
  options: FitOptions,
): Promise<TrainingResult> {
  const cfg = model.training;
  const tasks = model.tasks;
  const T = tasks.length;
  const width = data.tasks.length;
  const yTrain = selectLabels(data.y, width, data.train, columns);
  const posWeight = positiveWeights(cfg.posWeight, tasks, yTrain, cfg.posWeightCap);
  const weighting = createWeighting(cfg.weighting, { tasks, mainTasks: model.mainTasks });
  const xDev = data.dev.length > 0 ? selectRows(data.x, data.dev) : null;
  const yDev = selectLabels(data.y, width, data.dev, columns);
  const shuffleRandom = new Random(cfg.seed + 0x5f3759df);
  const dropoutRandom = new Random(cfg.seed + 0x2545f491);
  const order = Int32Array.from(data.train);
  const history: EpochRecord[] = [];
  let best: { epoch: number; auc: number; weights: Float32Array[] } | null = null;
  let previousTaskLoss: Float32Array | null = null;
  const started = performance.now();

  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    options.signal?.throwIfAborted();
    const epochStart = performance.now();
    const lambda = weighting.weights({ epoch, previousTaskLoss });
    shuffleRandom.shuffle(order);
    const lossSum = new Float64Array(T);
    const countSum = new Float64Array(T);
    for (let s = 0; s < order.length; s += cfg.batchSize) {
      const ids = order.subarray(s, Math.min(order.length, s + cfg.batchSize));
      const xb = selectRows(data.x, ids);
      const labels = maskLabels(selectLabels(data.y, width, ids, columns), T);
      const perTask = network.trainStep(
        xb,
        (logits) => {
          const lt = maskedBinaryCrossEntropy(logits, labels, posWeight);
          return { perTask: lt, total: tf.sum(tf.mul(lt, tf.tensor1d(lambda))) as tf.Scalar };
        },
        dropoutRandom,
      );
      for (let k = 0; k < T; k++) {
        const v = perTask[k]!;
        if (!Number.isFinite(v)) throw new TrainingDivergedError(tasks[k]!, epoch, v);
        lossSum[k]! += v * labels.counts[k]!;
        countSum[k]! += labels.counts[k]!;
      }
    }
    const trainSeconds = (performance.now() - epochStart) / 1000;
    const meanLoss = Float32Array.from(lossSum, (v, k) => (countSum[k]! > 0 ? v / countSum[k]! : 0));
    previousTaskLoss = meanLoss;
    const dev = xDev ? devAucs(network.predict(xDev), yDev, tasks, model.mainTasks) : null;
    const record: EpochRecord = {
      epoch,
      loss: Object.fromEntries(tasks.map((t, k) => [t, meanLoss[k]!])),
      devAuc: dev?.perTask ?? Object.fromEntries(tasks.map((t) => [t, null])),
      devMeanAuc: dev?.mean ?? null,
      seconds: (performance.now() - epochStart) / 1000,
      unitsPerSecond: order.length / Math.max(trainSeconds, 1e-9),
    };
    history.push(record);
    options.onEpoch?.(record);
    if (record.devMeanAuc !== null && (best === null || record.devMeanAuc > best.auc)) {
      best = { epoch, auc: record.devMeanAuc, weights: network.snapshot() };
    } else if (best !== null && epoch - best.epoch >= cfg.patience) {
      break;
    }
    // Let the event loop breathe between epochs (signals, progress output).
    await new Promise((resolve) => setImmediate(resolve));
  }
  const last = history.length;
  let bestEpoch = last;
  if (best !== null) {
    bestEpoch = best.epoch;
    if (best.epoch !== last) network.restore(best.weights);
  }
  return { history, bestEpoch, trainSeconds: (performance.now() - started) / 1000 };
}
