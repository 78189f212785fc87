import { Random } from '../random.js';
import {
  AbstractWeighting,
  NO_OPTIONS_SCHEMA,
  scaledSoftmax,
  type WeightingContext,
  type WeightingMethod,
} from './abstract-weighting.js';

/** Salt of RLW's generator (derived from the training seed, apart from shuffling and dropout). */
const RLW_SALT = 0x524c57;

/**
 * Random loss weighting (Lin, Ye, Xu, Shi & Zhang, "Reasonable Effectiveness of Random Weighting:
 * A Litmus Test for Multi-Task Learning", TMLR 2022; LibMTL's `RLW`): every batch draws new task
 * weights, lambda = softmax(z) with z ~ N(0, I) (the paper's normal-distribution variant, its
 * default). They are multiplied by the number of tasks K so that they sum to K and average 1 per
 * task, as the fixed method's default weights do (the paper's sum to 1): the learning rate and
 * `training.l2` keep the meaning they have with fixed weights. The draws come from a generator
 * seeded from the training seed: the same seed gives the same weights. A task without a label in
 * the batch has loss 0 and contributes nothing whatever its weight.
 */
export class RandomLossWeighting extends AbstractWeighting {
  readonly name = 'rlw';
  readonly gradients = 'loss' as const;
  private readonly random: Random;

  constructor(context: WeightingContext) {
    super(context);
    this.random = new Random(context.seed ^ RLW_SALT);
  }

  /** K softmax(z), z ~ N(0, I) drawn anew, `[tasks]`. */
  batchWeights(): Float32Array {
    const K = this.context.tasks.length;
    return scaledSoftmax(
      Array.from({ length: K }, () => this.random.normal()),
      K,
    );
  }

  toJSON(): Record<string, unknown> {
    return { method: this.name };
  }
}

export const rlw: WeightingMethod = {
  name: 'rlw',
  summary:
    'random loss weighting: K softmax(z), z ~ N(0, I) drawn every batch, seeded (Lin et al., TMLR 2022)',
  gradients: 'loss',
  optionsSchema: NO_OPTIONS_SCHEMA,
  create: (context) => new RandomLossWeighting(context),
};
