import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import type { FirstLayerRegularization } from '../layers/sparse-dense.js';
import { l2CouplingMatrix, l2CouplingPenalty } from '../regularizers/l2-coupling.js';
import {
  gramOfRows,
  traceNormGradientMatrix,
  traceNormPenalty,
  traceNormSmoothing,
} from '../regularizers/trace-norm.js';
import type { Architecture, JsonSchema, NetworkSpec, TaskRelation } from './architecture.js';
import {
  checkBooleanOption,
  checkNumberOption,
  resolveTowerOptions,
  TOWER_DEFAULTS,
  TOWER_OPTION_SCHEMAS,
  type TowerOptions,
  TowerNetwork,
  type TowerWeights,
  towerArchitecture,
} from './towers.js';

/**
 * Soft parameter sharing: one tower per task (a stack of hidden layers and the task's head,
 * ./towers.ts), no parameter shared, and a penalty that pulls the towers' parameters together
 * (Ruder, "An Overview of Multi-Task Learning in Deep Neural Networks", 2017, Section 3.2):
 *
 * - `coupling: "l2"` (Duong, Cohn, Bird & Cook, "Low Resource Dependency Parsing: Cross-lingual
 *   Parameter Sharing in a Neural Network Parser", ACL 2015): `lambda sum_l sum_t ||W_t^l -
 *   mean_s W_s^l||_F^2`, each layer's kernels pulled to the towers' mean (../regularizers/l2-coupling.ts);
 * - `coupling: "trace_norm"` (Yang & Hospedales, "Trace Norm Regularised Deep Multi-Task
 *   Learning", ICLR 2017 workshop): `lambda sum_l ||[vec W_1^l; ...; vec W_T^l]||_*`, each layer's
 *   kernels stacked across tasks pushed toward low rank (../regularizers/trace-norm.ts).
 *
 * `lambda` is `coupling_strength`. The hidden layers' kernels are coupled, and the heads' too with
 * `couple_heads` (off by default: conditions such as neurotypical read a shared representation
 * with the opposite sign, which a pull of the heads to their mean forbids). Biases are not.
 *
 * The packed first layer's coupling is part of its lazy update (rows of the batch only, like its
 * L2 decay): row f's tower block k gets `2 lambda sum_j (I - 11^T/T)[k, j] w_j` (l2) or `lambda
 * sum_j P[k, j] w_j` (trace norm, `P = (G + eps I)^{-1/2}`, G the T x T Gram matrix of the
 * towers' first-layer kernels): a `blockMix`. P needs G over the whole vocabulary, O(V x T x
 * firstWidth): it is recomputed at the first step of every epoch (after a warm start too) and held
 * for the epoch, an alternating minimization of the trace norm's variational form `min_{D > 0}
 * (tr(M^T D^{-1} M) + tr(D)) / 2` (Argyriou, Evgeniou & Pontil, "Convex multi-task feature
 * learning", Machine Learning 73, 2008), whose closed-form step is `D = (M M^T)^{1/2}`. The tfjs
 * layers get the exact gradient every step. With coupling_strength 0 the towers are independent
 * single-task networks; with one task (the single-task baseline of a run) there is nothing to
 * couple and no penalty. Learned relation: `tower_distance`, `||W_a^l - W_b^l||_F` per layer and
 * task pair.
 */

/** Options of soft sharing. */
export interface SoftSharingConfig extends TowerOptions {
  coupling: 'l2' | 'trace_norm';
  /** lambda, >= 0; default 0.001. */
  coupling_strength: number;
  /** Couple the heads' kernels too; default false. */
  couple_heads: boolean;
}

export const SOFT_SHARING_DEFAULTS: SoftSharingConfig = {
  ...TOWER_DEFAULTS,
  coupling: 'l2',
  coupling_strength: 0.001,
  couple_heads: false,
};

const OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...TOWER_OPTION_SCHEMAS,
    coupling: {
      enum: ['l2', 'trace_norm'],
      description:
        "the penalty coupling the towers' kernels: l2 (squared distance to the towers' mean, Duong et al. 2015) or trace_norm (of each layer's kernels stacked across tasks, Yang & Hospedales 2017)",
      default: SOFT_SHARING_DEFAULTS.coupling,
    },
    coupling_strength: {
      type: 'number',
      minimum: 0,
      description: 'lambda, the weight of the coupling penalty (0: independent towers)',
      default: SOFT_SHARING_DEFAULTS.coupling_strength,
    },
    couple_heads: {
      type: 'boolean',
      description: "couple the heads' kernels too, not only the hidden layers'",
      default: SOFT_SHARING_DEFAULTS.couple_heads,
    },
  },
};

function resolveConfig(config: Record<string, unknown>): SoftSharingConfig {
  const c = resolveTowerOptions('soft_sharing', OPTIONS_SCHEMA, SOFT_SHARING_DEFAULTS, config);
  if (c.coupling !== 'l2' && c.coupling !== 'trace_norm')
    throw new UsageError(`coupling must be l2 or trace_norm, got ${JSON.stringify(c.coupling)}`);
  checkNumberOption('coupling_strength', c.coupling_strength, 0);
  checkBooleanOption('couple_heads', c.couple_heads);
  return c;
}

class SoftSharingNetwork extends TowerNetwork {
  readonly architecture = 'soft_sharing';
  private readonly cfg: SoftSharingConfig;
  /** The first layer's coupling of this epoch (P for the trace norm), or null to recompute. */
  private firstCoupling: FirstLayerRegularization['blockMix'] | null = null;

  constructor(spec: NetworkSpec, weights: TowerWeights) {
    const cfg = resolveConfig(spec.config);
    super({ ...spec, config: { ...cfg } }, cfg, weights);
    this.cfg = cfg;
  }

  /** Whether there is anything to couple: a strength > 0 and two towers or more. */
  private get coupled(): boolean {
    return this.cfg.coupling_strength > 0 && this.towers > 1;
  }

  /** The coupled kernels of layer l (2..L, or L + 1 for the heads), one per tower. */
  private coupledKernels(): tf.Variable[][] {
    const layers = this.towerLayers.map((layer) => layer.map((d) => d.kernel));
    if (this.cfg.couple_heads) layers.push(this.heads.map((d) => d.kernel));
    return layers;
  }

  override penalty(): tf.Scalar | null {
    const lambda = this.cfg.coupling_strength;
    const layers = this.coupledKernels();
    if (!this.coupled || layers.length === 0) return null;
    const terms = layers.map((kernels) =>
      this.cfg.coupling === 'l2' ? l2CouplingPenalty(kernels) : traceNormPenalty(kernels),
    );
    return tf.mul(lambda, tf.addN(terms)) as tf.Scalar;
  }

  override firstLayerRegularization(l2: number): FirstLayerRegularization {
    const lambda = this.cfg.coupling_strength;
    const T = this.towers;
    if (!this.coupled) return { decay: 2 * l2 };
    if (this.firstCoupling === null) {
      if (this.cfg.coupling === 'l2') {
        this.firstCoupling = { blocks: T, matrix: l2CouplingMatrix(T), strength: 2 * lambda };
      } else {
        const gram = gramOfRows(Array.from({ length: T }, (_, t) => this.firstLayerKernel(t)));
        const eps = traceNormSmoothing(gram, T);
        this.firstCoupling = { blocks: T, matrix: traceNormGradientMatrix(gram, T, eps), strength: lambda };
      }
    }
    return { decay: 2 * l2, blockMix: this.firstCoupling };
  }

  override endEpoch(): void {
    if (this.cfg.coupling === 'trace_norm') this.firstCoupling = null;
  }

  /** `tower_distance`: `||W_a^l - W_b^l||_F` of every coupled layer (1..L, L + 1 the heads when coupled), both orders. */
  override relations(): TaskRelation[] {
    const T = this.towers;
    const L = this.cfg.hidden.length + (this.cfg.couple_heads ? 1 : 0);
    const out: TaskRelation[] = [];
    for (let l = 1; l <= L; l++) {
      const kernels = Array.from({ length: T }, (_, t) => this.towerKernel(t, l));
      for (let a = 0; a < T; a++)
        for (let b = 0; b < T; b++) {
          if (a === b) continue;
          let s = 0;
          const ka = kernels[a]!;
          const kb = kernels[b]!;
          for (let i = 0; i < ka.length; i++) s += (ka[i]! - kb[i]!) ** 2;
          out.push({
            kind: 'tower_distance',
            layer: l,
            taskA: this.tasks[a]!,
            taskB: this.tasks[b]!,
            value: Math.sqrt(s),
          });
        }
    }
    return out;
  }
}

/** The `soft_sharing` architecture (registered by name in ./index.ts). */
export const softSharing: Architecture = towerArchitecture({
  name: 'soft_sharing',
  summary:
    'soft parameter sharing: one tower per task, kernels coupled by an l2 (Duong et al., ACL 2015) or trace-norm (Yang & Hospedales, ICLR-W 2017) penalty',
  optionsSchema: OPTIONS_SCHEMA,
  resolve: resolveConfig,
  build: (spec, weights) => new SoftSharingNetwork(spec, weights),
});
