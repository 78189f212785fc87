import { UsageError } from '../errors.js';
import { checkWeightingConfig, DEFAULT_WEIGHTING, type WeightingConfig } from '../model/weighting/index.js';
import type { PipelineConfig } from './config.js';

/** The fixed method's options a pipeline may give in its `tasks` section. */
const TASK_WEIGHT_KEYS = ['main_weight', 'aux_weight', 'weights'] as const;

/**
 * The task weighting of a pipeline: its `training.weighting` (`{ method, ...options }`), or without
 * one the fixed method. `tasks.main_weight`, `tasks.aux_weight` and `tasks.weights` are the fixed
 * method's options (merged into it); with another method they are refused. Checked against the
 * method's JSON Schema; `tasks.weights` must name tasks of the pipeline.
 * @throws UsageError, one line naming the JSON path: an unknown method or option, a value out of
 *   range, a fixed option in `tasks` with another method or given in both places, a weight for an
 *   unknown task.
 */
export function pipelineWeighting(config: PipelineConfig): WeightingConfig {
  const given = (config.training as { weighting?: unknown } | undefined)?.weighting;
  const fromTasks: Record<string, unknown> = {};
  for (const key of TASK_WEIGHT_KEYS) if (config.tasks[key] !== undefined) fromTasks[key] = config.tasks[key];
  const tasks = [...config.tasks.main, ...(config.tasks.auxiliary ?? [])];
  for (const name of Object.keys(config.tasks.weights ?? {}))
    if (!tasks.includes(name))
      throw new UsageError(`/tasks/weights/${name}: not a task of the pipeline (tasks: ${tasks.join(', ')})`);
  if (given === undefined) return checkWeightingConfig({ method: DEFAULT_WEIGHTING, ...fromTasks });
  const weighting = checkWeightingConfig(given);
  for (const key of Object.keys(fromTasks)) {
    if (weighting.method !== 'fixed')
      throw new UsageError(
        `/tasks/${key}: an option of the fixed task weighting, but /training/weighting/method is '${weighting.method}' (remove it, or use method fixed)`,
      );
    if (weighting[key] !== undefined)
      throw new UsageError(`/tasks/${key}: also given as /training/weighting/${key}; give it once`);
  }
  return { ...weighting, ...fromTasks };
}
