import { UsageError } from '../../errors.js';
import type { AbstractWeighting, WeightingContext } from './abstract-weighting.js';
import { FixedWeighting, type FixedWeightingOptions } from './fixed.js';

export type { AbstractWeighting, WeightingContext, WeightingEpochState } from './abstract-weighting.js';
export { FixedWeighting, type FixedWeightingOptions } from './fixed.js';

/** Configuration of task weighting: `{ method: 'fixed', mainTaskWeight?, auxTaskWeight?, weights? }`. */
export type WeightingConfig = { method: 'fixed' } & FixedWeightingOptions;

const REGISTRY: Record<
  string,
  (ctx: WeightingContext, options: Record<string, unknown>) => AbstractWeighting
> = {
  fixed: (ctx, options) => new FixedWeighting(ctx, options as FixedWeightingOptions),
};

/** Names of the registered weighting strategies. */
export function weightingMethods(): string[] {
  return Object.keys(REGISTRY);
}

/**
 * Create the task weighting strategy named by `config.method` (default 'fixed').
 * @throws UsageError for an unknown method.
 */
export function createWeighting(
  config: Partial<WeightingConfig> | undefined,
  context: WeightingContext,
): AbstractWeighting {
  const { method = 'fixed', ...options } = config ?? {};
  const make = REGISTRY[method];
  if (!make)
    throw new UsageError(`unknown task weighting '${method}' (known: ${weightingMethods().join(', ')})`);
  return make(context, options);
}
