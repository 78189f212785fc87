/**
 * Task weighting strategies (the loss of a multi-task network is sum_t lambda_t L_t; a strategy
 * chooses the lambda_t). Laid out as LibMTL's `weighting/` folder: an abstract base, one method a
 * file, chosen by name in the configuration (see ./index.ts).
 */
export interface WeightingContext {
  /** Every task the network predicts, in head order. */
  readonly tasks: readonly string[];
  /** The tasks that are the goal (not auxiliary). */
  readonly mainTasks: readonly string[];
}

/** Per-epoch information a dynamic strategy may use (fixed weights ignore it). */
export interface WeightingEpochState {
  epoch: number;
  /** Mean training loss per task of the previous epoch, `[tasks]`, or null before the first. */
  previousTaskLoss: Float32Array | null;
}

export abstract class AbstractWeighting {
  /** The name the configuration uses. */
  abstract readonly name: string;

  constructor(protected readonly context: WeightingContext) {}

  /** Task weights lambda_t for the coming epoch, `[tasks]`, non-negative and finite. */
  abstract weights(state: WeightingEpochState): Float32Array;

  /** The options to store with the model, JSON. */
  abstract toJSON(): Record<string, unknown>;
}
