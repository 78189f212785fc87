import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import { LayersGraph, type LayersExport } from '../io/layers-graph.js';
import {
  activateAndDrop,
  addDenseLayer,
  applyDense,
  columnBlock,
  type DenseLayer,
  packColumns,
} from '../layers/dense-stack.js';
import type { ForwardContext } from '../layers/forward-context.js';
import type { ParameterSet } from '../parameters.js';
import { glorotUniform, Random } from '../random.js';
import {
  type Architecture,
  type JsonSchema,
  Network,
  type NetworkSpec,
  type WarmStartPlan,
  type WarmStartSource,
  type WarmStartTarget,
} from './architecture.js';
import { checkTrunkOptions, type HardSharingConfig, TRUNK_OPTION_SCHEMAS } from './hard-sharing.js';
import { copyRows, coverageRefusal, sourceWeight, vocabularyMap } from './transfer.js';

/**
 * Task towers: what the architectures with one network per task share (soft sharing,
 * cross-stitch, sluice). Tower t (t in task order) is a stack of hidden layers `hidden` and task
 * t's head, Dense(1):
 *
 *   x -> tower_t_1 (sparse: the column block [t h1, (t+1) h1) of the ONE packed first layer)
 *     -> activation, dropout, [mixing of the towers after layer 1]
 *     -> tower_t_l: Dense(hidden[l-1]), activation, dropout, [mixing after layer l]   (l = 2..L)
 *     -> head_t: Dense(1) over the last layer (or the architecture's combination of layers)
 *
 * Between layers the towers travel packed side by side, `[batch, T x h_l]`, tower t in columns
 * `[t h_l, (t+1) h_l)`; layer l of each tower reads its own block (tf.slice). The sparse input
 * stays sparse: the T first layers are one `[features, T h1]` sparse layer, a step costs
 * O(nnz x T h1).
 *
 * Export (plain tfjs layers): one Dense per tower and layer (`tower_<t>_<l>`, the first over the
 * dense TF-IDF input), a mixing of towers as a Concatenate and one bias-free Dense per receiving
 * tower with a structured kernel, `head_<t>` Dense(1, sigmoid), `heads` Concatenate `[batch, T]`.
 */

/**
 * Options of every tower architecture: hard sharing's, per tower (`hidden`: each tower's hidden
 * layers; default [64], as T towers pack T x hidden[0] first-layer columns).
 */
export type TowerOptions = HardSharingConfig;

export const TOWER_DEFAULTS: TowerOptions = { hidden: [64], activation: 'relu', dropout: 0.3 };

/** The JSON Schema properties of {@link TowerOptions}, with their defaults. */
export const TOWER_OPTION_SCHEMAS = {
  hidden: {
    ...TRUNK_OPTION_SCHEMAS.hidden,
    description:
      "sizes of each task tower's hidden layers, e.g. [64] (the first layers of the T towers are packed: T x hidden[0] columns)",
    default: TOWER_DEFAULTS.hidden,
  },
  activation: { ...TRUNK_OPTION_SCHEMAS.activation, default: TOWER_DEFAULTS.activation },
  dropout: { ...TRUNK_OPTION_SCHEMAS.dropout, default: TOWER_DEFAULTS.dropout },
} as const;

/**
 * Refuse options the schema does not know, fill defaults, check the tower options.
 * @throws UsageError naming the option.
 */
export function resolveTowerOptions<C extends TowerOptions>(
  architecture: string,
  schema: JsonSchema,
  defaults: C,
  config: Record<string, unknown>,
): C {
  const known = Object.keys(schema.properties as object);
  for (const key of Object.keys(config))
    if (!known.includes(key))
      throw new UsageError(`${architecture} has no option '${key}' (options: ${known.join(', ')})`);
  const c = { ...defaults, ...config } as C;
  checkTrunkOptions(c);
  return { ...c, hidden: [...c.hidden] };
}

/** @throws UsageError naming `option` unless `value` is a number in [min, max] (or (min, ...) with `exclusiveMin`). */
export function checkNumberOption(
  option: string,
  value: unknown,
  min: number,
  max = Number.POSITIVE_INFINITY,
  exclusiveMin = false,
): number {
  const v = value as number;
  const ok = typeof v === 'number' && Number.isFinite(v) && (exclusiveMin ? v > min : v >= min) && v <= max;
  if (!ok) {
    const range = `${exclusiveMin ? '>' : '>='} ${min}${max < Number.POSITIVE_INFINITY ? ` and <= ${max}` : ''}`;
    throw new UsageError(`${option} must be a number ${range}, got ${JSON.stringify(value)}`);
  }
  return v;
}

/** @throws UsageError naming `option` unless `value` is a boolean. */
export function checkBooleanOption(option: string, value: unknown): boolean {
  if (typeof value !== 'boolean')
    throw new UsageError(`${option} must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

/** Export name of layer `l` (1-based) of tower `t` (0-based task index). */
export const towerLayerName = (t: number, l: number): string => `tower_${t + 1}_${l}`;
/** Export name of task `t`'s head (0-based task index). */
export const towerHeadName = (t: number): string => `head_${t + 1}`;

/** A dense layer's values. */
export interface DenseValues {
  kernel: Float32Array;
  bias: Float32Array;
}

/** The weights of T towers: `layers[t][l - 1]` (layer 1's kernel is `[inputDim, hidden[0]]`), `heads[t]` (`[h_L, 1]`, `[1]`). */
export interface TowerWeights {
  layers: DenseValues[][];
  heads: DenseValues[];
}

/** Seeded initial towers: tower by tower, each layer and the head Glorot uniform (its own fans), biases 0. */
function randomTowerWeights(
  inputDim: number,
  T: number,
  hidden: readonly number[],
  random: Random,
): TowerWeights {
  const sizes = [inputDim, ...hidden, 1];
  const layers: DenseValues[][] = [];
  const heads: DenseValues[] = [];
  for (let t = 0; t < T; t++) {
    const tower: DenseValues[] = [];
    for (let l = 1; l < sizes.length; l++)
      tower.push({
        kernel: glorotUniform(sizes[l - 1]!, sizes[l]!, random),
        bias: new Float32Array(sizes[l]!),
      });
    heads.push(tower.pop()!);
    layers.push(tower);
  }
  return { layers, heads };
}

/** The towers of an export (as io/layers-graph.ts namedWeights gives them). @throws Error on a missing or mis-sized weight. */
function towerWeightsFromExport(
  weights: ReadonlyMap<string, Float32Array>,
  inputDim: number,
  T: number,
  hidden: readonly number[],
): TowerWeights {
  const sizes = [inputDim, ...hidden, 1];
  const read = (name: string, fanIn: number, units: number): DenseValues => ({
    kernel: sourceWeight(weights, `${name}/kernel`, fanIn * units),
    bias: sourceWeight(weights, `${name}/bias`, units),
  });
  return {
    layers: Array.from({ length: T }, (_, t) =>
      hidden.map((h, i) => read(towerLayerName(t, i + 1), sizes[i]!, h)),
    ),
    heads: Array.from({ length: T }, (_, t) => read(towerHeadName(t), hidden[hidden.length - 1]!, 1)),
  };
}

/** Write a `[rows, width]` block into columns `[from, from + width)` of a row-major `[rows, cols]` matrix, in place. */
export function setColumnBlock(
  matrix: Float32Array,
  cols: number,
  from: number,
  block: Float32Array,
  width: number,
): void {
  const rows = matrix.length / cols;
  for (let r = 0; r < rows; r++) matrix.set(block.subarray(r * width, (r + 1) * width), r * cols + from);
}

/** Mixing weights `[U, U]` near the identity: `same` on the diagonal, the rest of each row spread evenly (rows sum to 1); `[1]` when U = 1. */
export function nearIdentity(U: number, same: number): Float32Array {
  if (U === 1) return Float32Array.of(1);
  const other = (1 - same) / (U - 1);
  return Float32Array.from({ length: U * U }, (_, i) => (Math.floor(i / U) === i % U ? same : other));
}

/**
 * Linear mixing of `U` units of width `s` packed in `a [batch, U s]`: unit i of the output is
 * `sum_j alpha[i, j] unit_j` (`alpha [U, U]`). The cross-stitch unit of Misra et al. (units =
 * task towers) and sluice's alpha (units = the towers' subspaces). Inside tf.tidy / a tape.
 */
export function mixUnits(a: tf.Tensor2D, alpha: tf.Tensor2D, U: number, s: number): tf.Tensor2D {
  const batch = a.shape[0];
  const bySlot = tf.reshape(tf.transpose(tf.reshape(a, [batch, U, s]), [0, 2, 1]), [batch * s, U]);
  const mixed = tf.matMul(bySlot, tf.transpose(alpha));
  return tf.reshape(tf.transpose(tf.reshape(mixed, [batch, s, U]), [0, 2, 1]), [batch, U * s]);
}

/**
 * The export kernel `[U s, (U / T) s]` that gives receiving tower t's mixed units from the
 * concatenated units `[batch, U s]` (U = T x subspaces, each of width s): entry ((j, p), (m, q)) =
 * `alpha[t M + m, j]` when p = q, else 0.
 */
export function mixingKernel(alpha: Float32Array, U: number, M: number, s: number, t: number): Float32Array {
  const cols = M * s;
  const k = new Float32Array(U * s * cols);
  for (let j = 0; j < U; j++)
    for (let m = 0; m < M; m++) {
      const v = alpha[(t * M + m) * U + j]!;
      for (let p = 0; p < s; p++) k[(j * s + p) * cols + m * s + p] = v;
    }
  return k;
}

/** Rows `[t M, (t+1) M)` of alpha `[U, U]`, read back from a {@link mixingKernel}; written into `alpha`. */
export function alphaFromMixingKernel(
  kernel: Float32Array,
  alpha: Float32Array,
  U: number,
  M: number,
  s: number,
  t: number,
): void {
  const cols = M * s;
  for (let j = 0; j < U; j++)
    for (let m = 0; m < M; m++) alpha[(t * M + m) * U + j] = kernel[j * s * cols + m * s]!;
}

/**
 * A network of T towers (tfjs part: tower layers 2..L and the heads; the first layers are the
 * packed sparse layer). The forward pass is the same for every tower architecture, with two
 * hooks: {@link mix} after each layer (default none) and {@link headInputs} (default: each
 * tower's last layer). `encode` is the identity: no trunk is shared, so the representation
 * weighting methods see is the packed first layer's pre-activation.
 */
export abstract class TowerNetwork extends Network {
  readonly towerOptions: TowerOptions;
  /** `layers[l - 2][t]`: Dense layer l of tower t (l = 2..L). */
  protected readonly towerLayers: DenseLayer[][];
  /** `heads[t]`: Dense(1) of task t. */
  protected readonly heads: DenseLayer[];

  protected constructor(
    spec: NetworkSpec,
    options: TowerOptions,
    weights: TowerWeights,
    firstKernel: 'auto' | 'js' = 'auto',
  ) {
    const T = spec.tasks.length;
    super(
      spec,
      packColumns(
        weights.layers.map((tower) => tower[0]!.kernel),
        spec.inputDim,
      ),
      packColumns(
        weights.layers.map((tower) => tower[0]!.bias),
        1,
      ),
      firstKernel,
    );
    this.towerOptions = options;
    const hidden = options.hidden;
    this.towerLayers = [];
    for (let l = 2; l <= hidden.length; l++) {
      this.towerLayers.push(
        Array.from({ length: T }, (_, t) =>
          addDenseLayer(
            this.params,
            towerLayerName(t, l),
            hidden[l - 2]!,
            hidden[l - 1]!,
            weights.layers[t]![l - 1]!,
          ),
        ),
      );
    }
    this.heads = Array.from({ length: T }, (_, t) =>
      addDenseLayer(this.params, towerHeadName(t), hidden[hidden.length - 1]!, 1, weights.heads[t]!),
    );
  }

  /** Number of towers (tasks). */
  get towers(): number {
    return this.tasks.length;
  }

  encode(z1: tf.Tensor2D): tf.Tensor2D {
    return z1;
  }

  decode(rep: tf.Tensor2D, _z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    const { hidden, activation, dropout } = this.towerOptions;
    let a = this.mix(1, activateAndDrop(rep, activation, dropout, ctx));
    const outputs = [a];
    for (let l = 2; l <= hidden.length; l++) {
      const h = hidden[l - 2]!;
      const z = tf.concat(
        this.towerLayers[l - 2]!.map((layer, t) => applyDense(tf.slice(a, [0, t * h], [-1, h]), layer)),
        1,
      ) as tf.Tensor2D;
      a = this.mix(l, activateAndDrop(z, activation, dropout, ctx));
      outputs.push(a);
    }
    const inputs = this.headInputs(outputs);
    return tf.concat(
      this.heads.map((head, t) => applyDense(inputs[t]!, head)),
      1,
    ) as tf.Tensor2D;
  }

  /** The towers after layer `l`'s activation and dropout, packed `[batch, T h_l]`; identity by default. */
  protected mix(_l: number, a: tf.Tensor2D): tf.Tensor2D {
    return a;
  }

  /** Each head's input `[batch, h_L]` from the layers' (mixed) outputs, packed; default: tower t's block of the last. */
  protected headInputs(outputs: readonly tf.Tensor2D[]): tf.Tensor2D[] {
    const h = this.towerOptions.hidden[this.towerOptions.hidden.length - 1]!;
    const last = outputs[outputs.length - 1]!;
    return Array.from({ length: this.towers }, (_, t) => tf.slice(last, [0, t * h], [-1, h]));
  }

  /** Tower t's first-layer kernel `[inputDim, hidden[0]]` (a copy). */
  firstLayerKernel(t: number): Float32Array {
    const h = this.towerOptions.hidden[0]!;
    return columnBlock(this.first.weights, this.firstWidth, t * h, h);
  }

  /** Tower t's kernel of layer l (1-based, layer 1 the sparse one), or its head's when l = L + 1, as a copy. */
  towerKernel(t: number, l: number): Float32Array {
    if (l === 1) return this.firstLayerKernel(t);
    const layer = l > this.towerOptions.hidden.length ? this.heads[t]! : this.towerLayers[l - 2]![t]!;
    return (layer.kernel.dataSync() as Float32Array).slice();
  }

  /** The export hook of {@link mix}: the towers' outputs after layer `l`, one symbolic tensor each. */
  protected exportMix(_graph: LayersGraph, _l: number, outputs: tf.SymbolicTensor[]): tf.SymbolicTensor[] {
    return outputs;
  }

  /** The export hook of {@link headInputs}: `outputs[l - 1][t]` are tower t's (mixed) outputs of layer l. */
  protected exportHeadInputs(_graph: LayersGraph, outputs: tf.SymbolicTensor[][]): tf.SymbolicTensor[] {
    return outputs[outputs.length - 1]!;
  }

  async exportLayers(): Promise<LayersExport> {
    this.assertLive();
    const { hidden, activation } = this.towerOptions;
    const T = this.towers;
    const g = new LayersGraph(this.inputDim);
    const h1 = hidden[0]!;
    let a = Array.from({ length: T }, (_, t) =>
      g.dense(g.input, {
        name: towerLayerName(t, 1),
        kernel: this.firstLayerKernel(t),
        bias: this.first.bias.slice(t * h1, (t + 1) * h1),
        activation,
      }),
    );
    a = this.exportMix(g, 1, a);
    const outputs = [a];
    for (let l = 2; l <= hidden.length; l++) {
      const prev = a;
      a = this.towerLayers[l - 2]!.map((layer, t) =>
        g.dense(prev[t]!, {
          name: towerLayerName(t, l),
          kernel: layer.kernel.dataSync() as Float32Array,
          bias: layer.bias.dataSync() as Float32Array,
          activation,
        }),
      );
      a = this.exportMix(g, l, a);
      outputs.push(a);
    }
    const inputs = this.exportHeadInputs(g, outputs);
    const heads = this.heads.map((head, t) =>
      g.dense(inputs[t]!, {
        name: towerHeadName(t),
        kernel: head.kernel.dataSync() as Float32Array,
        bias: head.bias.dataSync() as Float32Array,
        activation: 'sigmoid',
      }),
    );
    return g.export(g.concatenate('heads', heads));
  }
}

/**
 * Export a mixing of units (see {@link mixUnits}) after layer `l`: the towers' outputs
 * concatenated (`mix_<l>_in`), then for each receiving tower t a bias-free Dense `<name>_<l>_<t>`
 * with the {@link mixingKernel}. `M` units (subspaces) per tower of width `s`.
 */
export function exportMixing(
  graph: LayersGraph,
  name: string,
  l: number,
  outputs: tf.SymbolicTensor[],
  alpha: Float32Array,
  M: number,
  s: number,
): tf.SymbolicTensor[] {
  const T = outputs.length;
  const all = graph.concatenate(`${name}_${l}_in`, outputs);
  return outputs.map((_, t) =>
    graph.dense(all, {
      name: `${name}_${l}_${t + 1}`,
      kernel: mixingKernel(alpha, T * M, M, s, t),
      bias: null,
    }),
  );
}

/** The mixing weights `[U, U]` of layer `l` from an export made by {@link exportMixing}. @throws Error on a missing or mis-sized weight. */
export function mixingFromExport(
  weights: ReadonlyMap<string, Float32Array>,
  name: string,
  l: number,
  T: number,
  M: number,
  s: number,
): Float32Array {
  const U = T * M;
  const alpha = new Float32Array(U * U);
  for (let t = 0; t < T; t++)
    alphaFromMixingKernel(
      sourceWeight(weights, `${name}_${l}_${t + 1}/kernel`, U * s * M * s),
      alpha,
      U,
      M,
      s,
      t,
    );
  return alpha;
}

/** Register a mixing parameter `[U, U]` in group 'mixing' (no decay). */
export function addMixing(
  params: ParameterSet,
  name: string,
  value: Float32Array,
  shape: number[],
  trainable: boolean,
): tf.Variable {
  return params.add(name, value, shape, { group: 'mixing', decay: false, trainable });
}

/**
 * Warm start of a tower network from an earlier run's model of the same architecture: for every
 * task both runs trained, its tower's hidden layers (first-layer rows by term, deeper layers
 * whole); heads fresh, as hard sharing's warm start. `also` adds what the architecture copies
 * besides (e.g. its mixing weights) and says so. Refuses other hidden sizes, no task in common, a
 * vocabulary mostly new.
 */
function towerWarmStart(
  source: WarmStartSource,
  target: WarmStartTarget,
  from: TowerOptions,
  to: TowerOptions,
  also?: { copied: string; apply(network: TowerNetwork): void },
): WarmStartPlan {
  if (from.hidden.join(',') !== to.hidden.join(',')) {
    return {
      ok: false,
      reason: `run ${source.runId} has towers of hidden layers [${from.hidden.join(', ')}], this run [${to.hidden.join(', ')}]`,
    };
  }
  const pairs = target.tasks.flatMap((task, t) => {
    const s = source.tasks.indexOf(task);
    return s >= 0 ? [{ task, t, s }] : [];
  });
  if (pairs.length === 0)
    return {
      ok: false,
      reason: `run ${source.runId} has no tower of this run's tasks (it trained ${source.tasks.join(', ')})`,
    };
  const map = vocabularyMap(source.vocabulary, target.vocabulary);
  const refusal = coverageRefusal(map, source.runId);
  if (refusal) return refusal;
  const hidden = to.hidden;
  const sizes = [source.vocabulary.length, ...hidden];
  const copied = pairs.map(({ s }) =>
    hidden.map((h, i) => ({
      kernel: sourceWeight(source.weights, `${towerLayerName(s, i + 1)}/kernel`, sizes[i]! * h),
      bias: sourceWeight(source.weights, `${towerLayerName(s, i + 1)}/bias`, h),
    })),
  );
  return {
    ok: true,
    sharedTerms: map.sharedTerms,
    coverage: map.coverage,
    copied: `the towers of ${pairs.map((p) => p.task).join(', ')}${also ? `, ${also.copied}` : ''}`,
    apply(network) {
      const net = network as TowerNetwork;
      const h1 = hidden[0]!;
      const w1 = net.first.weights.slice();
      const b1 = net.first.bias.slice();
      pairs.forEach(({ t }, k) => {
        const block = columnBlock(w1, net.firstWidth, t * h1, h1);
        copyRows(copied[k]![0]!.kernel, block, h1, map);
        setColumnBlock(w1, net.firstWidth, t * h1, block, h1);
        b1.set(copied[k]![0]!.bias, t * h1);
        for (let l = 2; l <= hidden.length; l++) {
          net.params.set(`${towerLayerName(t, l)}/kernel`, copied[k]![l - 1]!.kernel);
          net.params.set(`${towerLayerName(t, l)}/bias`, copied[k]![l - 1]!.bias);
        }
      });
      net.first.setWeights(w1, b1);
      also?.apply(net);
    },
  };
}

/** What a tower architecture defines for {@link towerArchitecture}; `X` its own weights besides the towers (e.g. mixing weights). */
export interface TowerArchitectureDefinition<C extends TowerOptions, X> {
  name: string;
  summary: string;
  optionsSchema: JsonSchema;
  /** Fill defaults and check the options. @throws UsageError naming the option. */
  resolve(config: Record<string, unknown>): C;
  /** A network of the towers `weights` and the architecture's own weights (fresh when `extra` is undefined). */
  build(spec: NetworkSpec, weights: TowerWeights, extra?: X): TowerNetwork;
  /** The architecture's own weights read back from an export. */
  extraFromExport?(weights: ReadonlyMap<string, Float32Array>, config: C, tasks: number): X;
  /**
   * A warm start also copies the architecture's own weights when both runs have the same tasks in
   * the same order and `compatible(from, to)` (default: always): `copied` names them, `set` sets them.
   */
  extraWarmStart?: {
    copied: string;
    compatible?(from: C, to: C): boolean;
    set(network: TowerNetwork, extra: X): void;
  };
}

/**
 * An {@link Architecture} of task towers: seeded towers for `create` (Glorot uniform, tower by
 * tower, from the spec's seed), the towers and the architecture's own weights from an export for
 * `fromWeights`, {@link towerWarmStart} (plus the own weights when the tasks are the same).
 */
export function towerArchitecture<C extends TowerOptions, X>(
  def: TowerArchitectureDefinition<C, X>,
): Architecture {
  return {
    name: def.name,
    summary: def.summary,
    optionsSchema: def.optionsSchema,
    resolveConfig: (config) => ({ ...def.resolve(config) }) as Record<string, unknown>,
    create(spec) {
      const { hidden } = def.resolve(spec.config);
      return def.build(
        spec,
        randomTowerWeights(spec.inputDim, spec.tasks.length, hidden, new Random(spec.seed)),
      );
    },
    fromWeights(spec, weights) {
      const cfg = def.resolve(spec.config);
      const T = spec.tasks.length;
      return def.build(
        spec,
        towerWeightsFromExport(weights, spec.inputDim, T, cfg.hidden),
        def.extraFromExport?.(weights, cfg, T),
      );
    },
    warmStart(source, target) {
      const from = def.resolve(source.config);
      const to = def.resolve(target.config);
      const extra = def.extraWarmStart;
      const read = def.extraFromExport;
      const same =
        extra !== undefined &&
        read !== undefined &&
        source.tasks.join('\n') === target.tasks.join('\n') &&
        (extra.compatible?.(from, to) ?? true);
      return towerWarmStart(
        source,
        target,
        from,
        to,
        same
          ? {
              copied: extra.copied,
              apply: (network) => extra.set(network, read(source.weights, to, target.tasks.length)),
            }
          : undefined,
      );
    },
  };
}
