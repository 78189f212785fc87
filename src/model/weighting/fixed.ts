import { UsageError } from '../../errors.js';
import { AbstractWeighting, type WeightingContext } from './abstract-weighting.js';

/** Options of {@link FixedWeighting}. */
export interface FixedWeightingOptions {
  /** Weight of every main (non-auxiliary) task; default 1. */
  mainTaskWeight?: number;
  /** Weight of every auxiliary task; default 1. */
  auxTaskWeight?: number;
  /** Per-task weights, overriding the two above. */
  weights?: Record<string, number>;
}

/**
 * Fixed task weights from the configuration: lambda_t constant through training. Benton, Mitchell
 * & Hovy (EACL 2017, Section 4) weight the main task's loss against the auxiliary tasks' with such
 * a fixed hyperparameter; equal weights (all 1) are the plain hard-sharing loss of Caruana (1997).
 */
export class FixedWeighting extends AbstractWeighting {
  readonly name = 'fixed';
  private readonly lambda: Float32Array;

  /** @throws UsageError when a weight is negative or not finite, or names an unknown task. */
  constructor(
    context: WeightingContext,
    private readonly options: FixedWeightingOptions = {},
  ) {
    super(context);
    const main = new Set(context.mainTasks);
    for (const name of Object.keys(options.weights ?? {})) {
      if (!context.tasks.includes(name)) throw new UsageError(`task weight for unknown task '${name}'`);
    }
    this.lambda = Float32Array.from(context.tasks, (t) => {
      const w =
        options.weights?.[t] ?? (main.has(t) ? (options.mainTaskWeight ?? 1) : (options.auxTaskWeight ?? 1));
      if (!Number.isFinite(w) || w < 0) throw new UsageError(`task weight of '${t}' must be >= 0, got ${w}`);
      return w;
    });
  }

  weights(): Float32Array {
    return this.lambda.slice();
  }

  toJSON(): Record<string, unknown> {
    return { method: this.name, ...this.options };
  }
}
