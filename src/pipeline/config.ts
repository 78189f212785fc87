import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { cannotRead, UsageError } from '../errors.js';
import { isoTimeProblem } from '../ingest/repair.js';
import type { CommunityMapping } from '../ingest/types.js';
import { expandLeakageLists } from './leakage.js';
import { checkModelSection } from './model-specs.js';
import { pipelineSchema } from './schema.js';
import { pipelineWeighting } from './weighting.js';

/** One input of a pipeline: files of one kind. Paths are absolute after {@link loadPipeline}. */
export interface PipelineInput {
  kind: 'posts' | 'labels' | 'reddit';
  files: string[];
  format?: 'auto' | 'jsonl' | 'csv' | 'tsv';
  source?: string;
  mapping?: string | CommunityMapping;
  columns?: Record<string, string>;
  max_text_length?: number;
  include_distinguished?: boolean;
}

/** The pipeline's `evaluation.split` (README: Splits). */
export interface SplitOptions {
  /** Default 'stratified'. */
  kind?: 'stratified' | 'temporal' | 'given';
  train?: number;
  dev?: number;
  test?: number;
  /** temporal: order by each unit's last (default) or first post. */
  order_by?: 'last_post' | 'first_post';
  /** given: the file assigning raw user ids to train/dev/test (absolute after loading). */
  file?: string;
  /** given: the raw user id column (default user_id). */
  user_column?: string;
  /** given: the train/dev/test column (default split). */
  column?: string;
}

/** One entry of a pipeline's `models` list: a named model of a kind and its settings. */
export interface ModelEntry {
  name: string;
  kind: 'mtl' | 'stl' | 'lr';
  /** Architecture and its options, merged over the top-level `model` (mtl and stl kinds). */
  model?: Record<string, unknown>;
  /** Auxiliary tasks (mtl kind); default the pipeline's tasks.auxiliary. */
  auxiliary?: string[];
  /** Training options merged over the top-level `training` (mtl and stl kinds). */
  training?: Record<string, unknown>;
  /** Options merged over `training.logistic_regression` (lr kind). */
  logistic_regression?: Record<string, unknown>;
}

/** A pipeline file, as validated by schemas/pipeline.schema.json. */
export interface PipelineConfig {
  name: string;
  description?: string;
  seed?: number;
  /** Folder the relative input paths resolve against (relative to the pipeline file). */
  data_root?: string;
  inputs: PipelineInput[];
  unit?: {
    of_analysis?: 'user' | 'post';
    last_n_posts?: number | null;
    time_window?: { from?: string; to?: string } | null;
  };
  tasks: {
    main: string[];
    auxiliary?: string[];
    weights?: Record<string, number>;
    main_weight?: number;
    aux_weight?: number;
  };
  /** Plain strings once loaded (list files expanded by src/pipeline/leakage.ts). */
  masked_terms?: string[];
  /** Communities whose posts are dropped before documents are built. */
  exclude_communities?: string[];
  /** PostgreSQL regular expressions: posts whose text matches one are dropped. */
  exclude_patterns?: string[];
  features?: Record<string, unknown>;
  model?: Record<string, unknown>;
  training?: Record<string, unknown>;
  evaluation?: {
    split?: SplitOptions;
    folds?: number | null;
    fprs?: number[];
    bootstrap?: number;
    /** Repeats of the whole split, with seeds derived from the run seed (default 1). */
    repeats?: number;
    /** Least positives and negatives of an evaluated set not to be low support (default 10). */
    min_positives?: number;
    /** [model, reference] pairs to compare (default: see defaultComparisons). */
    compare?: [string, string][];
    /** Terms stored per model, task and direction in mhmtl.task_features (default 20; 0: none). */
    top_terms?: number;
    /** Equal-mass bins of the reliability curves and the ECE (default 10). */
    calibration_bins?: number;
    /** Post-hoc calibration fitted on dev, reported beside the raw scores (default 'none'). */
    calibration?: 'none' | 'platt' | 'isotonic';
    /** Labelled attributes whose values split the test units for per-subgroup metrics (e.g. ['gender']). */
    subgroups?: string[];
  };
  /** Named models; without it, `baselines` is expanded (see modelSpecs). */
  models?: ModelEntry[];
  baselines?: { lr?: boolean; stl?: boolean; mtl_no_aux?: boolean };
}

/** A loaded pipeline: its validated config, where it came from, and a stable hash of the config. */
export interface LoadedPipeline {
  file: string | null;
  config: PipelineConfig;
}

let validator: ReturnType<Ajv['compile']> | undefined;

function validate(value: unknown): ErrorObject[] {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, useDefaults: false, strict: false, verbose: true });
    validator = ajv.compile(pipelineSchema());
  }
  return validator(value) ? [] : [...(validator.errors ?? [])];
}

/** One line per schema error, each naming the JSON path (e.g. `/tasks/main/0`). */
export function describeSchemaErrors(errors: readonly ErrorObject[]): string[] {
  // An `if` keyword fails whenever its `then` does (the architecture's or method's options): the
  // `then` error says what is wrong, the `if` one only that it applied.
  return errors
    .filter((e) => e.keyword !== 'if')
    .map((e) => {
      const where = e.instancePath === '' ? '/' : e.instancePath;
      if (e.keyword === 'additionalProperties') {
        const property = (e.params as { additionalProperty: string }).additionalProperty;
        // An architecture's or weighting method's options (src/pipeline/schema.ts): name it.
        const properties = (
          e.parentSchema as { properties?: Record<string, { const?: unknown }> } | undefined
        )?.properties;
        const selector = Object.entries(properties ?? {}).find(
          ([, v]) => v !== null && typeof v === 'object' && 'const' in v,
        );
        if (selector) {
          const options = Object.keys(properties!).filter((k) => k !== selector[0]);
          return `${where}: ${String(selector[1].const)} has no option '${property}' (options: ${options.length > 0 ? options.join(', ') : 'none'})`;
        }
        return `${where}: unknown property '${property}'`;
      }
      const got = e.data !== null && typeof e.data === 'object' ? '' : `, got ${JSON.stringify(e.data)}`;
      if (e.keyword === 'enum') {
        return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}${got}`;
      }
      if (e.keyword === 'required') return `${where}: ${e.message ?? e.keyword}`;
      return `${where}: ${e.message ?? e.keyword}${got}`;
    });
}

/**
 * Validate a pipeline object and resolve its relative paths: input files against `dataRoot` when
 * given, else against the pipeline's own `data_root` (relative to `pipelineDir`), else against
 * `pipelineDir`; mapping files always against `pipelineDir`.
 * @throws UsageError (one line) listing every schema error with its JSON path, a task listed
 *   as both main and auxiliary, a `unit.time_window` time without a UTC offset, or what
 *   {@link checkModelSection} finds in the models and comparisons.
 */
export function parsePipeline(
  value: unknown,
  pipelineDir: string,
  origin = 'pipeline',
  options: { dataRoot?: string } = {},
): PipelineConfig {
  const errors = validate(value);
  if (errors.length > 0) {
    throw new UsageError(`invalid ${origin}: ${describeSchemaErrors(errors).join('; ')}`);
  }
  const config = structuredClone(value) as PipelineConfig;
  // Times follow the posts' rule: a time without a UTC offset is refused, not taken as UTC.
  for (const k of ['from', 'to'] as const) {
    const time = config.unit?.time_window?.[k];
    const problem = typeof time === 'string' ? isoTimeProblem(time) : null;
    if (problem) throw new UsageError(`invalid ${origin}: /unit/time_window/${k}: ${problem}`);
  }
  const both = (config.tasks.auxiliary ?? []).filter((t) => config.tasks.main.includes(t));
  if (both.length > 0) {
    throw new UsageError(`invalid ${origin}: /tasks/auxiliary: ${both.join(', ')} also listed as main task`);
  }
  try {
    pipelineWeighting(config);
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`invalid ${origin}: ${error.message}`);
    throw error;
  }
  const split = config.evaluation?.split;
  if (split?.kind && split.kind !== 'stratified' && config.evaluation?.folds) {
    throw new UsageError(
      `invalid ${origin}: /evaluation/folds: K folds do not apply to a ${split.kind} split (evaluation.split.kind): remove folds, or use the stratified split`,
    );
  }
  expandLeakageLists(config as Parameters<typeof expandLeakageLists>[0], pipelineDir, `invalid ${origin}`);
  const modelErrors = checkModelSection(config);
  if (modelErrors.length > 0) throw new UsageError(`invalid ${origin}: ${modelErrors.join('; ')}`);
  const dataDir = options.dataRoot
    ? path.resolve(options.dataRoot)
    : path.resolve(pipelineDir, config.data_root ?? '.');
  for (const input of config.inputs) {
    input.files = input.files.map((f) => path.resolve(dataDir, f));
    if (typeof input.mapping === 'string') input.mapping = path.resolve(pipelineDir, input.mapping);
  }
  if (split?.file) split.file = path.resolve(pipelineDir, split.file);
  return config;
}

/**
 * Read and validate a pipeline file. Relative input paths resolve against `dataRoot` when given
 * (so a pipeline can be pointed at data elsewhere), else against the file's `data_root`, else
 * against the file's folder.
 * @throws MhmtlError when the file cannot be read; UsageError when it is not JSON or breaks the schema.
 */
export function loadPipeline(file: string, options: { dataRoot?: string } = {}): LoadedPipeline {
  const absolute = path.resolve(file);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw cannotRead(file, error, 'pipeline file');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`pipeline file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  return {
    file: absolute,
    config: parsePipeline(value, path.dirname(absolute), `pipeline file ${file}`, options),
  };
}
