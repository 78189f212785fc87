import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import type { CsrMatrix } from '../features/csr.js';
import { topologyJson } from './architectures/architecture.js';
import { decodeWeights } from './architectures/hard-sharing.js';
import { getArchitecture, type Network, type NetworkSpec } from './architectures/index.js';
import { taskColumns } from './labels.js';
import type { OptimizerConfig } from './optimizers.js';
import { resolveTrainingConfig, type TrainingConfig } from './training-config.js';
import { trainNetwork } from './trainer.js';
import type { FitOptions, Model, ModelArtifact, TrainingData, TrainingResult } from './types.js';

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
