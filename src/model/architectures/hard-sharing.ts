import type * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import { exportDenseStack, type LayersExport } from '../io/layers-graph.js';
import { ACTIVATIONS, type Activation } from '../layers/activations.js';
import {
  activateAndDrop,
  addDenseLayer,
  applyDense,
  applyHiddenStack,
  type DenseLayer,
} from '../layers/dense-stack.js';
import type { ForwardContext } from '../layers/forward-context.js';
import { glorotUniform, Random } from '../random.js';
import {
  type Architecture,
  type JsonSchema,
  Network,
  type NetworkSpec,
  type WarmStartPlan,
} from './architecture.js';
import { copyRows, coverageRefusal, sourceWeight, vocabularyMap } from './transfer.js';

/**
 * Hard parameter sharing (Caruana, "Multitask Learning", Machine Learning 28, 1997; as applied to
 * mental-health conditions by Benton, Mitchell & Hovy, "Multitask Learning for Mental Health
 * Conditions with Limited Social Media Data", EACL 2017; LibMTL's `HPS`): every task shares the
 * hidden layers, and each task has its own sigmoid output (head) on top of the last shared layer.
 *
 *   x [batch, features] (sparse TF-IDF)
 *     -> shared_1: the sparse first layer, Dense(hidden[0]) over x, activation, dropout
 *     -> shared_k: Dense(hidden[k-1]), activation, dropout        (k = 2 .. hidden.length)
 *        = the shared representation [batch, hidden[last]]
 *     -> heads: Dense(tasks)   (column t is task t's head; heads are independent)
 *
 * A single-task network (STL) is this architecture with one head. Warm start: the shared layers of
 * an earlier run's hard-sharing model with the same hidden sizes (first-layer rows by term), heads
 * fresh.
 */

/** Options of hard sharing. */
export interface HardSharingConfig {
  /** Sizes of the shared hidden layers; default [256]. */
  hidden: number[];
  /** Activation of the shared layers; default 'relu'. */
  activation: Activation;
  /** Dropout rate after each shared layer during training, in [0, 1); default 0.3. */
  dropout: number;
}

export const HARD_SHARING_DEFAULTS: HardSharingConfig = { hidden: [256], activation: 'relu', dropout: 0.3 };

/** JSON Schema of the options shared by the architectures built on a trunk of hidden layers. */
export const TRUNK_OPTION_SCHEMAS = {
  hidden: {
    type: 'array',
    minItems: 1,
    items: { type: 'integer', minimum: 1 },
    description: 'sizes of the hidden layers, e.g. [256] or [256, 128]',
  },
  activation: { enum: [...ACTIVATIONS], description: 'activation of the hidden layers' },
  dropout: {
    type: 'number',
    minimum: 0,
    exclusiveMaximum: 1,
    description: 'dropout rate after each hidden layer while training',
  },
} as const;

const OPTIONS_SCHEMA: JsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    hidden: { ...TRUNK_OPTION_SCHEMAS.hidden, default: HARD_SHARING_DEFAULTS.hidden },
    activation: { ...TRUNK_OPTION_SCHEMAS.activation, default: HARD_SHARING_DEFAULTS.activation },
    dropout: { ...TRUNK_OPTION_SCHEMAS.dropout, default: HARD_SHARING_DEFAULTS.dropout },
  },
};

/**
 * Check `hidden`, `activation` and `dropout` (the checks every trunk-based architecture shares).
 * @throws UsageError naming the option.
 */
export function checkTrunkOptions(c: { hidden: unknown; activation: unknown; dropout: unknown }): void {
  const hidden = c.hidden as number[];
  if (!Array.isArray(hidden) || hidden.length === 0 || !hidden.every((h) => Number.isInteger(h) && h > 0)) {
    throw new UsageError(
      `hidden must be a non-empty list of positive integers, got ${JSON.stringify(hidden)}`,
    );
  }
  if (!ACTIVATIONS.includes(c.activation as Activation)) {
    throw new UsageError(`unknown activation '${String(c.activation)}' (known: ${ACTIVATIONS.join(', ')})`);
  }
  const dropout = c.dropout as number;
  if (!(dropout >= 0 && dropout < 1)) throw new UsageError(`dropout must be in [0, 1), got ${dropout}`);
}

function resolveConfig(config: Record<string, unknown>): HardSharingConfig {
  const known = Object.keys(OPTIONS_SCHEMA.properties as object);
  for (const key of Object.keys(config))
    if (!known.includes(key))
      throw new UsageError(`hard_sharing has no option '${key}' (options: ${known.join(', ')})`);
  const c = { ...HARD_SHARING_DEFAULTS, ...config } as HardSharingConfig;
  checkTrunkOptions(c);
  return { hidden: [...c.hidden], activation: c.activation, dropout: c.dropout };
}

/** Initial weights of a hard-sharing network, in export order: [W1, b1, ..., W_heads, b_heads]. */
type StackWeights = Float32Array[];

class HardSharingNetwork extends Network {
  readonly architecture = 'hard_sharing';
  private readonly cfg: HardSharingConfig;
  /** Shared layers 2.. (the first is the sparse layer). */
  private readonly shared: DenseLayer[];
  private readonly heads: DenseLayer;

  constructor(spec: NetworkSpec, weights: StackWeights) {
    const cfg = resolveConfig(spec.config);
    super({ ...spec, config: { ...cfg } }, weights[0]!, weights[1]!);
    this.cfg = cfg;
    const sizes = [...cfg.hidden, spec.tasks.length];
    const layers: DenseLayer[] = [];
    for (let l = 1; l < sizes.length; l++) {
      const name = l === sizes.length - 1 ? 'heads' : `shared_${l + 1}`;
      layers.push(
        addDenseLayer(this.params, name, sizes[l - 1]!, sizes[l]!, {
          kernel: weights[2 * l]!,
          bias: weights[2 * l + 1]!,
        }),
      );
    }
    this.heads = layers.pop()!;
    this.shared = layers;
  }

  encode(z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    const a = activateAndDrop(z1, this.cfg.activation, this.cfg.dropout, ctx);
    return applyHiddenStack(a, this.shared, this.cfg.activation, this.cfg.dropout, ctx);
  }

  decode(rep: tf.Tensor2D): tf.Tensor2D {
    return applyDense(rep, this.heads);
  }

  async exportLayers(): Promise<LayersExport> {
    this.assertLive();
    return exportDenseStack(
      [this.inputDim, ...this.cfg.hidden, this.tasks.length],
      this.cfg.activation,
      this.snapshot(),
    );
  }
}

/** Expected shapes of a hard-sharing network's weights, in export order, by name. */
function weightNames(hidden: readonly number[], inputDim: number, tasks: number): [string, number][] {
  const sizes = [inputDim, ...hidden, tasks];
  const out: [string, number][] = [];
  for (let l = 1; l < sizes.length; l++) {
    const name = l === sizes.length - 1 ? 'heads' : `shared_${l}`;
    out.push([`${name}/kernel`, sizes[l - 1]! * sizes[l]!], [`${name}/bias`, sizes[l]!]);
  }
  return out;
}

/** The `hard_sharing` architecture (registered by name in ./index.ts). */
export const hardSharing: Architecture = {
  name: 'hard_sharing',
  summary:
    'hard parameter sharing: shared hidden layers, one head per task (Caruana 1997; Benton et al., EACL 2017)',
  optionsSchema: OPTIONS_SCHEMA,
  resolveConfig: (config) => ({ ...resolveConfig(config) }),
  create(spec) {
    const cfg = resolveConfig(spec.config);
    const sizes = [spec.inputDim, ...cfg.hidden, spec.tasks.length];
    const random = new Random(spec.seed);
    const weights: Float32Array[] = [];
    for (let l = 1; l < sizes.length; l++) {
      weights.push(glorotUniform(sizes[l - 1]!, sizes[l]!, random), new Float32Array(sizes[l]!));
    }
    return new HardSharingNetwork(spec, weights);
  },
  fromWeights(spec, weights) {
    const cfg = resolveConfig(spec.config);
    return new HardSharingNetwork(
      spec,
      weightNames(cfg.hidden, spec.inputDim, spec.tasks.length).map(([name, n]) =>
        sourceWeight(weights, name, n),
      ),
    );
  },
  warmStart(source, target): WarmStartPlan {
    const from = resolveConfig(source.config);
    const to = resolveConfig(target.config);
    if (from.hidden.join(',') !== to.hidden.join(',')) {
      return {
        ok: false,
        reason: `run ${source.runId} has hidden layers [${from.hidden.join(', ')}], this run [${to.hidden.join(', ')}]`,
      };
    }
    const map = vocabularyMap(source.vocabulary, target.vocabulary);
    const refusal = coverageRefusal(map, source.runId);
    if (refusal) return refusal;
    const h1 = to.hidden[0]!;
    const sourceNames = weightNames(from.hidden, source.vocabulary.length, source.tasks.length);
    const shared = sourceNames
      .slice(0, 2 * to.hidden.length)
      .map(([name, n]) => sourceWeight(source.weights, name, n));
    return {
      ok: true,
      sharedTerms: map.sharedTerms,
      coverage: map.coverage,
      copied: 'the shared layers',
      apply(network) {
        const w1 = network.first.weights.slice();
        copyRows(shared[0]!, w1, h1, map);
        network.first.setWeights(w1, shared[1]!);
        for (let k = 1; k < to.hidden.length; k++) {
          network.params.set(`shared_${k + 1}/kernel`, shared[2 * k]!);
          network.params.set(`shared_${k + 1}/bias`, shared[2 * k + 1]!);
        }
      },
    };
  },
};
