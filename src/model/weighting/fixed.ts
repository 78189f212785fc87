import { UsageError } from '../../errors.js';
import { AbstractWeighting, type WeightingContext, type WeightingMethod } from './abstract-weighting.js';

/** Options of {@link FixedWeighting} (as a pipeline's `training.weighting` or `tasks` section writes them). */
export interface FixedWeightingOptions {
  /** Weight of every main (non-auxiliary) task; default 1. */
  main_weight?: number;
  /** Weight of every auxiliary task; default 1. */
  aux_weight?: number;
  /** Per-task weights, overriding the two above. */
  weights?: Record<string, number>;
}

/**
 * Fixed task weights from the configuration: w_t constant through training. Benton, Mitchell &
 * Hovy (EACL 2017, Section 4) weight the main tasks' loss against the auxiliary task's with such a
 * fixed hyperparameter; equal weights (all 1) are the plain hard-sharing loss of Caruana (1997)
 * (LibMTL's `EW`).
 */
export class FixedWeighting extends AbstractWeighting {
  readonly name = 'fixed';
  readonly gradients = 'loss' as const;
  private readonly lambda: Float32Array;

  /**
   * A per-task weight for a task this model does not predict is ignored: one weighting serves every
   * model of a run (MTL, MTL without auxiliary tasks, STL per task), so `weights` names tasks of the
   * run; the pipeline checks those names (src/pipeline/weighting.ts).
   * @throws UsageError when a weight is negative or not finite.
   */
  constructor(
    context: WeightingContext,
    private readonly options: FixedWeightingOptions = {},
  ) {
    super(context);
    const main = new Set(context.mainTasks);
    this.lambda = Float32Array.from(context.tasks, (t) => {
      const w =
        options.weights?.[t] ?? (main.has(t) ? (options.main_weight ?? 1) : (options.aux_weight ?? 1));
      if (!Number.isFinite(w) || w < 0) throw new UsageError(`task weight of '${t}' must be >= 0, got ${w}`);
      return w;
    });
  }

  batchWeights(): Float32Array {
    return this.lambda.slice();
  }

  toJSON(): Record<string, unknown> {
    return { method: this.name, ...this.options };
  }
}

export const fixed: WeightingMethod = {
  name: 'fixed',
  summary: 'fixed task weights (main_weight, aux_weight, per-task weights; all 1 by default)',
  gradients: 'loss',
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      main_weight: { type: 'number', minimum: 0, default: 1, description: 'weight of every main task' },
      aux_weight: { type: 'number', minimum: 0, default: 1, description: 'weight of every auxiliary task' },
      weights: {
        type: 'object',
        additionalProperties: { type: 'number', minimum: 0 },
        description: 'per-task weights, overriding main_weight and aux_weight',
      },
    },
  },
  create: (context, options) => new FixedWeighting(context, options as FixedWeightingOptions),
};
