import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import { type LayersExport, LayersGraph } from '../io/layers-graph.js';
import type { Activation } from '../layers/activations.js';
import {
  activateAndDrop,
  addDenseLayer,
  applyDense,
  applyHiddenStack,
  columnBlock,
  type DenseLayer,
  packColumns,
} from '../layers/dense-stack.js';
import type { ForwardContext } from '../layers/forward-context.js';
import type { FirstLayerRegularization } from '../layers/sparse-dense.js';
import { glorotUniform, Random } from '../random.js';
import {
  blockGram,
  correlation,
  gramOf,
  identity,
  matrixNormalPenalty,
  symmetricPseudoInverse,
  taskCovariance,
} from '../regularizers/matrix-normal.js';
import {
  type Architecture,
  type JsonSchema,
  Network,
  type NetworkSpec,
  type TaskRelation,
  type WarmStartPlan,
} from './architecture.js';
import { checkTrunkOptions, TRUNK_OPTION_SCHEMAS } from './hard-sharing.js';
import { checkedWeights, copyRows, coverageRefusal, sourceWeight, vocabularyMap } from './transfer.js';

/**
 * Deep relationship networks (Long & Wang, "Learning Multiple Tasks with Deep Relationship
 * Networks", arXiv 1506.02117, 2015; NIPS 2017 as Multilinear Relationship Networks): shared
 * layers, then task-specific layers and heads whose parameters, stacked over the tasks, carry a
 * matrix-variate normal prior with a learned task covariance Omega (one per task-specific layer;
 * ../regularizers/matrix-normal.ts). Training alternates the network's loss plus
 * `prior_strength * tr(W Omega^-1 W^T)` per layer (Omega fixed during an epoch) with the
 * closed-form update after every epoch ({@link Network.endEpoch}), W's columns the tasks' flattened
 * kernels: `Omega = (W^T W + eps I)^(1/2) / tr((W^T W + eps I)^(1/2))`, eps the
 * `covariance_regularizer` (trace 1 as in Zhang & Yeung's multi-task relationship learning, UAI 2010,
 * which DRN builds on; the reason for trace 1 rather than the log-determinant is in
 * ../regularizers/matrix-normal.ts).
 *
 *   x [batch, features] (sparse TF-IDF)
 *     -> shared_1 .. shared_s: Dense(hidden[l]), activation, dropout        (s = L - task_specific_layers)
 *     -> per task t: task_t_(s+1) .. task_t_L: Dense(hidden[l]), activation, dropout
 *     -> per task t: head_t: Dense(1)
 *
 * The prior covers layers s+1 .. L+1 (the heads are layer L+1). The task-specific hidden layers of
 * every task start from the same initial weights (as DRN's task-specific layers start from one
 * pre-trained network), so their units line up across tasks and their covariance compares like
 * with like; the heads start from independent draws. With `task_specific_layers` equal to the
 * number of hidden layers there is no shared layer: the tasks' first layers are column blocks of
 * the one sparse first layer (`[features, T * hidden[0]]`, task t at `[t H1, (t+1) H1)`; a step
 * costs T times a shared first layer's), their prior applied lazily to the rows a batch touches as
 * the sparse layer's L2 is (a block mixing of the row by Omega^-1, which needs the JavaScript
 * kernel for now), and the representation the tasks share is the first layer's pre-activation.
 *
 * Relations (from the current weights, i.e. the selected epoch's): `task_covariance` (Omega) and
 * `task_correlation` (Omega scaled to unit diagonal) of every prior layer, `layer` = its number
 * (1-based; the heads are L+1), every ordered pair of tasks, the diagonal included. With
 * `learn_covariance: false` Omega stays the identity and the prior is an L2 penalty of strength
 * `prior_strength` on the task-specific layers.
 *
 * Warm start: the shared layers of an earlier deep-relationship run with the same hidden sizes and
 * task-specific layers (first-layer rows by term); task-specific layers, heads and Omega start
 * fresh. Refused when there is no shared layer.
 */

/** Options of deep relationship networks. */
export interface DeepRelationshipConfig {
  /** Sizes of the hidden layers (shared, then task-specific); default [256, 64]. */
  hidden: number[];
  /** How many of the last hidden layers are task-specific (0: only the heads); default 1. */
  taskSpecificLayers: number;
  /** Weight of the prior's penalty `tr(W Omega^-1 W^T)` per layer, >= 0; default 1e-3. */
  priorStrength: number;
  /** `epsilon` added to the diagonal of `W^T W` in Omega's update, >= 0; default 1e-3. */
  covarianceRegularizer: number;
  /** Update Omega after every epoch (false: Omega stays the identity); default true. */
  learnCovariance: boolean;
  activation: Activation;
  dropout: number;
}

export const DEEP_RELATIONSHIP_DEFAULTS: DeepRelationshipConfig = {
  hidden: [256, 64],
  taskSpecificLayers: 1,
  priorStrength: 1e-3,
  covarianceRegularizer: 1e-3,
  learnCovariance: true,
  activation: 'relu',
  dropout: 0.3,
};

/** Option names as a pipeline writes them -> config keys. */
const OPTION_KEYS: Record<string, keyof DeepRelationshipConfig> = {
  hidden: 'hidden',
  task_specific_layers: 'taskSpecificLayers',
  prior_strength: 'priorStrength',
  covariance_regularizer: 'covarianceRegularizer',
  learn_covariance: 'learnCovariance',
  activation: 'activation',
  dropout: 'dropout',
};

const D = DEEP_RELATIONSHIP_DEFAULTS;
const OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    hidden: {
      ...TRUNK_OPTION_SCHEMAS.hidden,
      description: 'sizes of the hidden layers, shared first, then the task-specific ones, e.g. [256, 64]',
      default: D.hidden,
    },
    task_specific_layers: {
      type: 'integer',
      minimum: 0,
      description:
        'how many of the last hidden layers are task-specific (0: only the heads; all: no shared layer); the heads always are',
      default: D.taskSpecificLayers,
    },
    prior_strength: {
      type: 'number',
      minimum: 0,
      description:
        "weight of the matrix-variate normal prior's penalty tr(W Omega^-1 W^T) on each task-specific layer",
      default: D.priorStrength,
    },
    covariance_regularizer: {
      type: 'number',
      minimum: 0,
      description:
        "epsilon added to the diagonal of W^T W in the covariance's closed-form update (keeps it invertible)",
      default: D.covarianceRegularizer,
    },
    learn_covariance: {
      type: 'boolean',
      description:
        'update the task covariance in closed form after every epoch (false: it stays the identity, a plain L2 prior)',
      default: D.learnCovariance,
    },
    activation: { ...TRUNK_OPTION_SCHEMAS.activation, default: D.activation },
    dropout: { ...TRUNK_OPTION_SCHEMAS.dropout, default: D.dropout },
  },
};

/** Fill defaults and check. @throws UsageError naming the option. */
function resolveConfig(config: Record<string, unknown>): DeepRelationshipConfig {
  const c: DeepRelationshipConfig = { ...D };
  for (const [key, value] of Object.entries(config)) {
    const field = OPTION_KEYS[key];
    if (!field)
      throw new UsageError(
        `deep_relationship has no option '${key}' (options: ${Object.keys(OPTION_KEYS).join(', ')})`,
      );
    (c as unknown as Record<string, unknown>)[field] = value;
  }
  checkTrunkOptions(c);
  const L = c.hidden.length;
  if (!Number.isInteger(c.taskSpecificLayers) || c.taskSpecificLayers < 0 || c.taskSpecificLayers > L)
    throw new UsageError(
      `task_specific_layers must be an integer from 0 to the number of hidden layers (${L}), got ${JSON.stringify(c.taskSpecificLayers)}`,
    );
  for (const [name, field] of [
    ['prior_strength', 'priorStrength'],
    ['covariance_regularizer', 'covarianceRegularizer'],
  ] as const) {
    const v = c[field];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new UsageError(`${name} must be a number >= 0, got ${JSON.stringify(v)}`);
  }
  if (typeof c.learnCovariance !== 'boolean')
    throw new UsageError(`learn_covariance must be true or false, got ${JSON.stringify(c.learnCovariance)}`);
  return { ...c, hidden: [...c.hidden] };
}

/** The resolved options as a pipeline writes them (snake_case), for the stored configuration. */
function optionsOf(c: DeepRelationshipConfig): Record<string, unknown> {
  return Object.fromEntries(Object.entries(OPTION_KEYS).map(([name, field]) => [name, c[field]]));
}

/** Number of shared hidden layers. */
const sharedCount = (c: DeepRelationshipConfig) => c.hidden.length - c.taskSpecificLayers;

/** Names and sizes of the exported weights, in export order. */
function weightShapes(c: DeepRelationshipConfig, inputDim: number, tasks: number): [string, number][] {
  const out: [string, number][] = [];
  const dense = (name: string, fanIn: number, units: number) =>
    out.push([`${name}/kernel`, fanIn * units], [`${name}/bias`, units]);
  const sizes = [inputDim, ...c.hidden];
  const s = sharedCount(c);
  for (let l = 1; l <= s; l++) dense(`shared_${l}`, sizes[l - 1]!, sizes[l]!);
  for (let t = 1; t <= tasks; t++) {
    for (let l = s + 1; l < sizes.length; l++) dense(`task_${t}_${l}`, sizes[l - 1]!, sizes[l]!);
    dense(`head_${t}`, sizes[sizes.length - 1]!, 1);
  }
  return out;
}

/** The deep relationship network (see the file's docstring). */
export class DeepRelationshipNetwork extends Network {
  readonly architecture = 'deep_relationship';
  private readonly cfg: DeepRelationshipConfig;
  /** Shared layers 2..s (the first is the sparse layer). */
  private readonly shared: DenseLayer[];
  /** Per task, its task-specific tfjs layers (from max(s+1, 2) to L). */
  private readonly taskLayers: DenseLayer[][];
  private readonly heads: DenseLayer[];
  /** Per prior layer (s+1 .. L+1): Omega and its inverse, `[T, T]`. */
  private readonly omega = new Map<number, { cov: Float64Array; inverse: Float64Array }>();

  constructor(spec: NetworkSpec, weights: ReadonlyMap<string, Float32Array>) {
    const cfg = resolveConfig(spec.config);
    const T = spec.tasks.length;
    const s = sharedCount(cfg);
    const get = (name: string) => weights.get(name)!;
    const firstBlocks = s > 0 ? ['shared_1'] : spec.tasks.map((_, t) => `task_${t + 1}_1`);
    super(
      { ...spec, config: optionsOf(cfg) },
      packColumns(
        firstBlocks.map((b) => get(`${b}/kernel`)),
        spec.inputDim,
      ),
      new Float32Array(firstBlocks.flatMap((b) => [...get(`${b}/bias`)])),
    );
    this.cfg = cfg;
    const sizes = [spec.inputDim, ...cfg.hidden];
    const dense = (name: string, l: number) =>
      addDenseLayer(this.params, name, sizes[l - 1]!, l < sizes.length ? sizes[l]! : 1, {
        kernel: get(`${name}/kernel`),
        bias: get(`${name}/bias`),
      });
    this.shared = [];
    for (let l = 2; l <= s; l++) this.shared.push(dense(`shared_${l}`, l));
    this.taskLayers = [];
    this.heads = [];
    for (let t = 1; t <= T; t++) {
      const layers: DenseLayer[] = [];
      for (let l = Math.max(s + 1, 2); l < sizes.length; l++) layers.push(dense(`task_${t}_${l}`, l));
      this.taskLayers.push(layers);
      this.heads.push(dense(`head_${t}`, sizes.length));
    }
    for (let l = s + 1; l <= cfg.hidden.length + 1; l++)
      this.omega.set(l, { cov: identity(T), inverse: identity(T) });
  }

  /** The network layers that carry the prior: s+1 .. L+1 (L+1: the heads). */
  get priorLayers(): number[] {
    return [...this.omega.keys()];
  }

  /** The current Omega of prior layer `layer`, `[T, T]` row-major (a copy). @throws RangeError for another layer. */
  taskCovariance(layer: number): Float64Array {
    const o = this.omega.get(layer);
    if (!o)
      throw new RangeError(`layer ${layer} carries no prior (prior layers: ${this.priorLayers.join(', ')})`);
    return o.cov.slice();
  }

  /** The tfjs kernels of the T tasks at prior layer `layer` (>= 2), in task order. */
  private kernelsAt(layer: number): tf.Variable[] {
    if (layer === this.cfg.hidden.length + 1) return this.heads.map((h) => h.kernel);
    const index = layer - Math.max(sharedCount(this.cfg) + 1, 2);
    return this.taskLayers.map((layers) => layers[index]!.kernel);
  }

  /** `W^T W [T, T]` of prior layer `layer`, from the current weights. */
  private gram(layer: number): Float64Array {
    if (layer === 1)
      return blockGram(this.first.weights, this.inputDim, this.tasks.length, this.cfg.hidden[0]!);
    return gramOf(this.kernelsAt(layer).map((k) => k.dataSync() as Float32Array));
  }

  /** Omega of `layer` in closed form from the current weights (../regularizers/matrix-normal.ts taskCovariance). */
  private closedForm(layer: number): Float64Array {
    return taskCovariance(this.gram(layer), this.tasks.length, this.cfg.covarianceRegularizer);
  }

  /** The closed-form update of every prior layer's Omega (unless `learn_covariance` is false). */
  override endEpoch(): void {
    if (!this.cfg.learnCovariance) return;
    for (const layer of this.priorLayers) {
      const cov = this.closedForm(layer);
      this.omega.set(layer, { cov, inverse: symmetricPseudoInverse(cov, this.tasks.length) });
    }
  }

  /** `prior_strength * sum over the tfjs prior layers of tr(W Omega^-1 W^T)`; null at strength 0. */
  override penalty(): tf.Scalar | null {
    if (this.cfg.priorStrength === 0) return null;
    let total: tf.Scalar | null = null;
    for (const layer of this.priorLayers) {
      if (layer === 1) continue; // the sparse layer's share: firstLayerRegularization
      const p = matrixNormalPenalty(
        this.kernelsAt(layer),
        this.omega.get(layer)!.inverse,
        this.cfg.priorStrength,
      );
      total = total ? (tf.add(total, p) as tf.Scalar) : p;
    }
    return total;
  }

  /**
   * L2 (`2 l2`) on every touched row; when the first layer is task-specific, plus the prior's
   * gradient on the row's task blocks, `2 prior_strength Omega^-1` mixing them.
   */
  override firstLayerRegularization(l2: number): FirstLayerRegularization {
    const o = this.omega.get(1);
    if (!o || this.cfg.priorStrength === 0) return { decay: 2 * l2 };
    return {
      decay: 2 * l2,
      blockMix: {
        blocks: this.tasks.length,
        matrix: Float32Array.from(o.inverse),
        strength: 2 * this.cfg.priorStrength,
      },
    };
  }

  encode(z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    if (sharedCount(this.cfg) === 0) return z1;
    const a = activateAndDrop(z1, this.cfg.activation, this.cfg.dropout, ctx);
    return applyHiddenStack(a, this.shared, this.cfg.activation, this.cfg.dropout, ctx);
  }

  /**
   * The task-specific part, computed on all tasks at once where they read the same input: the
   * tasks' activations are kept side by side, `[batch, T * units]` (task t at `[t units, (t+1)
   * units)`); the first task-specific layer over the shared representation is one matMul with the
   * tasks' kernels concatenated, deeper ones a matMul per task, the heads one multiply-and-sum.
   * (A loop over the tasks of small ops cost 4x the time of hard sharing with the same layers.)
   */
  decode(rep: tf.Tensor2D, _z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    const { activation, dropout } = this.cfg;
    const T = this.tasks.length;
    const concat = (parts: tf.Tensor[], axis: number) =>
      parts.length === 1 ? parts[0]! : tf.concat(parts, axis);
    const dense = (input: tf.Tensor2D, layers: readonly DenseLayer[]) =>
      tf.add(
        tf.matMul(
          input,
          concat(
            layers.map((l) => l.kernel),
            1,
          ) as tf.Tensor2D,
        ),
        concat(
          layers.map((l) => l.bias),
          0,
        ),
      ) as tf.Tensor2D;
    const perTask = this.taskLayers[0]!.length;
    let packed: tf.Tensor2D;
    let layer = 0;
    if (sharedCount(this.cfg) === 0) {
      packed = activateAndDrop(rep, activation, dropout, ctx);
    } else if (perTask > 0) {
      packed = activateAndDrop(
        dense(
          rep,
          this.taskLayers.map((l) => l[0]!),
        ),
        activation,
        dropout,
        ctx,
      );
      layer = 1;
    } else {
      return dense(rep, this.heads);
    }
    for (; layer < perTask; layer++) {
      const units = this.taskLayers[0]![layer]!.fanIn;
      const parts = this.taskLayers.map((l, t) =>
        applyDense(tf.slice(packed, [0, t * units], [-1, units]), l[layer]!),
      );
      packed = activateAndDrop(concat(parts, 1) as tf.Tensor2D, activation, dropout, ctx);
    }
    const units = this.heads[0]!.fanIn;
    const kernels = tf.reshape(
      concat(
        this.heads.map((h) => tf.reshape(h.kernel, [1, units])),
        0,
      ),
      [1, T, units],
    );
    const logits = tf.sum(tf.mul(tf.reshape(packed, [-1, T, units]), kernels), 2);
    return tf.add(
      logits,
      concat(
        this.heads.map((h) => h.bias),
        0,
      ),
    ) as tf.Tensor2D;
  }

  /** Omega (`task_covariance`) and its correlation (`task_correlation`) per prior layer. */
  override relations(): TaskRelation[] {
    const T = this.tasks.length;
    const out: TaskRelation[] = [];
    for (const layer of this.priorLayers) {
      const cov = this.cfg.learnCovariance ? this.closedForm(layer) : identity(T);
      const corr = correlation(cov, T);
      for (const [kind, m] of [
        ['task_covariance', cov],
        ['task_correlation', corr],
      ] as const) {
        for (let a = 0; a < T; a++)
          for (let b = 0; b < T; b++)
            out.push({ kind, layer, taskA: this.tasks[a]!, taskB: this.tasks[b]!, value: m[a * T + b]! });
      }
    }
    return out;
  }

  /**
   * Plain tfjs layers: `shared_l` Dense layers, per task its `task_t_l` Dense layers (from the
   * input, a column block of the first layer, when nothing is shared) and `head_t`, the heads
   * concatenated (`logits`) and a sigmoid (`probabilities`).
   */
  async exportLayers(): Promise<LayersExport> {
    this.assertLive();
    const { activation, hidden } = this.cfg;
    const s = sharedCount(this.cfg);
    const values = (layer: DenseLayer) => ({
      kernel: this.params.values(`${layer.name}/kernel`),
      bias: this.params.values(`${layer.name}/bias`),
    });
    const g = new LayersGraph(this.inputDim);
    let rep = g.input;
    if (s > 0) {
      rep = g.dense(g.input, {
        name: 'shared_1',
        kernel: this.first.weights.slice(),
        bias: this.first.bias.slice(),
        activation,
      });
      for (const layer of this.shared) rep = g.dense(rep, { name: layer.name, ...values(layer), activation });
    }
    const h1 = hidden[0]!;
    const logits = this.taskLayers.map((layers, t) => {
      let h =
        s > 0
          ? rep
          : g.dense(g.input, {
              name: `task_${t + 1}_1`,
              kernel: columnBlock(this.first.weights, this.firstWidth, t * h1, h1),
              bias: this.first.bias.slice(t * h1, (t + 1) * h1),
              activation,
            });
      for (const layer of layers) h = g.dense(h, { name: layer.name, ...values(layer), activation });
      const head = this.heads[t]!;
      return g.dense(h, { name: head.name, ...values(head) });
    });
    return g.export(g.activation('probabilities', g.concatenate('logits', logits), 'sigmoid'));
  }
}

/**
 * Seeded initial weights by name: Glorot-uniform kernels, zero biases; one draw per task-specific
 * hidden layer given to every task; one draw per head.
 */
function initialWeights(
  c: DeepRelationshipConfig,
  inputDim: number,
  tasks: number,
  seed: number,
): Map<string, Float32Array> {
  const random = new Random(seed);
  const sizes = [inputDim, ...c.hidden];
  const s = sharedCount(c);
  const out = new Map<string, Float32Array>();
  for (let l = 1; l <= s; l++) {
    out.set(`shared_${l}/kernel`, glorotUniform(sizes[l - 1]!, sizes[l]!, random));
    out.set(`shared_${l}/bias`, new Float32Array(sizes[l]!));
  }
  for (let l = s + 1; l < sizes.length; l++) {
    const kernel = glorotUniform(sizes[l - 1]!, sizes[l]!, random);
    for (let t = 1; t <= tasks; t++) {
      out.set(`task_${t}_${l}/kernel`, kernel.slice());
      out.set(`task_${t}_${l}/bias`, new Float32Array(sizes[l]!));
    }
  }
  const last = sizes[sizes.length - 1]!;
  for (let t = 1; t <= tasks; t++) {
    out.set(`head_${t}/kernel`, glorotUniform(last, 1, random));
    out.set(`head_${t}/bias`, new Float32Array(1));
  }
  return out;
}

/** The `deep_relationship` architecture (registered by name in ./index.ts). */
export const deepRelationship: Architecture = {
  name: 'deep_relationship',
  summary:
    'deep relationship networks: task-specific layers under a matrix-variate normal prior with a learned task covariance (Long & Wang, arXiv 1506.02117, 2015)',
  optionsSchema: OPTIONS_SCHEMA,
  resolveConfig: (config) => optionsOf(resolveConfig(config)),
  create(spec) {
    const c = resolveConfig(spec.config);
    return new DeepRelationshipNetwork(spec, initialWeights(c, spec.inputDim, spec.tasks.length, spec.seed));
  },
  fromWeights(spec, weights) {
    const c = resolveConfig(spec.config);
    const checked = checkedWeights(weights, weightShapes(c, spec.inputDim, spec.tasks.length));
    return new DeepRelationshipNetwork(spec, checked);
  },
  warmStart(source, target): WarmStartPlan {
    const from = resolveConfig(source.config);
    const to = resolveConfig(target.config);
    if (from.hidden.join(',') !== to.hidden.join(',') || from.taskSpecificLayers !== to.taskSpecificLayers) {
      return {
        ok: false,
        reason:
          `run ${source.runId} has hidden layers [${from.hidden.join(', ')}] with ${from.taskSpecificLayers} task-specific, ` +
          `this run [${to.hidden.join(', ')}] with ${to.taskSpecificLayers}`,
      };
    }
    const s = sharedCount(to);
    if (s === 0)
      return {
        ok: false,
        reason: `run ${source.runId} and this run have no shared layer to copy (every layer is task-specific)`,
      };
    const map = vocabularyMap(source.vocabulary, target.vocabulary);
    const refusal = coverageRefusal(map, source.runId);
    if (refusal) return refusal;
    const shapes = new Map(weightShapes(from, source.vocabulary.length, source.tasks.length));
    const read = (name: string) => sourceWeight(source.weights, name, shapes.get(name)!);
    const shared = Array.from({ length: s }, (_, i) => ({
      name: `shared_${i + 1}`,
      kernel: read(`shared_${i + 1}/kernel`),
      bias: read(`shared_${i + 1}/bias`),
    }));
    return {
      ok: true,
      sharedTerms: map.sharedTerms,
      coverage: map.coverage,
      copied: s === 1 ? 'the shared layer' : `the ${s} shared layers`,
      apply(network) {
        const w1 = network.first.weights.slice();
        copyRows(shared[0]!.kernel, w1, to.hidden[0]!, map);
        network.first.setWeights(w1, shared[0]!.bias);
        for (const layer of shared.slice(1)) {
          network.params.set(`${layer.name}/kernel`, layer.kernel);
          network.params.set(`${layer.name}/bias`, layer.bias);
        }
      },
    };
  },
};
