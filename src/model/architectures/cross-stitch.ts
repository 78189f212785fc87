import type * as tf from '@tensorflow/tfjs';
import type { LayersGraph } from '../io/layers-graph.js';
import type { Architecture, JsonSchema, NetworkSpec, TaskRelation } from './architecture.js';
import {
  addMixing,
  checkBooleanOption,
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

/**
 * Cross-stitch networks (Misra, Shrivastava, Gupta & Hebert, "Cross-stitch Networks for
 * Multi-task Learning", CVPR 2016): one tower per task (./towers.ts), and after each hidden layer
 * l a cross-stitch unit, a learned linear mixing of the towers' activations,
 *
 *   x~_t = sum_s alpha_l[t, s] x_s           (alpha_l [T, T]; x_s tower s's layer-l output)
 *
 * which tower t's next layer (or head) reads. Sharing is learned per layer: alpha_l = I is
 * independent towers, a constant matrix of 1/T a shared layer. As the paper (Section 5.1),
 * alpha starts near the identity, `alpha_same` on the diagonal and the rest of each row spread
 * evenly (their (alpha_S, alpha_D) = (0.9, 0.1) for two tasks), and the mixing weights learn
 * faster than the towers, in their own parameter group 'mixing' at `mixing_learning_rate_scale`
 * times the learning rate (they scale theirs by 10^2-10^3 with SGD; with Adam, whose steps do not
 * grow with the gradient, 10 is the default here). `mixing_trainable: false` fixes alpha (with
 * `alpha_same: 1`: independent single-task towers). Learned relation: `cross_stitch_alpha`, alpha_l[a, b]
 * per layer (how much of task b's activations task a's tower reads).
 */

/** Options of cross-stitch. */
export interface CrossStitchConfig extends TowerOptions {
  /** Initial alpha_l[t, t], in [0, 1]; default 0.9. */
  alpha_same: number;
  /** Learning-rate scale of the mixing weights; default 10. */
  mixing_learning_rate_scale: number;
  /** Whether alpha is trained; default true. */
  mixing_trainable: boolean;
}

export const CROSS_STITCH_DEFAULTS: CrossStitchConfig = {
  ...TOWER_DEFAULTS,
  alpha_same: 0.9,
  mixing_learning_rate_scale: 10,
  mixing_trainable: true,
};

/** JSON Schema of the mixing options shared with sluice. */
export const MIXING_OPTION_SCHEMAS = {
  alpha_same: {
    type: 'number',
    minimum: 0,
    maximum: 1,
    description:
      "initial mixing weight of a unit with itself; the rest of each row of alpha is spread evenly (Misra et al.'s (0.9, 0.1); 1: the identity)",
    default: CROSS_STITCH_DEFAULTS.alpha_same,
  },
  mixing_learning_rate_scale: {
    type: 'number',
    exclusiveMinimum: 0,
    description: 'the mixing weights learn at this times the learning rate (their own parameter group)',
    default: CROSS_STITCH_DEFAULTS.mixing_learning_rate_scale,
  },
  mixing_trainable: {
    type: 'boolean',
    description: 'train the mixing weights (false: fixed at their initial values)',
    default: CROSS_STITCH_DEFAULTS.mixing_trainable,
  },
} as const;

const OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { ...TOWER_OPTION_SCHEMAS, ...MIXING_OPTION_SCHEMAS },
};

/** Check the mixing options. @throws UsageError naming the option. */
export function checkMixingOptions(
  c: Pick<CrossStitchConfig, 'alpha_same' | 'mixing_learning_rate_scale' | 'mixing_trainable'>,
): void {
  checkNumberOption('alpha_same', c.alpha_same, 0, 1);
  checkNumberOption(
    'mixing_learning_rate_scale',
    c.mixing_learning_rate_scale,
    0,
    Number.POSITIVE_INFINITY,
    true,
  );
  checkBooleanOption('mixing_trainable', c.mixing_trainable);
}

function resolveConfig(config: Record<string, unknown>): CrossStitchConfig {
  const c = resolveTowerOptions('cross_stitch', OPTIONS_SCHEMA, CROSS_STITCH_DEFAULTS, config);
  checkMixingOptions(c);
  return c;
}

class CrossStitchNetwork extends TowerNetwork {
  readonly architecture = 'cross_stitch';
  /** alpha_l `[T, T]` after hidden layer l = 1..L. */
  private readonly alphas: tf.Variable[];

  /** @param alphas initial alpha_l, `[T * T]` each (default near the identity). */
  constructor(spec: NetworkSpec, weights: TowerWeights, alphas?: Float32Array[]) {
    const cfg = resolveConfig(spec.config);
    super({ ...spec, config: { ...cfg } }, cfg, weights);
    const T = spec.tasks.length;
    this.alphas = cfg.hidden.map((_, i) =>
      addMixing(
        this.params,
        `cross_stitch_${i + 1}/alpha`,
        alphas?.[i] ?? nearIdentity(T, cfg.alpha_same),
        [T, T],
        cfg.mixing_trainable,
      ),
    );
    this.params.setGroupScale('mixing', cfg.mixing_learning_rate_scale);
  }

  protected override mix(l: number, a: tf.Tensor2D): tf.Tensor2D {
    return mixUnits(a, this.alphas[l - 1]! as tf.Tensor2D, this.towers, this.towerOptions.hidden[l - 1]!);
  }

  protected override exportMix(
    graph: LayersGraph,
    l: number,
    outputs: tf.SymbolicTensor[],
  ): tf.SymbolicTensor[] {
    const alpha = this.alphas[l - 1]!.dataSync() as Float32Array;
    return exportMixing(graph, 'cross_stitch', l, outputs, alpha, 1, this.towerOptions.hidden[l - 1]!);
  }

  /** alpha_l, `[T * T]` row-major (a copy). */
  alpha(l: number): Float32Array {
    return (this.alphas[l - 1]!.dataSync() as Float32Array).slice();
  }

  /** `cross_stitch_alpha`: alpha_l[a, b] for every layer and ordered task pair (a = b included). */
  override relations(): TaskRelation[] {
    const T = this.towers;
    return this.alphas.flatMap((_, i) => {
      const alpha = this.alpha(i + 1);
      return Array.from({ length: T * T }, (_, k) => ({
        kind: 'cross_stitch_alpha',
        layer: i + 1,
        taskA: this.tasks[Math.floor(k / T)]!,
        taskB: this.tasks[k % T]!,
        value: alpha[k]!,
      }));
    });
  }
}

/** The `cross_stitch` architecture (registered by name in ./index.ts). */
export const crossStitch: Architecture = towerArchitecture({
  name: 'cross_stitch',
  summary:
    'cross-stitch networks: one tower per task, learned linear mixing of the towers after each layer (Misra et al., CVPR 2016)',
  optionsSchema: OPTIONS_SCHEMA,
  resolve: resolveConfig,
  build: (spec, weights, alphas?: Float32Array[]) => new CrossStitchNetwork(spec, weights, alphas),
  extraFromExport: (weights, cfg, T) =>
    cfg.hidden.map((h, i) => mixingFromExport(weights, 'cross_stitch', i + 1, T, 1, h)),
  extraWarmStart: {
    copied: 'the cross-stitch units',
    set(network, alphas) {
      for (const [i, alpha] of alphas.entries()) network.params.set(`cross_stitch_${i + 1}/alpha`, alpha);
    },
  },
});
