import type { JsonSchema } from '../architectures/architecture.js';

/**
 * Task weighting methods: how the per-task losses of a batch become one update of the shared
 * parameters. Laid out as LibMTL's `weighting/` folder: this abstract base, one method a file,
 * chosen by name (`training.weighting.method`) through ./index.ts.
 *
 * A method gets what LibMTL's methods get:
 * - the per-task losses of every batch (masked binary cross-entropy; a task without a label in
 *   the batch has loss 0 and count 0, and must contribute nothing);
 * - its own trainable parameters (e.g. log-variances), which it updates itself after each batch
 *   from those losses ({@link afterBatch});
 * - with `gradients: 'representation'`, the per-task gradients of the loss with respect to the
 *   shared representation (LibMTL's `rep_grad`; see architectures/architecture.ts for where each
 *   architecture puts it), from which it forms the gradient that is back-propagated through the
 *   shared layers ({@link combineGradients}): the right to combine gradients itself. Per-task
 *   gradients with respect to the shared PARAMETERS are not offered: those are mostly the sparse
 *   first layer, and taking them per task would multiply its cost by the number of tasks.
 *
 * Every method reports the task weights it applied, per batch; the trainer stores their epoch
 * means in mhmtl.training_history.
 */

/** What a method knows of the model it weights. */
export interface WeightingContext {
  /** Every task the network predicts, in head order. */
  readonly tasks: readonly string[];
  /** The tasks that are the goal (not auxiliary). */
  readonly mainTasks: readonly string[];
  /** Seed of the method's own random choices (the training seed). */
  readonly seed: number;
  /** The training learning rate (methods with trainable parameters use it for their own optimizer). */
  readonly learningRate: number;
}

/** Per-epoch information. */
export interface WeightingEpochState {
  /** 1-based. */
  epoch: number;
  /** Mean training loss per task of every finished epoch, oldest first, each `[tasks]`. */
  taskLossHistory: readonly Float32Array[];
}

/** One batch's per-task losses: `losses[t]` the masked mean loss, `counts[t]` its known labels. */
export interface BatchLosses {
  losses: Float32Array;
  counts: Float32Array;
}

/** What {@link AbstractWeighting.combineGradients} returns. */
export interface CombinedGradient {
  /** The gradient to back-propagate through the shared layers, same shape as each task's. */
  gradient: Float32Array;
  /**
   * Weights `[tasks]` applied to each task's loss for the task-specific parameters (heads, towers),
   * and reported as the batch's task weights.
   */
  weights: Float32Array;
}

export abstract class AbstractWeighting {
  /** The name the configuration uses. */
  abstract readonly name: string;
  /**
   * 'loss': the method weights the task losses (one backward pass of sum_t w_t L_t);
   * 'representation': it needs each task's gradient with respect to the shared representation.
   */
  abstract readonly gradients: 'loss' | 'representation';

  constructor(protected readonly context: WeightingContext) {}

  /** Called before every epoch (DWA recomputes its weights here). */
  beginEpoch(_state: WeightingEpochState): void {}

  /**
   * Loss-level methods: the weights `[tasks]` of this batch's task losses, finite and >= 0, chosen
   * before the forward pass. Representation-level methods may return the weights their task-specific
   * parameters would get if the gradients were not combined (default all 1).
   */
  abstract batchWeights(): Float32Array;

  /**
   * Representation-level methods: combine the per-task gradients `[tasks][batch * repWidth]`
   * (each the gradient of that task's loss, unweighted) into one. Called once per batch.
   * @throws Error for a loss-level method (never called for one).
   */
  combineGradients(_grads: readonly Float32Array[], _batch: BatchLosses): CombinedGradient {
    throw new Error(`weighting ${this.name} does not combine gradients`);
  }

  /** After the batch's update: its losses (a method with trainable parameters steps them here). */
  afterBatch(_batch: BatchLosses): void {}

  /** The method and its options, JSON (stored with the model). */
  abstract toJSON(): Record<string, unknown>;
}

/** A registered weighting method: its name, options and their JSON Schema, and how to create it. */
export interface WeightingMethod {
  readonly name: string;
  /** One line: what it is and its source (paper, year). */
  readonly summary: string;
  /** What its instances need from the trainer (as {@link AbstractWeighting.gradients}). */
  readonly gradients: 'loss' | 'representation';
  /**
   * True when the method acts on how the tasks' gradients at the shared representation relate
   * (PCGrad's projections): it refuses an architecture whose tasks share no part of the
   * representation, with which it would be the fixed method with weights 1 (./compatibility.ts).
   */
  readonly needsSharedRepresentation?: boolean;
  /** JSON Schema of the options: the properties of `training.weighting` besides `method` (additionalProperties false). */
  readonly optionsSchema: JsonSchema;
  /** @throws UsageError naming the option on a bad value. */
  create(context: WeightingContext, options: Record<string, unknown>): AbstractWeighting;
}

/** Inner product of two vectors of the same length, accumulated in double precision. */
export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
}

/** `scale * softmax(values)`, computed stably (max subtracted), `[values.length]`. */
export function scaledSoftmax(values: readonly number[], scale: number): Float32Array {
  const max = Math.max(...values);
  const e = values.map((v) => Math.exp(v - max));
  const sum = e.reduce((s, v) => s + v, 0);
  return Float32Array.from(e, (v) => (scale * v) / sum);
}

/** The options schema of a method without options. */
export const NO_OPTIONS_SCHEMA = { type: 'object', additionalProperties: false, properties: {} } as const;
