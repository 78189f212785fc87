import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import type { CsrMatrix } from '../../features/csr.js';
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
import { glorotWeights } from '../random.js';
import {
  type Architecture,
  type JsonSchema,
  Network,
  type NetworkSpec,
  sliceRows,
  type TaskRelation,
  type WarmStartPlan,
} from './architecture.js';
import { checkTrunkOptions, TRUNK_OPTION_SCHEMAS } from './hard-sharing.js';
import { checkedWeights, copyRows, coverageRefusal, sourceWeight, vocabularyMap } from './transfer.js';

/**
 * Multi-gate Mixture-of-Experts, MMoE (Ma, Zhao, Yi, Chen, Hong & Chi, "Modeling Task Relationships
 * in Multi-task Learning with Multi-gate Mixture-of-Experts", KDD 2018; as LibMTL's `MMoE`): E
 * experts (small networks) read the input; each task t has its own gate, a softmax over the
 * experts computed from the input, and its tower and head read the gate-weighted sum of the
 * experts' outputs:
 *
 *   x [batch, features] (sparse TF-IDF)
 *     expert k:  e_k = f_k(x)                      [batch, H]  (hidden layers, activation, dropout)
 *     gate t:    g_t = softmax(x Wg_t + bg_t)      [batch, E]  (one linear layer over the input)
 *     task t:    m_t = sum_k g_tk e_k              [batch, H]
 *                logit_t = head_t(tower_t(m_t))               (tower: optional hidden layers)
 *
 * Packing (the sparse input stays sparse): the experts' first layers and the gates (which read the
 * input) are column blocks of the one sparse first layer, `[features, E * hidden[0] + T * E]`:
 * expert k at columns `[k H1, (k+1) H1)`, then task t's gate logits at `E H1 + t E + [0, E)`.
 * A step costs O(nnz x (E H1 + T E)). The representation the tasks share (for representation-level
 * task weighting) is the experts' output, `[batch, E * H]` (expert k at columns `[k H, (k+1) H)`).
 *
 * With one expert every gate is exactly 1 and MMoE is hard parameter sharing (the expert is the
 * shared trunk, towers and heads the task-specific part).
 *
 * Relations (over the units given to {@link MmoeNetwork.relations}, the training units):
 * - `gate_mean`: task_a = the task, task_b = null, **layer = the expert's number (1-based)**,
 *   value = the mean over units of the task's gate weight on that expert (each task's values sum
 *   to 1 over the experts);
 * - `gate_similarity`: layer null, every ordered pair of tasks (diagonal included, = 1), value =
 *   the mean over units of the Bhattacharyya coefficient sum_k sqrt(g_ak g_bk) of the two tasks'
 *   gate distributions (1: the two tasks read the experts in the same proportions; 0: disjoint).
 *
 * Warm start: from an earlier MMoE run with the same experts and expert layers: the experts (their
 * first-layer rows by term, then their further layers) and the gates of the tasks trained in both
 * runs (by name); towers and heads start fresh.
 */

/** Options of MMoE. */
export interface MmoeConfig {
  /** Number of experts, >= 1; default 4. */
  experts: number;
  /** Sizes of each expert's hidden layers; default [64]. */
  hidden: number[];
  /** Sizes of each task's tower hidden layers between its mixture and its head; default [] (none). */
  tower: number[];
  /** Activation of the expert and tower layers; default 'relu'. */
  activation: Activation;
  /** Dropout after each expert and tower layer while training, in [0, 1); default 0.3. */
  dropout: number;
}

export const MMOE_DEFAULTS: MmoeConfig = {
  experts: 4,
  hidden: [64],
  tower: [],
  activation: 'relu',
  dropout: 0.3,
};

/** The largest number of experts accepted (a guard against a typo that would build a huge layer). */
export const MAX_EXPERTS = 64;

const OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    experts: {
      type: 'integer',
      minimum: 1,
      maximum: MAX_EXPERTS,
      description: 'number of experts shared by the tasks (each task has a softmax gate over them)',
      default: MMOE_DEFAULTS.experts,
    },
    hidden: {
      ...TRUNK_OPTION_SCHEMAS.hidden,
      description: "sizes of each expert's hidden layers, e.g. [64]",
      default: MMOE_DEFAULTS.hidden,
    },
    tower: {
      type: 'array',
      items: { type: 'integer', minimum: 1 },
      description: "sizes of each task's tower layers between its mixture of experts and its head ([]: none)",
      default: MMOE_DEFAULTS.tower,
    },
    activation: { ...TRUNK_OPTION_SCHEMAS.activation, default: MMOE_DEFAULTS.activation },
    dropout: { ...TRUNK_OPTION_SCHEMAS.dropout, default: MMOE_DEFAULTS.dropout },
  },
};

/** Fill defaults and check. @throws UsageError naming the option. */
function resolveConfig(config: Record<string, unknown>): MmoeConfig {
  const known = Object.keys(OPTIONS_SCHEMA.properties as object);
  for (const key of Object.keys(config))
    if (!known.includes(key))
      throw new UsageError(`mmoe has no option '${key}' (options: ${known.join(', ')})`);
  const c = { ...MMOE_DEFAULTS, ...config } as MmoeConfig;
  if (!Number.isInteger(c.experts) || c.experts < 1 || c.experts > MAX_EXPERTS)
    throw new UsageError(
      `experts must be an integer from 1 to ${MAX_EXPERTS}, got ${JSON.stringify(c.experts)}`,
    );
  checkTrunkOptions(c);
  if (!Array.isArray(c.tower) || !c.tower.every((h) => Number.isInteger(h) && h > 0))
    throw new UsageError(`tower must be a list of positive integers, got ${JSON.stringify(c.tower)}`);
  return {
    experts: c.experts,
    hidden: [...c.hidden],
    tower: [...c.tower],
    activation: c.activation,
    dropout: c.dropout,
  };
}

/** Names and sizes of an MMoE network's exported weights, in export order. */
function weightShapes(cfg: MmoeConfig, inputDim: number, tasks: number): [string, number][] {
  const out: [string, number][] = [];
  const dense = (name: string, fanIn: number, units: number) =>
    out.push([`${name}/kernel`, fanIn * units], [`${name}/bias`, units]);
  const sizes = [inputDim, ...cfg.hidden];
  for (let k = 1; k <= cfg.experts; k++)
    for (let l = 1; l < sizes.length; l++) dense(`expert_${k}_${l}`, sizes[l - 1]!, sizes[l]!);
  const towerSizes = [cfg.hidden[cfg.hidden.length - 1]!, ...cfg.tower];
  for (let t = 1; t <= tasks; t++) {
    dense(`gate_${t}`, inputDim, cfg.experts);
    for (let j = 1; j < towerSizes.length; j++) dense(`tower_${t}_${j}`, towerSizes[j - 1]!, towerSizes[j]!);
    dense(`head_${t}`, towerSizes[towerSizes.length - 1]!, 1);
  }
  return out;
}

/**
 * The 0/1 matrices of the exported mixture: `spread [E, E*H]` copies gate weight k onto expert k's
 * H units; `sum [E*H, H]` adds unit u of every expert into unit u.
 */
function mixtureMatrices(E: number, H: number): { spread: Float32Array; sum: Float32Array } {
  const spread = new Float32Array(E * E * H);
  const sum = new Float32Array(E * H * H);
  for (let k = 0; k < E; k++) {
    for (let u = 0; u < H; u++) {
      spread[k * E * H + k * H + u] = 1;
      sum[(k * H + u) * H + u] = 1;
    }
  }
  return { spread, sum };
}

/** The MMoE network (see the file's docstring). */
export class MmoeNetwork extends Network {
  readonly architecture = 'mmoe';
  private readonly cfg: MmoeConfig;
  /** Per expert, its layers 2.. (the first is in the sparse layer). */
  private readonly expertLayers: DenseLayer[][];
  /** Per task, its tower layers then its head. */
  private readonly towers: DenseLayer[][];
  private readonly heads: DenseLayer[];

  /** @param weights every weight of {@link weightShapes} by name. */
  constructor(spec: NetworkSpec, weights: ReadonlyMap<string, Float32Array>) {
    const cfg = resolveConfig(spec.config);
    const T = spec.tasks.length;
    const E = cfg.experts;
    const blocks: string[] = [];
    for (let k = 1; k <= E; k++) blocks.push(`expert_${k}_1`);
    for (let t = 1; t <= T; t++) blocks.push(`gate_${t}`);
    const get = (name: string) => weights.get(name)!;
    const first = packColumns(
      blocks.map((b) => get(`${b}/kernel`)),
      spec.inputDim,
    );
    const bias = new Float32Array(blocks.flatMap((b) => [...get(`${b}/bias`)]));
    super({ ...spec, config: { ...cfg } }, first, bias);
    this.cfg = cfg;
    const sizes = cfg.hidden;
    const dense = (name: string, fanIn: number, units: number) =>
      addDenseLayer(this.params, name, fanIn, units, {
        kernel: get(`${name}/kernel`),
        bias: get(`${name}/bias`),
      });
    this.expertLayers = [];
    for (let k = 1; k <= E; k++) {
      const layers: DenseLayer[] = [];
      for (let l = 2; l <= sizes.length; l++)
        layers.push(dense(`expert_${k}_${l}`, sizes[l - 2]!, sizes[l - 1]!));
      this.expertLayers.push(layers);
    }
    const towerSizes = [sizes[sizes.length - 1]!, ...cfg.tower];
    this.towers = [];
    this.heads = [];
    for (let t = 1; t <= T; t++) {
      const layers: DenseLayer[] = [];
      for (let j = 1; j < towerSizes.length; j++)
        layers.push(dense(`tower_${t}_${j}`, towerSizes[j - 1]!, towerSizes[j]!));
      this.towers.push(layers);
      this.heads.push(dense(`head_${t}`, towerSizes[towerSizes.length - 1]!, 1));
    }
  }

  /** Width of one expert's output. */
  private get expertWidth(): number {
    return this.cfg.hidden[this.cfg.hidden.length - 1]!;
  }

  /** First column of the gate logits in the packed first layer. */
  private get gateOffset(): number {
    return this.cfg.experts * this.cfg.hidden[0]!;
  }

  /** The experts' outputs side by side, `[batch, E * H]` (expert k at columns `[k H, (k+1) H)`). */
  encode(z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    const h1 = this.cfg.hidden[0]!;
    const outputs = this.expertLayers.map((layers, k) => {
      const a = activateAndDrop(
        tf.slice(z1, [0, k * h1], [-1, h1]),
        this.cfg.activation,
        this.cfg.dropout,
        ctx,
      );
      return applyHiddenStack(a, layers, this.cfg.activation, this.cfg.dropout, ctx);
    });
    return outputs.length === 1 ? outputs[0]! : tf.concat(outputs, 1);
  }

  /** Every task's gate, `[batch, T, E]` (softmax over the experts). Inside tf.tidy. */
  gates(z1: tf.Tensor2D): tf.Tensor3D {
    const T = this.tasks.length;
    const E = this.cfg.experts;
    const logits = tf.slice(z1, [0, this.gateOffset], [-1, T * E]);
    return tf.softmax(tf.reshape(logits, [-1, T, E])) as tf.Tensor3D;
  }

  decode(rep: tf.Tensor2D, z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    const T = this.tasks.length;
    const H = this.expertWidth;
    const experts = tf.reshape(rep, [-1, this.cfg.experts, H]) as tf.Tensor3D;
    // [batch, T, E] x [batch, E, H] -> [batch, T, H]: row t is task t's mixture of experts
    // (measured faster on wasm than the broadcast product summed over E)
    const mixed = tf.matMul(this.gates(z1), experts);
    if (this.cfg.tower.length === 0) {
      // no towers: every head at once, logit_t = <mixed_t, head_t> + b_t
      const kernels = tf.concat(
        this.heads.map((h) => tf.reshape(h.kernel, [1, H])),
        0,
      );
      const biases = tf.concat(
        this.heads.map((h) => h.bias),
        0,
      );
      return tf.add(tf.sum(tf.mul(mixed, tf.reshape(kernels, [1, T, H])), 2), biases) as tf.Tensor2D;
    }
    const logits = this.towers.map((tower, t) => {
      const m = tf.reshape(tf.slice(mixed, [0, t, 0], [-1, 1, -1]), [-1, H]) as tf.Tensor2D;
      const h = applyHiddenStack(m, tower, this.cfg.activation, this.cfg.dropout, ctx);
      return applyDense(h, this.heads[t]!);
    });
    return T === 1 ? logits[0]! : tf.concat(logits, 1);
  }

  /**
   * The gate weights of every unit of `x`: `[units x T x E]` row-major (unit, task, expert); each
   * (unit, task) row sums to 1.
   */
  gateWeights(x: CsrMatrix): Float32Array {
    this.assertLive();
    const T = this.tasks.length;
    const E = this.cfg.experts;
    const out = new Float32Array(x.rows * T * E);
    const chunk = 1024;
    for (let start = 0; start < x.rows; start += chunk) {
      const end = Math.min(x.rows, start + chunk);
      const z1 = this.first.forward(sliceRows(x, start, end));
      const g = tf.tidy(() => this.gates(tf.tensor2d(z1, [end - start, this.firstWidth])));
      out.set(g.dataSync() as Float32Array, start * T * E);
      g.dispose();
    }
    return out;
  }

  /** `gate_mean` and `gate_similarity` over the units of `x` (see the file's docstring); [] without `x`. */
  override relations(x?: CsrMatrix): TaskRelation[] {
    if (!x || x.rows === 0) return [];
    const T = this.tasks.length;
    const E = this.cfg.experts;
    const g = this.gateWeights(x);
    const n = x.rows;
    const out: TaskRelation[] = [];
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < E; k++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += g[(i * T + t) * E + k]!;
        out.push({ kind: 'gate_mean', layer: k + 1, taskA: this.tasks[t]!, taskB: null, value: s / n });
      }
    }
    for (let a = 0; a < T; a++) {
      for (let b = 0; b < T; b++) {
        let s = 0;
        for (let i = 0; i < n; i++) {
          for (let k = 0; k < E; k++) s += Math.sqrt(g[(i * T + a) * E + k]! * g[(i * T + b) * E + k]!);
        }
        out.push({
          kind: 'gate_similarity',
          layer: null,
          taskA: this.tasks[a]!,
          taskB: this.tasks[b]!,
          value: s / n,
        });
      }
    }
    return out;
  }

  /**
   * Plain tfjs layers: per expert a Dense chain from the input (`expert_k_l`), concatenated
   * (`experts`); per task a softmax Dense gate from the input (`gate_t`), spread over its experts'
   * units by a 0/1 Dense (`gate_t_spread`), multiplied with the experts (`weighted_t`), summed per
   * unit over the experts by a 0/1 Dense (`mixture_t`), then the tower (`tower_t_j`) and the head
   * (`head_t`); the heads concatenated (`logits`) and a sigmoid (`probabilities`).
   */
  async exportLayers(): Promise<LayersExport> {
    this.assertLive();
    const { experts: E, hidden, activation } = this.cfg;
    const H = this.expertWidth;
    const h1 = hidden[0]!;
    const W = this.first.weights;
    const b = this.first.bias;
    const width = this.firstWidth;
    const values = (layer: DenseLayer) => ({
      kernel: this.params.values(`${layer.name}/kernel`),
      bias: this.params.values(`${layer.name}/bias`),
    });
    const g = new LayersGraph(this.inputDim);
    const expertOutputs = this.expertLayers.map((layers, k) => {
      let h = g.dense(g.input, {
        name: `expert_${k + 1}_1`,
        kernel: columnBlock(W, width, k * h1, h1),
        bias: b.slice(k * h1, (k + 1) * h1),
        activation,
      });
      for (const layer of layers) h = g.dense(h, { name: layer.name, ...values(layer), activation });
      return h;
    });
    const experts = g.concatenate('experts', expertOutputs);
    const { spread, sum } = mixtureMatrices(E, H);
    const logits = this.towers.map((tower, t) => {
      const from = this.gateOffset + t * E;
      const gate = g.dense(g.input, {
        name: `gate_${t + 1}`,
        kernel: columnBlock(W, width, from, E),
        bias: b.slice(from, from + E),
        activation: 'softmax',
      });
      const spreadGate = g.dense(gate, { name: `gate_${t + 1}_spread`, kernel: spread, bias: null });
      const weighted = g.multiply(`weighted_${t + 1}`, [spreadGate, experts]);
      let h = g.dense(weighted, { name: `mixture_${t + 1}`, kernel: sum, bias: null });
      for (const layer of tower) h = g.dense(h, { name: layer.name, ...values(layer), activation });
      const head = this.heads[t]!;
      return g.dense(h, { name: head.name, ...values(head) });
    });
    return g.export(g.activation('probabilities', g.concatenate('logits', logits), 'sigmoid'));
  }
}

/** Seeded initial weights by name: Glorot-uniform kernels, zero biases (as hard sharing). */
function initialWeights(
  cfg: MmoeConfig,
  inputDim: number,
  tasks: number,
  seed: number,
): Map<string, Float32Array> {
  return glorotWeights(weightShapes(cfg, inputDim, tasks), seed);
}

/** The `mmoe` architecture (registered by name in ./index.ts). */
export const mmoe: Architecture = {
  name: 'mmoe',
  summary:
    'multi-gate mixture of experts: experts shared by the tasks, one softmax gate per task (Ma et al., KDD 2018)',
  optionsSchema: OPTIONS_SCHEMA,
  resolveConfig: (config) => ({ ...resolveConfig(config) }),
  create(spec) {
    const cfg = resolveConfig(spec.config);
    return new MmoeNetwork(spec, initialWeights(cfg, spec.inputDim, spec.tasks.length, spec.seed));
  },
  fromWeights(spec, weights) {
    const cfg = resolveConfig(spec.config);
    const checked = checkedWeights(weights, weightShapes(cfg, spec.inputDim, spec.tasks.length));
    return new MmoeNetwork(spec, checked);
  },
  warmStart(source, target): WarmStartPlan {
    const from = resolveConfig(source.config);
    const to = resolveConfig(target.config);
    if (from.experts !== to.experts || from.hidden.join(',') !== to.hidden.join(',')) {
      return {
        ok: false,
        reason: `run ${source.runId} has ${from.experts} experts of [${from.hidden.join(', ')}], this run ${to.experts} of [${to.hidden.join(', ')}]`,
      };
    }
    const map = vocabularyMap(source.vocabulary, target.vocabulary);
    const refusal = coverageRefusal(map, source.runId);
    if (refusal) return refusal;
    const V = source.vocabulary.length;
    const E = to.experts;
    const h1 = to.hidden[0]!;
    const sourceShapes = new Map(weightShapes(from, V, source.tasks.length));
    const read = (name: string) => sourceWeight(source.weights, name, sourceShapes.get(name)!);
    // first-layer blocks: [expert or gate block name in the source, column offset in the target, width]
    const blocks: [string, number, number][] = [];
    for (let k = 1; k <= E; k++) blocks.push([`expert_${k}_1`, (k - 1) * h1, h1]);
    const sharedTasks = target.tasks.filter((t) => source.tasks.includes(t));
    for (const task of sharedTasks)
      blocks.push([`gate_${source.tasks.indexOf(task) + 1}`, E * h1 + target.tasks.indexOf(task) * E, E]);
    const sourceBlocks = blocks.map(([name]) => ({
      kernel: read(`${name}/kernel`),
      bias: read(`${name}/bias`),
    }));
    const deeper: string[] = [];
    for (let k = 1; k <= E; k++) for (let l = 2; l <= to.hidden.length; l++) deeper.push(`expert_${k}_${l}`);
    const deeperWeights = deeper.map((name) => ({
      name,
      kernel: read(`${name}/kernel`),
      bias: read(`${name}/bias`),
    }));
    return {
      ok: true,
      sharedTerms: map.sharedTerms,
      coverage: map.coverage,
      copied: `the ${E} experts and the gates of ${sharedTasks.length} task(s) trained in both runs`,
      apply(network) {
        const width = network.firstWidth;
        const W = network.first.weights.slice();
        const bias = network.first.bias.slice();
        blocks.forEach(([, offset, w], i) => {
          const block = columnBlock(W, width, offset, w);
          copyRows(sourceBlocks[i]!.kernel, block, w, map);
          for (let r = 0; r < target.vocabulary.length; r++)
            W.set(block.subarray(r * w, (r + 1) * w), r * width + offset);
          bias.set(sourceBlocks[i]!.bias, offset);
        });
        network.first.setWeights(W, bias);
        for (const d of deeperWeights) {
          network.params.set(`${d.name}/kernel`, d.kernel);
          network.params.set(`${d.name}/bias`, d.bias);
        }
      },
    };
  },
};
