import { Ajv, type ValidateFunction } from 'ajv';
import { UsageError } from '../../errors.js';
import type { AbstractWeighting, WeightingContext, WeightingMethod } from './abstract-weighting.js';
import { dwa } from './dwa.js';
import { fixed } from './fixed.js';
import { gradnorm } from './gradnorm.js';
import { pcgrad } from './pcgrad.js';
import { rlw } from './rlw.js';
import { uncertainty } from './uncertainty.js';

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

/** The default method (a pipeline without `training.weighting`). */
export const DEFAULT_WEIGHTING = 'fixed';

const REGISTRY = new Map<string, WeightingMethod>(
  [fixed, uncertainty, dwa, gradnorm, pcgrad, rlw].map((m) => [m.name, m]),
);

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

const ajv = new Ajv({ allErrors: false, strict: false });
const validators = new Map<string, ValidateFunction>();

function optionNames(method: WeightingMethod): string[] {
  return Object.keys((method.optionsSchema.properties ?? {}) as object);
}

/**
 * Check a `training.weighting` value: an object whose `method` is registered and whose other
 * properties are options the method's JSON Schema ({@link WeightingMethod.optionsSchema}) accepts.
 * @param path JSON path of the value, for messages.
 * @returns the value, typed.
 * @throws UsageError, one line naming the JSON path of the (first) problem, e.g.
 *   `/training/weighting/temperature: must be > 0, got -1`.
 */
export function checkWeightingConfig(value: unknown, path = '/training/weighting'): WeightingConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new UsageError(
      `${path}: must be an object with a method (known: ${weightingMethods().join(', ')})`,
    );
  const { method, ...options } = value as Record<string, unknown>;
  if (typeof method !== 'string')
    throw new UsageError(
      `${path}/method: must name a task weighting (known: ${weightingMethods().join(', ')})`,
    );
  const m = REGISTRY.get(method);
  if (!m)
    throw new UsageError(
      `${path}/method: unknown task weighting '${method}' (known: ${weightingMethods().join(', ')})`,
    );
  let validate = validators.get(method);
  if (!validate) {
    validate = ajv.compile(m.optionsSchema);
    validators.set(method, validate);
  }
  if (!validate(options)) {
    const e = validate.errors![0]!;
    if (e.keyword === 'additionalProperties') {
      const names = optionNames(m);
      throw new UsageError(
        `${path}: ${method} has no option '${(e.params as { additionalProperty: string }).additionalProperty}' (options: ${names.length > 0 ? names.join(', ') : 'none'})`,
      );
    }
    let at: unknown = options;
    for (const key of e.instancePath.split('/').slice(1))
      at = (at as Record<string, unknown>)[key.replace(/~1/g, '/').replace(/~0/g, '~')];
    throw new UsageError(`${path}${e.instancePath}: ${e.message ?? e.keyword}, got ${JSON.stringify(at)}`);
  }
  return value as WeightingConfig;
}

/**
 * One line per method for `--help`: its name, what it is (paper), whether it works at the loss or
 * at the shared representation, and its options with their defaults.
 */
export function describeWeightingMethods(): string[] {
  return [...REGISTRY.values()].map((m) => {
    const props = (m.optionsSchema.properties ?? {}) as Record<string, { default?: unknown }>;
    const options = Object.entries(props).map(([k, p]) =>
      p.default === undefined ? k : `${k} (default ${JSON.stringify(p.default)})`,
    );
    return `${m.name}: ${m.summary}; ${m.gradients} level; options: ${options.length > 0 ? options.join(', ') : 'none'}`;
  });
}

/**
 * Create the task weighting method named by `config.method` (default 'fixed') with the rest of
 * `config` as its options, checked against the method's schema.
 * @throws UsageError for an unknown method or a bad option (naming `/training/weighting/...`).
 */
export function createWeighting(
  config: Partial<WeightingConfig> | undefined,
  context: WeightingContext,
): AbstractWeighting {
  const { method = DEFAULT_WEIGHTING, ...rest } = config ?? {};
  const { method: name, ...options } = checkWeightingConfig({ method, ...rest });
  return getWeightingMethod(name).create(context, options);
}
