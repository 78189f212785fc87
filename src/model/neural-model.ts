import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';
import type { CsrMatrix } from '../features/csr.js';
import {
  type Network,
  type NetworkSpec,
  type TaskRelation,
  topologyJson,
  type WarmStartPlan,
  type WarmStartSource,
} from './architectures/architecture.js';
import { getArchitecture } from './architectures/index.js';
import { type FeatureAttribution, gradientTimesInput } from './attribution.js';
import { namedWeights } from './io/layers-graph.js';
import { taskColumns } from './labels.js';
import { resolveTrainingConfig, type TrainingConfig } from './training-config.js';
import { trainNetwork } from './trainer.js';
import type { FitOptions, Model, ModelArtifact, TrainingData, TrainingResult } from './types.js';
import { createWeighting } from './weighting/index.js';

/** Options of a {@link NeuralModel}. */
export interface NeuralModelOptions {
  /** Registered architecture name; default 'hard_sharing'. */
  architecture?: string;
  /** The architecture's options (e.g. hard_sharing: hidden, activation, dropout). */
  architectureConfig?: Record<string, unknown>;
  /** Tasks, one output each, main and auxiliary. */
  tasks: readonly string[];
  /** The auxiliary subset of `tasks` (trained, not the goal: not in the selection criterion). */
  auxTasks?: readonly string[];
  /**
   * Every task of the run when this model trains a subset (a baseline): the architecture's options
   * may name any of them (architectures/architecture.ts ArchitectureContext.runTasks). Default `tasks`.
   */
  runTasks?: readonly string[];
  training?: Partial<TrainingConfig>;
}

/**
 * A neural multi-task model (MTL, MTL without auxiliary tasks, or STL with one task): a network of
 * a registered architecture (./architectures/) trained by the shared loop (./trainer.ts) with a
 * task weighting method (./weighting/) on the masked multi-task loss (./losses.ts), selected on
 * dev (./early-stopping.ts), the best epoch's weights restored.
 */
export class NeuralModel implements Model {
  readonly architecture: string;
  readonly tasks: readonly string[];
  readonly auxTasks: readonly string[];
  readonly training: TrainingConfig;
  readonly architectureConfig: Record<string, unknown>;
  private network: Network | null = null;
  /**
   * Warm start (transfer learning): a plan from {@link planWarmStart}, applied to the fresh network
   * at the start of every {@link fit}.
   */
  warmStart: Extract<WarmStartPlan, { ok: true }> | null = null;
  private result: TrainingResult | null = null;
  private backend = '';

  /**
   * @throws UsageError on an unknown architecture or weighting method, bad options, or auxiliary
   *   tasks not among the tasks.
   */
  constructor(options: NeuralModelOptions) {
    this.architecture = options.architecture ?? 'hard_sharing';
    if (options.tasks.length === 0) throw new UsageError('a model needs at least one task');
    if (new Set(options.tasks).size !== options.tasks.length) throw new UsageError('duplicate task names');
    this.tasks = [...options.tasks];
    this.auxTasks = [...(options.auxTasks ?? [])];
    for (const a of this.auxTasks) {
      if (!this.tasks.includes(a)) throw new UsageError(`auxiliary task '${a}' is not among the tasks`);
    }
    if (this.auxTasks.length === this.tasks.length)
      throw new UsageError('every task is auxiliary: no main task');
    this.architectureConfig = getArchitecture(this.architecture).resolveConfig(
      options.architectureConfig ?? {},
      {
        tasks: this.tasks,
        auxTasks: this.auxTasks,
        ...(options.runTasks ? { runTasks: options.runTasks } : {}),
      },
    );
    this.training = resolveTrainingConfig(options.training);
    // Check the weighting method and its options now, not in the first epoch.
    createWeighting(this.training.weighting, {
      tasks: this.tasks,
      mainTasks: this.mainTasks,
      seed: this.training.seed,
      learningRate: this.training.learningRate,
    });
  }

  /** The main (non-auxiliary) tasks. */
  get mainTasks(): string[] {
    return this.tasks.filter((t) => !this.auxTasks.includes(t));
  }

  private spec(inputDim: number): NetworkSpec {
    return {
      inputDim,
      tasks: this.tasks,
      auxTasks: this.auxTasks,
      config: this.architectureConfig,
      optimizer: { name: this.training.optimizer, learningRate: this.training.learningRate },
      seed: this.training.seed,
    };
  }

  /**
   * Whether `source` (an earlier run's model) can initialize this model over `vocabulary`: the same
   * architecture, and whatever else the architecture requires (./architectures/<name>.ts).
   */
  planWarmStart(source: WarmStartSource, vocabulary: readonly string[]): WarmStartPlan {
    if (source.architecture !== this.architecture) {
      return {
        ok: false,
        reason: `run ${source.runId} used architecture ${source.architecture}, not ${this.architecture}`,
      };
    }
    try {
      return getArchitecture(this.architecture).warmStart(source, {
        config: this.architectureConfig,
        tasks: this.tasks,
        vocabulary,
      });
    } catch (error) {
      return { ok: false, reason: (error as Error).message };
    }
  }

  /**
   * Train from scratch (or from the warm start) on `data.train`, selecting on `data.dev`.
   * @throws UsageError when the training split is empty or a task is missing from the labels;
   *   TrainingDivergedError when a task's loss is NaN or infinite (naming task and epoch); the
   *   signal's reason when aborted (checked between epochs).
   */
  async fit(data: TrainingData, options: FitOptions = {}): Promise<TrainingResult> {
    if (data.train.length === 0) throw new UsageError('no training units');
    const columns = taskColumns(data.tasks, this.tasks);
    this.network?.dispose();
    const network = getArchitecture(this.architecture).create(this.spec(data.x.cols));
    this.warmStart?.apply(network);
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

  /** The network's learned task relations; `x` as in Network.relations (the training units). */
  relations(x?: CsrMatrix): TaskRelation[] {
    return this.network?.relations(x) ?? [];
  }

  /**
   * Gradient x input of every task's logit, averaged over `unitsByTask[k]` (rows of `x`) for task
   * k (./attribution.ts gradientTimesInput: exact, O(non-zeros x first-layer width) per unit).
   * @throws Error before fit or load, or on a feature-count mismatch.
   */
  featureAttribution(x: CsrMatrix, unitsByTask: readonly ArrayLike<number>[]): FeatureAttribution {
    if (!this.network) throw new Error('model is not trained');
    return {
      method: 'gradient_x_input',
      weights: gradientTimesInput(this.network, x, unitsByTask),
      units: unitsByTask.map((u) => u.length),
    };
  }

  async toArtifact(): Promise<ModelArtifact> {
    if (!this.network) throw new Error('model is not trained');
    const exported = await this.network.exportLayers();
    return {
      architecture: this.architecture,
      // the network's configuration: the options plus any structure learned in training
      config: { architecture: { ...this.network.config }, training: { ...this.training } },
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
      training: storedTraining(config.training ?? {}),
    });
    model.network = getArchitecture(artifact.architecture).fromWeights(
      model.spec(artifact.inputDim),
      namedWeights(artifact.topology.weightSpecs, artifact.weights),
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

  /** The trained network (tests, relations). @throws Error before fit or load. */
  get trainedNetwork(): Network {
    if (!this.network) throw new Error('model is not trained');
    return this.network;
  }

  dispose(): void {
    this.network?.dispose();
    this.network = null;
  }
}

/**
 * A stored model's training configuration as this version reads it: models stored before the
 * weighting methods took snake_case options wrote `mainTaskWeight` / `auxTaskWeight`.
 */
function storedTraining(training: Partial<TrainingConfig>): Partial<TrainingConfig> {
  const w = training.weighting as Record<string, unknown> | undefined;
  if (!w || (w.mainTaskWeight === undefined && w.auxTaskWeight === undefined)) return training;
  const { mainTaskWeight, auxTaskWeight, ...rest } = w;
  return {
    ...training,
    weighting: {
      ...rest,
      method: String(rest.method ?? 'fixed'),
      ...(mainTaskWeight !== undefined ? { main_weight: mainTaskWeight } : {}),
      ...(auxTaskWeight !== undefined ? { aux_weight: auxTaskWeight } : {}),
    },
  };
}
