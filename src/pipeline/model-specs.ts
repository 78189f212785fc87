import type { ComparisonPair, ModelKind } from '../evaluate/comparisons.js';
import type { LogisticRegressionConfig, TrainingConfig } from '../model/index.js';
import type { ModelEntry, PipelineConfig } from './config.js';
import { pipelineWeighting } from './weighting.js';

/**
 * The models of a pipeline, as plain settings: its `models` list, or the `baselines` shorthand
 * expanded (mtl, mtl_no_aux, stl, lr), each resolved against the pipeline's top-level `model`,
 * `training` and `tasks`; and the comparisons between them. Pure and free of TensorFlow.js (only
 * types from src/model), so the CLI checks a pipeline file before loading anything heavy.
 */

/** One model of a run, resolved: what {@link planModels} (models.ts) turns into models to train. */
export interface ModelSpec {
  /** Its name in the reports (an open set; stl and lr kinds store `<name>:<task>` per main task). */
  name: string;
  kind: ModelKind;
  /** Auxiliary tasks it trains on (mtl kind; empty for the others). */
  auxiliary: string[];
  /** Network architecture and its options (mtl and stl kinds). */
  architecture: string;
  architectureConfig: Record<string, unknown>;
  /** Training options, camelCase, without the seed (each repeat gives its own). */
  training: Partial<TrainingConfig>;
  /** Logistic-regression options, camelCase, without the seed (lr kind). */
  logisticRegression: Partial<LogisticRegressionConfig>;
  /** JSON path of the pipeline file that defines it (for error messages). */
  path: string;
}

/** `learning_rate` -> `learningRate`: pipeline files are snake_case, the model's options camelCase. */
export function camelCaseKeys(value: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value ?? {}))
    out[k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

/**
 * `override` over `base`: merged key by key, unless it names another `by` (an architecture, a
 * weighting method) than the base's, whose options would not apply: then `override` alone.
 */
function overrideOf(
  base: Record<string, unknown>,
  override: Record<string, unknown> | undefined,
  by: string,
): Record<string, unknown> {
  if (!override) return { ...base };
  if (override[by] !== undefined && base[by] !== undefined && override[by] !== base[by])
    return { ...override };
  return { ...base, ...override };
}

/**
 * The training block of a model (snake_case, from a pipeline file) as camelCase options, with its
 * task weighting: the model's own `training.weighting` over the pipeline's (src/pipeline/weighting.ts,
 * which folds in the fixed method's options from `tasks`); weighting options stay snake_case, as
 * each method's schema names them. A single-task (stl-kind) model without a weighting of its own
 * uses plain fixed weights: with one task there is nothing to balance, and a learned weight
 * (uncertainty) would only rescale its loss.
 */
function trainingOf(
  base: Record<string, unknown>,
  own: Record<string, unknown> | undefined,
  kind: ModelKind,
  config: PipelineConfig,
): Partial<TrainingConfig> {
  const { logistic_regression: _lr, weighting: _w, ...rest } = base;
  const weighting =
    kind === 'stl' && own === undefined
      ? { method: 'fixed' }
      : overrideOf(pipelineWeighting(config), own, 'method');
  return { ...camelCaseKeys(rest), weighting } as unknown as Partial<TrainingConfig>;
}

const TOP_MODEL = (config: PipelineConfig) => ({ architecture: 'hard_sharing', ...(config.model ?? {}) });

/**
 * The pipeline's models: its `models` list, or else the `baselines` shorthand expanded to `mtl`
 * (every auxiliary task), `mtl_no_aux` (mtl kind without auxiliary tasks, when there are any),
 * `stl` and `lr`, each on unless switched off. A model's `model` block is merged over the top-level
 * `model` (replacing it when it names another architecture), its `training` over the top-level
 * `training` (its `weighting` over the one made from `tasks`), its `logistic_regression` over
 * `training.logistic_regression`; `auxiliary` defaults to `tasks.auxiliary`.
 * Assumes a config that passed {@link checkModelSection}.
 */
export function modelSpecs(config: PipelineConfig): ModelSpec[] {
  const topTraining = (config.training ?? {}) as Record<string, unknown>;
  const topLr = (topTraining.logistic_regression ?? {}) as Record<string, unknown>;
  const aux = config.tasks.auxiliary ?? [];
  const spec = (entry: ModelEntry, path: string): ModelSpec => {
    const { architecture, ...architectureConfig } = overrideOf(
      TOP_MODEL(config),
      entry.model,
      'architecture',
    );
    return {
      name: entry.name,
      kind: entry.kind,
      auxiliary: entry.kind === 'mtl' ? [...(entry.auxiliary ?? aux)] : [],
      architecture: String(architecture),
      architectureConfig,
      training: trainingOf(
        { ...topTraining, ...(entry.training ?? {}) },
        (entry.training as { weighting?: Record<string, unknown> } | undefined)?.weighting,
        entry.kind,
        config,
      ),
      logisticRegression: camelCaseKeys({
        ...topLr,
        ...(entry.logistic_regression ?? {}),
      }) as Partial<LogisticRegressionConfig>,
      path,
    };
  };
  if (config.models) return config.models.map((m, i) => spec(m, `/models/${i}`));
  const b = config.baselines ?? {};
  const specs = [spec({ name: 'mtl', kind: 'mtl' }, '/model')];
  if (aux.length > 0 && b.mtl_no_aux !== false)
    specs.push(spec({ name: 'mtl_no_aux', kind: 'mtl', auxiliary: [] }, '/baselines/mtl_no_aux'));
  if (b.stl !== false) specs.push(spec({ name: 'stl', kind: 'stl' }, '/baselines/stl'));
  if (b.lr !== false) specs.push(spec({ name: 'lr', kind: 'lr' }, '/baselines/lr'));
  return specs;
}

/** Why a shorthand model is not trained, by name (only without a `models` list). */
function untrainedShorthand(config: PipelineConfig): Map<string, string> {
  const out = new Map<string, string>();
  if (config.models) return out;
  const b = config.baselines ?? {};
  if ((config.tasks.auxiliary ?? []).length === 0)
    out.set('mtl_no_aux', 'the pipeline has no auxiliary task');
  else if (b.mtl_no_aux === false) out.set('mtl_no_aux', 'baselines.mtl_no_aux is false');
  if (b.stl === false) out.set('stl', 'baselines.stl is false');
  if (b.lr === false) out.set('lr', 'baselines.lr is false');
  return out;
}

/**
 * What a pipeline's `models`, `baselines` and `evaluation.compare` say that the schema cannot:
 * one message per problem, each naming the JSON path. Checked: `models` and `baselines` not both;
 * model names unique; `auxiliary` only on mtl-kind models and naming auxiliary tasks of the
 * pipeline; `model` and `training` not on lr-kind models, `logistic_regression` only on them;
 * every name in `compare` a model that is trained, never compared with itself.
 */
export function checkModelSection(config: PipelineConfig): string[] {
  const errors: string[] = [];
  if (config.models && config.baselines)
    errors.push('/baselines: give either models or baselines (its shorthand), not both');
  const aux = config.tasks.auxiliary ?? [];
  const seen = new Set<string>();
  for (const [i, m] of (config.models ?? []).entries()) {
    const at = `/models/${i}`;
    if (seen.has(m.name)) errors.push(`${at}/name: duplicate model name '${m.name}'`);
    seen.add(m.name);
    if (m.auxiliary && m.kind !== 'mtl')
      errors.push(`${at}/auxiliary: only an mtl-kind model has auxiliary tasks (this one is ${m.kind})`);
    for (const [j, t] of (m.kind === 'mtl' ? (m.auxiliary ?? []) : []).entries()) {
      if (!aux.includes(t))
        errors.push(
          `${at}/auxiliary/${j}: '${t}' is not an auxiliary task of the pipeline (tasks.auxiliary)`,
        );
    }
    if (m.kind === 'lr') {
      if (m.model) errors.push(`${at}/model: an lr-kind model has no network (use logistic_regression)`);
      if (m.training) errors.push(`${at}/training: an lr-kind model is set by logistic_regression`);
    } else if (m.logistic_regression) {
      errors.push(`${at}/logistic_regression: only an lr-kind model takes these options`);
    }
  }
  const names = config.models ? config.models.map((m) => m.name) : modelSpecsNames(config);
  const untrained = untrainedShorthand(config);
  for (const [i, pair] of (config.evaluation?.compare ?? []).entries()) {
    for (const [k, name] of pair.entries()) {
      if (names.includes(name)) continue;
      const why = untrained.get(name);
      errors.push(
        why
          ? `/evaluation/compare/${i}/${k}: model '${name}' is not trained (${why})`
          : `/evaluation/compare/${i}/${k}: unknown model '${name}' (models: ${names.join(', ')})`,
      );
    }
    if (pair[0] === pair[1]) errors.push(`/evaluation/compare/${i}: a model is not compared with itself`);
  }
  return errors;
}

function modelSpecsNames(config: PipelineConfig): string[] {
  const untrained = untrainedShorthand(config);
  return ['mtl', 'mtl_no_aux', 'stl', 'lr'].filter((n) => !untrained.has(n));
}

/** The comparisons a pipeline asks for (`evaluation.compare`), or undefined for the defaults. */
export function comparisonPairs(config: PipelineConfig): ComparisonPair[] | undefined {
  return config.evaluation?.compare?.map(([m, r]) => [m, r] as const);
}
