import { UsageError } from '../../errors.js';
import type { AbstractWeighting, WeightingContext, WeightingMethod } from './abstract-weighting.js';
import { fixed } from './fixed.js';

export type {
  AbstractWeighting,
  BatchLosses,
  CombinedGradient,
  WeightingContext,
  WeightingEpochState,
  WeightingMethod,
} from './abstract-weighting.js';
export { FixedWeighting, type FixedWeightingOptions } from './fixed.js';

/** A pipeline's `training.weighting`: `{ method, ...options }` (options as the method's schema names them). */
export type WeightingConfig = { method: string } & Record<string, unknown>;

const REGISTRY = new Map<string, WeightingMethod>([[fixed.name, fixed]]);

/** Names of the registered weighting methods. */
export function weightingMethods(): string[] {
  return [...REGISTRY.keys()];
}

/** The weighting method registered under `name`. @throws UsageError for an unknown name. */
export function getWeightingMethod(name: string): WeightingMethod {
  const m = REGISTRY.get(name);
  if (!m) throw new UsageError(`unknown task weighting '${name}' (known: ${weightingMethods().join(', ')})`);
  return m;
}

/**
 * Create the task weighting method named by `config.method` (default 'fixed') with the rest of
 * `config` as its options.
 * @throws UsageError for an unknown method or a bad option.
 */
export function createWeighting(
  config: Partial<WeightingConfig> | undefined,
  context: WeightingContext,
): AbstractWeighting {
  const { method = 'fixed', ...options } = config ?? {};
  return getWeightingMethod(String(method)).create(context, options);
}
