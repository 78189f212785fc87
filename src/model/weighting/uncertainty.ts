import {
  AbstractWeighting,
  type BatchLosses,
  type WeightingContext,
  type WeightingMethod,
} from './abstract-weighting.js';
import { OWN_LEARNING_RATE_SCHEMA, TaskParameterAdam } from './own-parameters.js';

/** Options of {@link UncertaintyWeighting}. */
export interface UncertaintyWeightingOptions {
  /** Learning rate of the log-variances (Adam); default the training learning rate. */
  learning_rate?: number;
}

/**
 * Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, "Multi-Task Learning Using
 * Uncertainty to Weigh Losses for Scene Geometry and Semantics", CVPR 2018; LibMTL's `UW`), in the
 * form the paper derives for classification losses (Section 3.2, eq. 10): each task t has a
 * learned observation noise sigma_t, and the multi-task loss is
 *
 *   sum_t  L_t / sigma_t^2  +  log sigma_t   =   sum_t  exp(-s_t) L_t  +  s_t / 2,   s_t = log sigma_t^2
 *
 * (the regression form has 1 / (2 sigma^2)). The log-variances s start at 0 (weights 1, the fixed
 * method's default) and are learned jointly with the network: the task weights of a batch are
 * exp(-s_t), and after the batch each s_t takes an Adam step on d/ds_t = 1/2 - exp(-s_t) L_t (the
 * network's own gradient does not depend on the s_t / 2 term). The stationary point is
 * sigma_t^2 = 2 L_t: a noisier task (a larger loss it cannot reduce) ends with a larger variance
 * and so a smaller weight. A task without a label in the batch (loss 0, count 0) contributes
 * nothing and its s_t does not move (the regularizer alone would drive it up for no reason).
 */
export class UncertaintyWeighting extends AbstractWeighting {
  readonly name = 'uncertainty';
  readonly gradients = 'loss' as const;
  /** s_t = log sigma_t^2, `[tasks]`. */
  private readonly logVariance: Float64Array;
  private readonly optimizer: TaskParameterAdam;

  constructor(
    context: WeightingContext,
    private readonly options: UncertaintyWeightingOptions = {},
  ) {
    super(context);
    this.logVariance = new Float64Array(context.tasks.length);
    this.optimizer = new TaskParameterAdam(
      context.tasks.length,
      options.learning_rate ?? context.learningRate,
    );
  }

  /** The learned variances sigma_t^2 = exp(s_t), `[tasks]`. */
  get variances(): Float64Array {
    return this.logVariance.map(Math.exp);
  }

  /** exp(-s_t) per task. */
  batchWeights(): Float32Array {
    return Float32Array.from(this.logVariance, (s) => Math.exp(-s));
  }

  /** One Adam step of the log-variances of the tasks with labels in the batch. */
  override afterBatch(batch: BatchLosses): void {
    const active = Array.from(batch.counts, (c, t) => c > 0 && Number.isFinite(batch.losses[t]!));
    const grad = Float64Array.from(this.logVariance, (s, t) =>
      active[t] ? 0.5 - Math.exp(-s) * batch.losses[t]! : 0,
    );
    this.optimizer.step(this.logVariance, grad, active);
  }

  toJSON(): Record<string, unknown> {
    return { method: this.name, ...this.options };
  }
}

export const uncertainty: WeightingMethod = {
  name: 'uncertainty',
  summary:
    'homoscedastic uncertainty weighting, classification form: weights 1/sigma^2 learned per task (Kendall, Gal & Cipolla, CVPR 2018)',
  gradients: 'loss',
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { learning_rate: OWN_LEARNING_RATE_SCHEMA },
  },
  create: (context, options) => new UncertaintyWeighting(context, options as UncertaintyWeightingOptions),
};
