import {
  AbstractWeighting,
  type BatchLosses,
  type CombinedGradient,
  dot,
  type WeightingContext,
  type WeightingMethod,
} from './abstract-weighting.js';
import { OWN_LEARNING_RATE_SCHEMA, TaskParameterAdam } from './own-parameters.js';

/** Options of {@link GradNormWeighting}. */
export interface GradNormOptions {
  /** Asymmetry alpha (>= 0): how strongly tasks that train slower are pulled up; default 1.5. */
  alpha?: number;
  /** Learning rate of the task weights (Adam); default the training learning rate. */
  learning_rate?: number;
}

/** LibMTL's default asymmetry (the paper uses 0.12 to 1.5 depending on the data set). */
export const GRADNORM_DEFAULT_ALPHA = 1.5;

/**
 * GradNorm (Chen, Badrinarayanan, Lee & Rabinovich, "GradNorm: Gradient Normalization for
 * Adaptive Loss Balancing in Deep Multitask Networks", ICML 2018, Section 3; LibMTL's `GradNorm`):
 * the loss weights w_t are learned so that each task's weighted gradient norm G_t = |w_t g_t|
 * approaches a common scale times the task's relative inverse training rate:
 *
 *   target_t = mean(G) r_t^alpha,   r_t = (L_t / L_t(0)) / mean_i (L_i / L_i(0)),
 *   L_grad = sum_t |G_t - target_t|   (target held constant),   dL_grad/dw_t = sign(G_t - target_t) |g_t|,
 *
 * one Adam step of w on that gradient after every batch, then w renormalized so that it keeps
 * its sum (K, the number of tasks, from the start at w = 1). L_t(0) is the task's loss in the first
 * batch that has a label for it (the paper's loss at initialization). The update of the shared
 * layers is sum_t w_t g_t and the task-specific parameters (heads) get w_t, as with the loss
 * sum_t w_t L_t.
 *
 * Representation level: g_t is the gradient of L_t at the shared representation (`[batch x
 * repWidth]`, its norm over all entries), as LibMTL's `rep_grad` option computes it. The paper
 * takes the norms at the last shared layer's weights W to keep the cost low (Section 3.2); the
 * representation is that layer's output, so its gradient carries the same per-task scale, and it
 * comes from the T passes through the task-specific part only. Taking them at the shared
 * parameters instead would mean T backward passes through the sparse first layer
 * (vocabulary x width), multiplying its cost by the number of tasks.
 *
 * A task without a label in the batch (count 0, zero gradient) is left out of the means and its
 * weight does not move; the others' are renormalized among themselves.
 */
export class GradNormWeighting extends AbstractWeighting {
  readonly name = 'gradnorm';
  readonly gradients = 'representation' as const;
  private readonly w: Float64Array;
  private readonly initialLoss: Float64Array;
  private readonly alpha: number;
  private readonly optimizer: TaskParameterAdam;
  /** The pending step of w: its gradient and the tasks it moves (set by combineGradients). */
  private pending: { grad: Float64Array; active: boolean[] } | null = null;

  constructor(
    context: WeightingContext,
    private readonly options: GradNormOptions = {},
  ) {
    super(context);
    const T = context.tasks.length;
    this.w = new Float64Array(T).fill(1);
    this.initialLoss = new Float64Array(T).fill(Number.NaN);
    this.alpha = options.alpha ?? GRADNORM_DEFAULT_ALPHA;
    this.optimizer = new TaskParameterAdam(T, options.learning_rate ?? context.learningRate);
  }

  /** The current task weights w, `[tasks]`. */
  batchWeights(): Float32Array {
    return Float32Array.from(this.w);
  }

  /**
   * sum_t w_t g_t from the per-task gradients `[tasks][batch * repWidth]`, with w; and the gradient
   * of L_grad with respect to w, stepped in {@link afterBatch}.
   */
  override combineGradients(grads: readonly Float32Array[], batch: BatchLosses): CombinedGradient {
    const T = grads.length;
    const n = grads[0]?.length ?? 0;
    const weights = Float32Array.from(this.w);
    const combined = new Float32Array(n);
    const norms = grads.map((g) => Math.sqrt(dot(g, g)));
    const active = norms.map(
      (v, t) => batch.counts[t]! > 0 && v > 0 && batch.losses[t]! > 0 && Number.isFinite(batch.losses[t]!),
    );
    for (let t = 0; t < T; t++) {
      if (!active[t]) continue;
      const g = grads[t]!;
      const wt = weights[t]!;
      for (let k = 0; k < n; k++) combined[k] = combined[k]! + wt * g[k]!;
      if (Number.isNaN(this.initialLoss[t]!)) this.initialLoss[t] = batch.losses[t]!;
    }
    this.pending = null;
    const present = active.flatMap((a, t) => (a ? [t] : []));
    if (present.length >= 2) {
      const G = present.map((t) => this.w[t]! * norms[t]!);
      const meanG = G.reduce((s, v) => s + v, 0) / present.length;
      const ratios = present.map((t) => batch.losses[t]! / this.initialLoss[t]!);
      const meanRatio = ratios.reduce((s, v) => s + v, 0) / present.length;
      const grad = new Float64Array(T);
      present.forEach((t, i) => {
        const target = meanG * (ratios[i]! / meanRatio) ** this.alpha;
        grad[t] = Math.sign(G[i]! - target) * norms[t]!;
      });
      this.pending = { grad, active };
    }
    return { gradient: combined, weights };
  }

  /** The Adam step of w for the tasks of the batch, clipped at 0 and renormalized to their sum before. */
  override afterBatch(_batch: BatchLosses): void {
    if (!this.pending) return;
    const { grad, active } = this.pending;
    this.pending = null;
    let before = 0;
    for (let t = 0; t < this.w.length; t++) if (active[t]) before += this.w[t]!;
    this.optimizer.step(this.w, grad, active);
    let after = 0;
    for (let t = 0; t < this.w.length; t++) {
      if (!active[t]) continue;
      this.w[t] = Math.max(0, this.w[t]!);
      after += this.w[t]!;
    }
    if (after > 0)
      for (let t = 0; t < this.w.length; t++) if (active[t]) this.w[t] = (this.w[t]! * before) / after;
  }

  toJSON(): Record<string, unknown> {
    return { method: this.name, ...this.options };
  }
}

export const gradnorm: WeightingMethod = {
  name: 'gradnorm',
  summary:
    "GradNorm: loss weights learned to balance the tasks' gradient norms at the shared representation (Chen et al., ICML 2018)",
  gradients: 'representation',
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      alpha: {
        type: 'number',
        minimum: 0,
        default: GRADNORM_DEFAULT_ALPHA,
        description:
          'asymmetry: how strongly tasks that train slower are pulled up (0: equal gradient norms)',
      },
      learning_rate: OWN_LEARNING_RATE_SCHEMA,
    },
  },
  create: (context, options) => new GradNormWeighting(context, options as GradNormOptions),
};
