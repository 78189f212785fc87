import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import { type LayersExport, LayersGraph } from '../io/layers-graph.js';
import type { Activation } from '../layers/activations.js';
import { activateAndDrop, addDenseLayer, applyDense, type DenseLayer } from '../layers/dense-stack.js';
import type { ForwardContext } from '../layers/forward-context.js';
import { headWeightShapes, TaskHeads } from '../layers/heads.js';
import type { FirstLayerRegularization } from '../layers/sparse-dense.js';
import { glorotUniform, Random } from '../random.js';
import {
  type Architecture,
  type ArchitectureContext,
  type JsonSchema,
  Network,
  type NetworkSpec,
  type TaskRelation,
  type WarmStartPlan,
} from './architecture.js';
import { checkTrunkOptions, TRUNK_OPTION_SCHEMAS } from './hard-sharing.js';
import { copyRows, coverageRefusal, sourceWeight, vocabularyMap } from './transfer.js';

/**
 * Task supervision at a chosen depth of a shared trunk (Søgaard & Goldberg, "Deep multi-task
 * learning with low level tasks supervised at lower layers", ACL 2016): the tasks share a stack
 * of hidden layers, and each task's head reads the layer chosen for it (`task_layers`, e.g.
 * gender at layer 1 and the conditions at layer 2; by default the top layer), so a low-level or
 * auxiliary task shapes the lower layers only and the layers above it are free to serve the
 * others. Options from the joint many-task model (Hashimoto, Xiong, Tsuruoka & Socher, "A Joint
 * Many-Task Model: Growing a Neural Network for Multiple NLP Tasks", EMNLP 2017):
 * - `shortcut`: shortcut connections from the input: every higher layer reads, besides the layer
 *   below, the first layer's pre-activation `z1 = x W1 + b1` (`pre_activation`: the sparse
 *   first layer plays the part of JMT's word representation, fed to every layer; from layer 2 on)
 *   or its activation `h1` (`activation`: from layer 3 on, since layer 2 reads h1 anyway);
 * - `successive_regularization` (delta): the penalty `delta * |theta - theta'|^2` on the
 *   parameters of the layers below the top one (the sparse first layer's W through its lazy
 *   update's reference, on the rows a batch touches; the kernels and biases of the tfjs layers in
 *   full), theta' their values at the end of the previous epoch (JMT's theta'_e; for the first
 *   epoch, when training starts), so that the upper tasks' gradients cannot drag the lower layers
 *   far from what the lower tasks made of them in one epoch. The first layer's bias is not held.
 *
 *   x [batch, features] (sparse TF-IDF)
 *     -> shared_1: the sparse first layer, z1 = x W1 + b1, h1 = dropout(activation(z1))
 *     -> shared_k: h_k = dropout(activation([h_{k-1}, shortcut] W_k + b_k))   (k = 2 .. depth)
 *     -> heads_k: Dense(tasks reading layer k) over h_k, for every layer k a task reads
 *     -> [batch, tasks] logits in task order (layers/heads.ts)
 *
 * `depth` is the highest layer a task reads (layers of `hidden` above it would get no gradient and
 * are not built). A head at layer k gets no gradient from the layers above k, and its task's loss
 * reaches only layers 1..k. With every task at the top layer and no shortcut this is hard sharing
 * (./hard-sharing.ts): same initial weights from the same seed, same forward pass.
 *
 * The representation the tasks share (encode) is the concatenation of the outputs of the layers
 * that carry heads, `[batch, sum of their widths]` (just h_depth when every task reads the top).
 * Task relations: `task_layer` (task_a = the task, value = the layer its head reads). Warm start:
 * the shared layers of an earlier task_depth run with the same hidden sizes and shortcut; heads fresh.
 */

/** Shortcut connections from the input. */
export type Shortcut = 'none' | 'pre_activation' | 'activation';

const SHORTCUTS: readonly Shortcut[] = ['none', 'pre_activation', 'activation'];

/** Options of task_depth (snake_case, as a pipeline's `model` block writes them). */
export interface TaskDepthConfig {
  /** Sizes of the shared hidden layers; default [256, 128]. */
  hidden: number[];
  /** Activation of the shared layers; default 'relu'. */
  activation: Activation;
  /** Dropout rate after each shared layer during training, in [0, 1); default 0.3. */
  dropout: number;
  /**
   * The layer (1-based) each task's head reads; a task not named reads the top layer. Resolved with
   * the tasks known: every task of the model, defaults filled in.
   */
  task_layers: Record<string, number>;
  /** Shortcut connections from the input; default 'none'. */
  shortcut: Shortcut;
  /** delta of successive regularization (Hashimoto et al. 2017), >= 0; default 0 (off). */
  successive_regularization: number;
}

export const TASK_DEPTH_DEFAULTS: TaskDepthConfig = {
  hidden: [256, 128],
  activation: 'relu',
  dropout: 0.3,
  task_layers: {},
  shortcut: 'none',
  successive_regularization: 0,
};

const OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    hidden: { ...TRUNK_OPTION_SCHEMAS.hidden, default: TASK_DEPTH_DEFAULTS.hidden },
    activation: { ...TRUNK_OPTION_SCHEMAS.activation, default: TASK_DEPTH_DEFAULTS.activation },
    dropout: { ...TRUNK_OPTION_SCHEMAS.dropout, default: TASK_DEPTH_DEFAULTS.dropout },
    task_layers: {
      type: 'object',
      additionalProperties: { type: 'integer', minimum: 1 },
      default: TASK_DEPTH_DEFAULTS.task_layers,
      description:
        'the hidden layer (1-based) each task head reads, e.g. {"gender": 1, "depression": 2}; a task not named reads the top layer',
    },
    shortcut: {
      enum: [...SHORTCUTS],
      default: TASK_DEPTH_DEFAULTS.shortcut,
      description:
        "shortcut from the input to the higher layers: the first layer's pre_activation (from layer 2 on) or its activation (from layer 3 on), or none",
    },
    successive_regularization: {
      type: 'number',
      minimum: 0,
      default: TASK_DEPTH_DEFAULTS.successive_regularization,
      description:
        'delta of the penalty delta * |theta - theta_previous_epoch|^2 on the layers below the top (Hashimoto et al., EMNLP 2017); 0 = off',
    },
  },
};

/**
 * Fill the defaults and check the options; with `context`, check that `task_layers` names tasks
 * of the run and list every task of the model (a model trained on a subset keeps its own tasks).
 * @throws UsageError naming the option (`task_layers.<task>` for a bad entry).
 */
function resolveConfig(config: Record<string, unknown>, context?: ArchitectureContext): TaskDepthConfig {
  const known = Object.keys(OPTIONS_SCHEMA.properties as object);
  for (const key of Object.keys(config))
    if (!known.includes(key))
      throw new UsageError(`task_depth has no option '${key}' (options: ${known.join(', ')})`);
  const c = { ...TASK_DEPTH_DEFAULTS, ...config } as TaskDepthConfig;
  checkTrunkOptions(c);
  const layers = c.hidden.length;
  if (!SHORTCUTS.includes(c.shortcut))
    throw new UsageError(
      `shortcut must be one of ${SHORTCUTS.join(', ')}, got ${JSON.stringify(c.shortcut)}`,
    );
  const delta = c.successive_regularization;
  if (typeof delta !== 'number' || !Number.isFinite(delta) || delta < 0)
    throw new UsageError(`successive_regularization must be a number >= 0, got ${JSON.stringify(delta)}`);
  if (delta > 0 && layers < 2)
    throw new UsageError(
      'successive_regularization holds the layers below the top one: hidden has only 1 layer',
    );
  const given = c.task_layers as unknown;
  if (typeof given !== 'object' || given === null || Array.isArray(given))
    throw new UsageError(
      `task_layers must be an object of task: layer, e.g. {"gender": 1}, got ${JSON.stringify(given)}`,
    );
  const entries = Object.entries(given as Record<string, unknown>);
  for (const [task, layer] of entries) {
    if (!Number.isInteger(layer) || (layer as number) < 1 || (layer as number) > layers)
      throw new UsageError(
        `task_layers.${task}: layer ${JSON.stringify(layer)} does not exist (hidden has ${layers} layer${layers === 1 ? '' : 's'}: 1 to ${layers})`,
      );
  }
  let taskLayers = Object.fromEntries(entries) as Record<string, number>;
  if (context) {
    const trained = context.runTasks ?? context.tasks;
    for (const [task] of entries)
      if (!trained.includes(task))
        throw new UsageError(
          `task_layers.${task}: no task '${task}' is trained (tasks: ${trained.join(', ')})`,
        );
    taskLayers = Object.fromEntries(context.tasks.map((t) => [t, taskLayers[t] ?? layers]));
  }
  return {
    hidden: [...c.hidden],
    activation: c.activation,
    dropout: c.dropout,
    task_layers: taskLayers,
    shortcut: c.shortcut,
    successive_regularization: delta,
  };
}

/** The layer each task reads, in task order. */
function layersOf(cfg: TaskDepthConfig, tasks: readonly string[]): number[] {
  return tasks.map((t) => cfg.task_layers[t] ?? cfg.hidden.length);
}

/** The shape of the trunk of a configuration and its tasks. */
interface Trunk {
  /** The layers built: the highest layer a task reads. */
  depth: number;
  /** Width of the shortcut layer k reads besides layer k-1 (0: none). */
  shortcutWidth(k: number): number;
  /** Input width of layer k >= 2. */
  fanIn(k: number): number;
}

function trunkOf(cfg: TaskDepthConfig, tasks: readonly string[]): Trunk {
  const h = cfg.hidden;
  const shortcutWidth = (k: number): number =>
    (cfg.shortcut === 'pre_activation' && k >= 2) || (cfg.shortcut === 'activation' && k >= 3) ? h[0]! : 0;
  return {
    depth: Math.max(...layersOf(cfg, tasks)),
    shortcutWidth,
    fanIn: (k) => h[k - 2]! + shortcutWidth(k),
  };
}

/** Initial weights: Glorot-uniform from the seed (in registration order), or an export's weights by name. */
type Init = { random: Random } | { weights: ReadonlyMap<string, Float32Array> };

function initKernel(init: Init, name: string, fanIn: number, units: number): Float32Array {
  return 'random' in init
    ? glorotUniform(fanIn, units, init.random)
    : sourceWeight(init.weights, `${name}/kernel`, fanIn * units);
}

function initBias(init: Init, name: string, units: number): Float32Array {
  return 'random' in init ? new Float32Array(units) : sourceWeight(init.weights, `${name}/bias`, units);
}

class TaskDepthNetwork extends Network {
  readonly architecture = 'task_depth';
  private readonly cfg: TaskDepthConfig;
  private readonly trunk: Trunk;
  /** Shared layers 2 .. depth (the first is the sparse layer). */
  private readonly shared: DenseLayer[];
  private readonly heads: TaskHeads;
  private readonly layerOf: number[];
  /** Successive regularization's reference (theta'), taken when training starts and after every epoch. */
  private reference: { first: Float32Array; lower: Float32Array[] } | null = null;

  constructor(spec: NetworkSpec, init: Init) {
    const cfg = resolveConfig(spec.config, { tasks: spec.tasks, auxTasks: spec.auxTasks });
    const trunk = trunkOf(cfg, spec.tasks);
    const h1 = cfg.hidden[0]!;
    super(
      { ...spec, config: { ...cfg } },
      initKernel(init, 'shared_1', spec.inputDim, h1),
      initBias(init, 'shared_1', h1),
    );
    this.cfg = cfg;
    this.layerOf = layersOf(cfg, spec.tasks);
    this.trunk = trunk;
    this.shared = [];
    for (let k = 2; k <= this.trunk.depth; k++) {
      const name = `shared_${k}`;
      const fanIn = this.trunk.fanIn(k);
      const units = cfg.hidden[k - 1]!;
      this.shared.push(
        addDenseLayer(this.params, name, fanIn, units, {
          kernel: initKernel(init, name, fanIn, units),
          bias: initBias(init, name, units),
        }),
      );
    }
    this.heads = new TaskHeads(
      this.params,
      this.layerOf,
      (layer) => cfg.hidden[layer - 1]!,
      'random' in init
        ? { random: init.random }
        : { weight: (name, n) => sourceWeight(init.weights, name, n) },
    );
  }

  /** The layer each task's head reads, in task order. */
  get taskLayers(): readonly number[] {
    return this.layerOf;
  }

  /** The trunk's outputs h_1 .. h_depth. */
  private trunkOutputs(z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D[] {
    const { activation, dropout, shortcut } = this.cfg;
    const h1 = activateAndDrop(z1, activation, dropout, ctx);
    const source = shortcut === 'pre_activation' ? z1 : h1;
    const outs = [h1];
    let h = h1;
    for (const [i, layer] of this.shared.entries()) {
      const k = i + 2;
      const input = this.trunk.shortcutWidth(k) > 0 ? (tf.concat([h, source], 1) as tf.Tensor2D) : h;
      h = activateAndDrop(applyDense(input, layer), activation, dropout, ctx);
      outs.push(h);
    }
    return outs;
  }

  /** `[batch, sum of the widths of the layers with heads]`: their outputs side by side, ascending. */
  encode(z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    const outs = this.trunkOutputs(z1, ctx);
    const reps = this.heads.layers.map((l) => outs[l - 1]!);
    return reps.length === 1 ? reps[0]! : (tf.concat(reps, 1) as tf.Tensor2D);
  }

  decode(rep: tf.Tensor2D): tf.Tensor2D {
    const layers = this.heads.layers;
    if (layers.length === 1) return this.heads.apply([rep]);
    let offset = 0;
    const blocks = layers.map((l) => {
      const width = this.cfg.hidden[l - 1]!;
      const block = tf.slice(rep, [0, offset], [rep.shape[0], width]) as tf.Tensor2D;
      offset += width;
      return block;
    });
    return this.heads.apply(blocks);
  }

  /** The tfjs layers below the top one (successive regularization's scope besides the first layer). */
  private get lowerLayers(): DenseLayer[] {
    return this.shared.slice(0, Math.max(0, this.trunk.depth - 2));
  }

  /**
   * Take successive regularization's reference theta' = the current values of the layers below the
   * top one (the trainer calls it through {@link endEpoch}; the first step takes it when absent).
   */
  takeReference(): void {
    this.assertLive();
    this.reference = {
      first: this.first.weights.slice(),
      lower: this.lowerLayers.flatMap((l) => [
        (l.kernel.dataSync() as Float32Array).slice(),
        (l.bias.dataSync() as Float32Array).slice(),
      ]),
    };
  }

  private get delta(): number {
    return this.trunk.depth >= 2 ? this.cfg.successive_regularization : 0;
  }

  /** `delta * sum |theta - theta'|^2` over the tfjs layers below the top, or null. Inside a tape. */
  override penalty(): tf.Scalar | null {
    if (this.delta === 0) return null;
    if (!this.reference) this.takeReference();
    const variables = this.lowerLayers.flatMap((l) => [l.kernel, l.bias]);
    if (variables.length === 0) return null;
    const ref = this.reference!.lower;
    let sum: tf.Tensor = tf.scalar(0);
    for (const [i, v] of variables.entries())
      sum = tf.add(sum, tf.sum(tf.square(tf.sub(v, tf.tensor(ref[i]!, v.shape)))));
    return tf.mul(this.delta, sum) as tf.Scalar;
  }

  /** L2 toward zero, plus successive regularization toward theta' (gradient 2 delta (w - w')) when on. */
  override firstLayerRegularization(l2: number): FirstLayerRegularization {
    if (this.delta === 0) return { decay: 2 * l2 };
    if (!this.reference) this.takeReference();
    return { decay: 2 * l2, reference: { weights: this.reference!.first, strength: 2 * this.delta } };
  }

  override endEpoch(): void {
    if (this.delta > 0) this.takeReference();
  }

  override relations(): TaskRelation[] {
    return this.tasks.map((t, i) => ({
      kind: 'task_layer',
      layer: null,
      taskA: t,
      taskB: null,
      value: this.layerOf[i]!,
    }));
  }

  async exportLayers(): Promise<LayersExport> {
    this.assertLive();
    const { activation, shortcut } = this.cfg;
    const g = new LayersGraph(this.inputDim);
    const first = { kernel: this.first.weights.slice(), bias: this.first.bias.slice() };
    let z1: tf.SymbolicTensor | null = null;
    let h: tf.SymbolicTensor;
    if (shortcut === 'pre_activation') {
      z1 = g.dense(g.input, { name: 'shared_1', ...first });
      h = g.activation('shared_1_activation', z1, activation);
    } else {
      h = g.dense(g.input, { name: 'shared_1', ...first, activation });
    }
    const source = z1 ?? h;
    const outs = [h];
    for (const [i, layer] of this.shared.entries()) {
      const k = i + 2;
      const input = this.trunk.shortcutWidth(k) > 0 ? g.concatenate(`shared_${k}_input`, [h, source]) : h;
      h = g.dense(input, {
        name: layer.name,
        kernel: this.params.values(`${layer.name}/kernel`),
        bias: this.params.values(`${layer.name}/bias`),
        activation,
      });
      outs.push(h);
    }
    return g.export(
      this.heads.exportTo(
        g,
        this.heads.layers.map((l) => outs[l - 1]!),
      ),
    );
  }

  override dispose(): void {
    this.reference = null;
    super.dispose();
  }
}

/** Names and sizes of a task_depth network's weights (export names), shared layers then heads. */
function weightShapes(cfg: TaskDepthConfig, inputDim: number, tasks: readonly string[]): [string, number][] {
  const trunk = trunkOf(cfg, tasks);
  const h = cfg.hidden;
  const out: [string, number][] = [
    ['shared_1/kernel', inputDim * h[0]!],
    ['shared_1/bias', h[0]!],
  ];
  for (let k = 2; k <= trunk.depth; k++)
    out.push([`shared_${k}/kernel`, trunk.fanIn(k) * h[k - 1]!], [`shared_${k}/bias`, h[k - 1]!]);
  return [...out, ...headWeightShapes(layersOf(cfg, tasks), (l) => h[l - 1]!)];
}

/** The `task_depth` architecture (registered by name in ./index.ts). */
export const taskDepth: Architecture = {
  name: 'task_depth',
  summary:
    'each task head at a chosen shared layer (Søgaard & Goldberg, ACL 2016), with shortcuts from the input and successive regularization (Hashimoto et al., EMNLP 2017)',
  optionsSchema: OPTIONS_SCHEMA,
  resolveConfig: (config, context) => ({ ...resolveConfig(config, context) }),
  create(spec) {
    return new TaskDepthNetwork(spec, { random: new Random(spec.seed) });
  },
  fromWeights(spec, weights) {
    const cfg = resolveConfig(spec.config, { tasks: spec.tasks, auxTasks: spec.auxTasks });
    for (const [name, n] of weightShapes(cfg, spec.inputDim, spec.tasks)) sourceWeight(weights, name, n);
    return new TaskDepthNetwork(spec, { weights });
  },
  warmStart(source, target): WarmStartPlan {
    const from = resolveConfig(source.config);
    const to = resolveConfig(target.config);
    if (from.hidden.join(',') !== to.hidden.join(','))
      return {
        ok: false,
        reason: `run ${source.runId} has hidden layers [${from.hidden.join(', ')}], this run [${to.hidden.join(', ')}]`,
      };
    if (from.shortcut !== to.shortcut)
      return {
        ok: false,
        reason: `run ${source.runId} has shortcut ${from.shortcut}, this run ${to.shortcut} (the layers' inputs differ)`,
      };
    const map = vocabularyMap(source.vocabulary, target.vocabulary);
    const refusal = coverageRefusal(map, source.runId);
    if (refusal) return refusal;
    const depth = Math.min(trunkOf(from, source.tasks).depth, trunkOf(to, target.tasks).depth);
    const shapes = weightShapes(from, source.vocabulary.length, source.tasks).slice(0, 2 * depth);
    const shared = shapes.map(([name, n]) => sourceWeight(source.weights, name, n));
    const h1 = to.hidden[0]!;
    return {
      ok: true,
      sharedTerms: map.sharedTerms,
      coverage: map.coverage,
      copied: depth === 1 ? 'shared layer 1' : `shared layers 1 to ${depth}`,
      apply(network) {
        const w1 = network.first.weights.slice();
        copyRows(shared[0]!, w1, h1, map);
        network.first.setWeights(w1, shared[1]!);
        for (let k = 2; k <= depth; k++) {
          network.params.set(`shared_${k}/kernel`, shared[2 * k - 2]!);
          network.params.set(`shared_${k}/bias`, shared[2 * k - 1]!);
        }
      },
    };
  },
};
