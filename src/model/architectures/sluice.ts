import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import type { LayersGraph } from '../io/layers-graph.js';
import type { FirstLayerRegularization } from '../layers/sparse-dense.js';
import { crossSubspaceGram, subspaceOrthogonalityPenalty } from '../regularizers/orthogonality.js';
import type { Architecture, JsonSchema, NetworkSpec, TaskRelation } from './architecture.js';
import { CROSS_STITCH_DEFAULTS, checkMixingOptions, MIXING_OPTION_SCHEMAS } from './cross-stitch.js';
import {
  addMixing,
  checkNumberOption,
  exportMixing,
  mixingFromExport,
  mixUnits,
  nearIdentity,
  resolveTowerOptions,
  TOWER_DEFAULTS,
  TOWER_OPTION_SCHEMAS,
  type TowerOptions,
  TowerNetwork,
  type TowerWeights,
  towerArchitecture,
} from './towers.js';
import { sourceWeight } from './transfer.js';

/**
 * Sluice networks (Ruder, Bingel, Augenstein & Søgaard, "Latent Multi-task Architecture
 * Learning", AAAI 2019; arXiv 1705.08142 "Sluice networks: Learning what to share between loosely
 * related tasks"): one tower per task (./towers.ts) whose every hidden layer is split into M
 * `subspaces` of equal width, and three learned parts:
 *
 * - alpha (per layer l, `[T M, T M]`): after layer l, every subspace of every task is a linear
 *   combination of all the tasks' subspaces, `h~_(t,m) = sum_(s,n) alpha_l[(t,m), (s,n)] h_(s,n)`
 *   (a cross-stitch unit over subspaces; Misra et al. 2016 is M = 1). Initialized near the
 *   identity: `alpha_same` on the diagonal, the rest of each row spread evenly (a generalization
 *   of their "imbalanced" initialization to T tasks and M subspaces);
 * - beta (per task, `[L]`): task t's head reads `sum_l beta_t[l] h~_t,l`, a mixture of its
 *   tower's (mixed) layer outputs (their "layer-stitch" units; every hidden layer has the same
 *   size). `beta_init`: "balanced" (1/L each, their default), "imbalanced" (0.9 on the last layer,
 *   the rest spread), or "last" (1 on the last layer: plain towers);
 * - the subspace orthogonality penalty `orthogonality x sum_t sum_l sum_{m<m'} ||G_m^T G_m'||_F^2`
 *   on each tower's layer kernels split by subspace (../regularizers/orthogonality.ts).
 *
 * alpha and beta are in the parameter group 'mixing' (`mixing_learning_rate_scale`, as
 * cross-stitch units); `mixing_trainable: false` fixes both (with `alpha_same: 1`, `beta_init:
 * "last"` and `orthogonality: 0`: independent single-task towers).
 *
 * The penalty on the packed first layer is part of its lazy update (rows of the batch only, like
 * its L2 decay): row f's tower block t gets `2 orthogonality w_f A_t`, A_t the tower's cross-subspace
 * Gram matrix (`G^T G` of its first-layer kernel with the within-subspace blocks zeroed), a
 * `blockTransform`. A_t sums over the whole vocabulary, O(V x T x h1^2 / M): it is recomputed at
 * the first step of every epoch (after a warm start too) and held for the epoch, so the first
 * layer follows the penalty's gradient at the epoch's start linearized in w_f; the tfjs layers get
 * the exact gradient every step. Learned relations: `sluice_alpha` (per layer and task pair, the
 * share of task a's subspaces taken from task b's: `sum_(m,n) alpha[(a,m),(b,n)] / M`) and
 * `sluice_beta` (per task and layer).
 */

/** Options of sluice networks. */
export interface SluiceConfig extends TowerOptions {
  /** Subspaces per layer (M, divides every hidden size); default 2. */
  subspaces: number;
  alpha_same: number;
  beta_init: 'balanced' | 'imbalanced' | 'last';
  /** Weight of the subspace orthogonality penalty, >= 0; default 0.01. */
  orthogonality: number;
  mixing_learning_rate_scale: number;
  mixing_trainable: boolean;
}

export const SLUICE_DEFAULTS: SluiceConfig = {
  ...TOWER_DEFAULTS,
  subspaces: 2,
  alpha_same: CROSS_STITCH_DEFAULTS.alpha_same,
  beta_init: 'balanced',
  orthogonality: 0.01,
  mixing_learning_rate_scale: CROSS_STITCH_DEFAULTS.mixing_learning_rate_scale,
  mixing_trainable: CROSS_STITCH_DEFAULTS.mixing_trainable,
};

const OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...TOWER_OPTION_SCHEMAS,
    hidden: {
      ...TOWER_OPTION_SCHEMAS.hidden,
      description:
        "sizes of each task tower's hidden layers, all equal (the heads mix the layers) and divisible by subspaces, e.g. [64, 64]",
    },
    subspaces: {
      type: 'integer',
      minimum: 1,
      description: 'subspaces per hidden layer (M; Ruder et al. use 2)',
      default: SLUICE_DEFAULTS.subspaces,
    },
    ...MIXING_OPTION_SCHEMAS,
    beta_init: {
      enum: ['balanced', 'imbalanced', 'last'],
      description:
        'initial layer-mixing weights of the heads: balanced (1/L each), imbalanced (0.9 on the last layer), last (1 on the last layer)',
      default: SLUICE_DEFAULTS.beta_init,
    },
    orthogonality: {
      type: 'number',
      minimum: 0,
      description: 'weight of the subspace orthogonality penalty (0: none)',
      default: SLUICE_DEFAULTS.orthogonality,
    },
  },
};

function resolveConfig(config: Record<string, unknown>): SluiceConfig {
  const c = resolveTowerOptions('sluice', OPTIONS_SCHEMA, SLUICE_DEFAULTS, config);
  if (!Number.isInteger(c.subspaces) || c.subspaces < 1)
    throw new UsageError(`subspaces must be an integer >= 1, got ${JSON.stringify(c.subspaces)}`);
  if (c.hidden.some((h) => h !== c.hidden[0]))
    throw new UsageError(
      `sluice: every hidden layer must have the same size (the heads mix them), got [${c.hidden.join(', ')}]`,
    );
  if (c.hidden[0]! % c.subspaces !== 0)
    throw new UsageError(`sluice: hidden size ${c.hidden[0]} is not divisible by subspaces ${c.subspaces}`);
  if (!['balanced', 'imbalanced', 'last'].includes(c.beta_init))
    throw new UsageError(
      `beta_init must be balanced, imbalanced or last, got ${JSON.stringify(c.beta_init)}`,
    );
  checkNumberOption('orthogonality', c.orthogonality, 0);
  checkMixingOptions(c);
  return c;
}

/** A sluice network's own weights: alpha_l `[T M * T M]` for l = 1..L and beta `[T * L]`, row-major. */
interface SluiceMixing {
  alphas: Float32Array[];
  beta: Float32Array;
}

/** Initial beta of one task, `[L]`. */
function initialBeta(L: number, init: SluiceConfig['beta_init']): Float32Array {
  if (L === 1) return Float32Array.of(1);
  if (init === 'balanced') return new Float32Array(L).fill(1 / L);
  const last = init === 'last' ? 1 : 0.9;
  return Float32Array.from({ length: L }, (_, l) => (l === L - 1 ? last : (1 - last) / (L - 1)));
}

/** Export name of task t's layer-mixing Dense. */
const layerStitchName = (t: number) => `layer_stitch_${t + 1}`;

class SluiceNetwork extends TowerNetwork {
  readonly architecture = 'sluice';
  private readonly cfg: SluiceConfig;
  /** alpha_l `[T M, T M]`, l = 1..L. */
  private readonly alphas: tf.Variable[];
  /** beta `[T, L]`. */
  private readonly beta: tf.Variable;
  /** The first layer's block transform of this epoch, or null to recompute. */
  private firstTransform: FirstLayerRegularization['blockTransform'] | null = null;

  constructor(
    spec: NetworkSpec,
    weights: TowerWeights,
    mixing?: { alphas: Float32Array[]; beta: Float32Array },
  ) {
    const cfg = resolveConfig(spec.config);
    super({ ...spec, config: { ...cfg } }, cfg, weights);
    this.cfg = cfg;
    const T = spec.tasks.length;
    const U = T * cfg.subspaces;
    const L = cfg.hidden.length;
    this.alphas = cfg.hidden.map((_, i) =>
      addMixing(
        this.params,
        `sluice_${i + 1}/alpha`,
        mixing?.alphas[i] ?? nearIdentity(U, cfg.alpha_same),
        [U, U],
        cfg.mixing_trainable,
      ),
    );
    const beta = mixing?.beta ?? new Float32Array(T * L);
    if (!mixing) for (let t = 0; t < T; t++) beta.set(initialBeta(L, cfg.beta_init), t * L);
    this.beta = addMixing(this.params, 'layer_stitch/beta', beta, [T, L], cfg.mixing_trainable);
    this.params.setGroupScale('mixing', cfg.mixing_learning_rate_scale);
  }

  private get subspaceWidth(): number {
    return this.cfg.hidden[0]! / this.cfg.subspaces;
  }

  protected override mix(l: number, a: tf.Tensor2D): tf.Tensor2D {
    return mixUnits(
      a,
      this.alphas[l - 1]! as tf.Tensor2D,
      this.towers * this.cfg.subspaces,
      this.subspaceWidth,
    );
  }

  protected override headInputs(outputs: readonly tf.Tensor2D[]): tf.Tensor2D[] {
    const h = this.cfg.hidden[0]!;
    const L = outputs.length;
    return Array.from({ length: this.towers }, (_, t) => {
      const terms = outputs.map((a, l) =>
        tf.mul(tf.slice(this.beta, [t, l], [1, 1]), tf.slice(a, [0, t * h], [-1, h])),
      );
      return (L === 1 ? terms[0]! : tf.addN(terms)) as tf.Tensor2D;
    });
  }

  protected override exportMix(
    graph: LayersGraph,
    l: number,
    outputs: tf.SymbolicTensor[],
  ): tf.SymbolicTensor[] {
    const alpha = this.alphas[l - 1]!.dataSync() as Float32Array;
    return exportMixing(graph, 'sluice', l, outputs, alpha, this.cfg.subspaces, this.subspaceWidth);
  }

  protected override exportHeadInputs(
    graph: LayersGraph,
    outputs: tf.SymbolicTensor[][],
  ): tf.SymbolicTensor[] {
    const h = this.cfg.hidden[0]!;
    const L = outputs.length;
    const beta = this.beta.dataSync() as Float32Array;
    return Array.from({ length: this.towers }, (_, t) => {
      const layers = graph.concatenate(
        `layers_${t + 1}`,
        outputs.map((a) => a[t]!),
      );
      const kernel = new Float32Array(L * h * h);
      for (let l = 0; l < L; l++) for (let p = 0; p < h; p++) kernel[(l * h + p) * h + p] = beta[t * L + l]!;
      return graph.dense(layers, { name: layerStitchName(t), kernel, bias: null });
    });
  }

  override penalty(): tf.Scalar | null {
    const M = this.cfg.subspaces;
    if (this.cfg.orthogonality === 0 || M === 1 || this.towerLayers.length === 0) return null;
    const terms = this.towerLayers.flatMap((layer) =>
      layer.map((d) => subspaceOrthogonalityPenalty(d.kernel as tf.Tensor2D, M)),
    );
    return tf.mul(this.cfg.orthogonality, tf.addN(terms)) as tf.Scalar;
  }

  override firstLayerRegularization(l2: number): FirstLayerRegularization {
    const M = this.cfg.subspaces;
    if (this.cfg.orthogonality === 0 || M === 1) return { decay: 2 * l2 };
    if (this.firstTransform === null) {
      const h = this.cfg.hidden[0]!;
      const matrices = new Float32Array(this.towers * h * h);
      for (let t = 0; t < this.towers; t++)
        matrices.set(crossSubspaceGram(this.first.weights, this.firstWidth, t * h, h, M), t * h * h);
      this.firstTransform = { blocks: this.towers, matrices, strength: 2 * this.cfg.orthogonality };
    }
    return { decay: 2 * l2, blockTransform: this.firstTransform };
  }

  override endEpoch(): void {
    this.firstTransform = null;
  }

  /** alpha_l `[T M * T M]` and beta `[T * L]`, row-major copies. */
  mixing(): SluiceMixing {
    return {
      alphas: this.alphas.map((a) => (a.dataSync() as Float32Array).slice()),
      beta: (this.beta.dataSync() as Float32Array).slice(),
    };
  }

  /** `sluice_alpha` per layer and ordered task pair, `sluice_beta` per task and layer. */
  override relations(): TaskRelation[] {
    const T = this.towers;
    const M = this.cfg.subspaces;
    const U = T * M;
    const L = this.cfg.hidden.length;
    const { alphas, beta } = this.mixing();
    const out: TaskRelation[] = [];
    alphas.forEach((alpha, i) => {
      for (let a = 0; a < T; a++)
        for (let b = 0; b < T; b++) {
          let s = 0;
          for (let m = 0; m < M; m++) for (let n = 0; n < M; n++) s += alpha[(a * M + m) * U + b * M + n]!;
          out.push({
            kind: 'sluice_alpha',
            layer: i + 1,
            taskA: this.tasks[a]!,
            taskB: this.tasks[b]!,
            value: s / M,
          });
        }
    });
    for (let t = 0; t < T; t++)
      for (let l = 0; l < L; l++)
        out.push({
          kind: 'sluice_beta',
          layer: l + 1,
          taskA: this.tasks[t]!,
          taskB: null,
          value: beta[t * L + l]!,
        });
    return out;
  }
}

/** beta `[T * L]` from an export's layer-stitch kernels. @throws Error on a missing or mis-sized weight. */
function betaFromExport(
  weights: ReadonlyMap<string, Float32Array>,
  T: number,
  L: number,
  h: number,
): Float32Array {
  const beta = new Float32Array(T * L);
  for (let t = 0; t < T; t++) {
    const k = sourceWeight(weights, `${layerStitchName(t)}/kernel`, L * h * h);
    for (let l = 0; l < L; l++) beta[t * L + l] = k[l * h * h]!;
  }
  return beta;
}

/** alpha and beta of an export. */
function mixingOfExport(
  weights: ReadonlyMap<string, Float32Array>,
  cfg: SluiceConfig,
  T: number,
): SluiceMixing {
  const h = cfg.hidden[0]!;
  const M = cfg.subspaces;
  return {
    alphas: cfg.hidden.map((_, i) => mixingFromExport(weights, 'sluice', i + 1, T, M, h / M)),
    beta: betaFromExport(weights, T, cfg.hidden.length, h),
  };
}

/** The `sluice` architecture (registered by name in ./index.ts). */
export const sluice: Architecture = towerArchitecture({
  name: 'sluice',
  summary:
    'sluice networks: task towers split into subspaces, learned mixing of subspaces (alpha) and of layers (beta), subspace orthogonality (Ruder et al., AAAI 2019)',
  optionsSchema: OPTIONS_SCHEMA,
  resolve: resolveConfig,
  build: (spec, weights, mixing?: SluiceMixing) => new SluiceNetwork(spec, weights, mixing),
  extraFromExport: mixingOfExport,
  extraWarmStart: {
    copied: 'the mixing weights (alpha, beta)',
    compatible: (from, to) => from.subspaces === to.subspaces,
    set(network, { alphas, beta }) {
      for (const [i, alpha] of alphas.entries()) network.params.set(`sluice_${i + 1}/alpha`, alpha);
      network.params.set('layer_stitch/beta', beta);
    },
  },
});
