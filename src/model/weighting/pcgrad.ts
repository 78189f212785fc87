import { Random } from '../random.js';
import {
  AbstractWeighting,
  type BatchLosses,
  type CombinedGradient,
  type WeightingContext,
  dot,
  NO_OPTIONS_SCHEMA,
  type WeightingMethod,
} from './abstract-weighting.js';

/** Salt of PCGrad's task-order generator (derived from the training seed). */
export const PCGRAD_SALT = 0x50434772;

/**
 * Projecting conflicting gradients, "gradient surgery" (Yu, Kumar, Gupta, Levine, Hausman & Finn,
 * "Gradient Surgery for Multi-Task Learning", NeurIPS 2020, Algorithm 1; LibMTL's `PCGrad`): for
 * each task i, its gradient g_i is projected, task by task in a random order, onto the normal plane
 * of every other task's gradient g_j it conflicts with,
 *
 *   if g_i^PC . g_j < 0:   g_i^PC <- g_i^PC - (g_i^PC . g_j / |g_j|^2) g_j,
 *
 * and the update is sum_i g_i^PC. With two tasks, the combined gradient then has a non-negative
 * inner product with each task's gradient (|g_1|^2 - (g_1.g_2)^2/|g_2|^2 >= 0 by Cauchy-Schwarz).
 *
 * Representation level. The paper projects the gradients of the shared parameters. Here they are
 * the per-task gradients of the loss at the shared representation (`[batch x repWidth]`, LibMTL's
 * `rep_grad`; architectures/architecture.ts says where each architecture puts it), and the combined
 * one is back-propagated through the shared layers. Why: most shared parameters are the sparse
 * first layer (vocabulary x width); a gradient per task there would take T backward passes through
 * it and T dense copies of its touched rows, multiplying its cost by the number of tasks, while the
 * representation's gradients come from T passes through the small task-specific part only. Every
 * shared parameter's gradient is a linear function of the representation's, so agreement is
 * measured where the tasks meet. (LibMTL refuses PCGrad with rep_grad; the projection at the
 * representation is the cheaper approximation of the same surgery.)
 *
 * The sum is a linear combination of the original gradients, sum_j w_j g_j with
 * w_j = 1 - sum_i (the coefficients of g_j subtracted from the g_i), w_j >= 1; those are the weights
 * the task-specific parameters (heads) get, as with surgery on the whole gradient vector, and the
 * weights reported. Tasks without a label in the batch have a zero gradient: nothing is projected
 * on them and they project nothing. The task orders are drawn from a generator seeded from the
 * training seed.
 */
export class PCGradWeighting extends AbstractWeighting {
  readonly name = 'pcgrad';
  readonly gradients = 'representation' as const;
  private readonly random: Random;

  constructor(context: WeightingContext) {
    super(context);
    this.random = new Random(context.seed ^ PCGRAD_SALT);
  }

  /** All 1 (the heads' weights when no gradient conflicts). */
  batchWeights(): Float32Array {
    return new Float32Array(this.context.tasks.length).fill(1);
  }

  /**
   * PCGrad's combined gradient from the per-task gradients `[tasks][batch * repWidth]`, and the
   * weights `[tasks]` of the linear combination it is. Computed in the space of the coefficients:
   * every projected g_i^PC is a combination of the original gradients, so its inner products follow
   * from their Gram matrix (T(T+1)/2 inner products over the representation, then O(T^3) on
   * numbers, then one combination), instead of T(T-1) passes over the representation.
   */
  override combineGradients(grads: readonly Float32Array[], batch: BatchLosses): CombinedGradient {
    const T = grads.length;
    const n = grads[0]?.length ?? 0;
    const gram = Array.from({ length: T }, () => new Float64Array(T));
    for (let i = 0; i < T; i++) {
      if (!(batch.counts[i]! > 0)) continue;
      for (let j = i; j < T; j++) {
        if (!(batch.counts[j]! > 0)) continue;
        const d = dot(grads[i]!, grads[j]!);
        gram[i]![j] = d;
        gram[j]![i] = d;
      }
    }
    const weights = new Float64Array(T).fill(1);
    const coef = new Float64Array(T);
    const others: number[] = [];
    for (let i = 0; i < T; i++) {
      if (gram[i]![i] === 0) continue;
      // g_i^PC = sum_k coef[k] g_k, starting from g_i
      coef.fill(0);
      coef[i] = 1;
      others.length = 0;
      for (let j = 0; j < T; j++) if (j !== i && gram[j]![j]! > 0) others.push(j);
      this.random.shuffle(others);
      for (const j of others) {
        let d = 0;
        for (let k = 0; k < T; k++) d += coef[k]! * gram[k]![j]!;
        if (d >= 0) continue;
        const c = d / gram[j]![j]!;
        coef[j] = coef[j]! - c;
        weights[j] = weights[j]! - c;
      }
    }
    const combined = new Float64Array(n);
    for (let j = 0; j < T; j++) {
      if (gram[j]![j] === 0) continue;
      const g = grads[j]!;
      const w = weights[j]!;
      for (let k = 0; k < n; k++) combined[k] = combined[k]! + w * g[k]!;
    }
    return { gradient: Float32Array.from(combined), weights: Float32Array.from(weights) };
  }

  toJSON(): Record<string, unknown> {
    return { method: this.name };
  }
}

export const pcgrad: WeightingMethod = {
  name: 'pcgrad',
  summary:
    'projecting conflicting gradients at the shared representation, task order seeded (Yu et al., NeurIPS 2020)',
  gradients: 'representation',
  needsSharedRepresentation: true,
  optionsSchema: NO_OPTIONS_SCHEMA,
  create: (context) => new PCGradWeighting(context),
};
