import type { ModelKind } from '../evaluate/comparisons.js';
import { UsageError } from '../errors.js';
import { LogisticRegression, type Model, NeuralModel } from '../model/index.js';
import { checkWeightingArchitecture } from '../model/weighting/compatibility.js';
import type { WeightingConfig } from '../model/weighting/index.js';
import type { ModelSpec } from './model-specs.js';

/**
 * From model settings to models to train: each kind of model says, in one place ({@link KINDS}),
 * how one {@link ModelSpec} becomes the models a run trains, stores and reports. A new kind of model
 * is one entry here (and its name in the pipeline schema's `kind`).
 */

/** One model to train in a run. */
export interface ModelPlan {
  /** Its name in mhmtl.models: the model's name (mtl kind) or `<name>:<task>` (stl, lr kinds). */
  stored: string;
  /** The model it belongs to (the name in the reports); its scores are assembled under this name. */
  model: string;
  kind: ModelKind;
  /** Create it with a repeat's seed (initial weights, shuffling, dropout). */
  create(seed: number): Model;
}

/** The tasks of a run. */
export interface RunTasks {
  main: readonly string[];
  auxiliary: readonly string[];
}

/** How one kind of model is planned. */
interface KindDefinition {
  /** The models of `spec` (one, or one per main task). */
  plan(spec: ModelSpec, tasks: RunTasks): ModelPlan[];
}

const network =
  (spec: ModelSpec, run: RunTasks, tasks: readonly string[], auxTasks: readonly string[]) => (seed: number) =>
    new NeuralModel({
      architecture: spec.architecture,
      architectureConfig: spec.architectureConfig,
      tasks,
      auxTasks,
      runTasks: [...run.main, ...run.auxiliary],
      training: { ...spec.training, seed },
    });

/** One model per main task, stored as `<name>:<task>` and reported as `<name>`. */
const perTask = (spec: ModelSpec, tasks: RunTasks, create: (task: string) => (seed: number) => Model) =>
  tasks.main.map((t) => ({
    stored: `${spec.name}:${t}`,
    model: spec.name,
    kind: spec.kind,
    create: create(t),
  }));

/** The kinds of model, as in Benton, Mitchell & Hovy (EACL 2017, Section 5) and beyond. */
const KINDS: Record<ModelKind, KindDefinition> = {
  /** One multi-task network over the main tasks and the spec's auxiliary tasks. */
  mtl: {
    plan: (spec, tasks) => [
      {
        stored: spec.name,
        model: spec.name,
        kind: 'mtl',
        create: network(spec, tasks, [...tasks.main, ...spec.auxiliary], spec.auxiliary),
      },
    ],
  },
  /** One single-task network (the spec's architecture) per main task. */
  stl: { plan: (spec, tasks) => perTask(spec, tasks, (t) => network(spec, tasks, [t], [])) },
  /** One logistic regression per main task. */
  lr: {
    plan: (spec, tasks) =>
      perTask(
        spec,
        tasks,
        (t) => (seed) => new LogisticRegression([t], { ...spec.logisticRegression, seed }),
      ),
  },
};

/**
 * The models a run trains, in the order of `specs` (one per mtl-kind spec, one per main task for
 * the per-task kinds).
 * @throws UsageError when an auxiliary task is not a task of the run or no main task remains.
 */
export function planModels(specs: readonly ModelSpec[], tasks: RunTasks): ModelPlan[] {
  if (tasks.main.length === 0) throw new UsageError('no main task (every task is auxiliary)');
  for (const s of specs)
    for (const a of s.auxiliary)
      if (!tasks.auxiliary.includes(a))
        throw new UsageError(`${s.path}: auxiliary task '${a}' is not a task`);
  return specs.flatMap((s) => KINDS[s.kind].plan(s, tasks));
}

/**
 * Check every model's settings as training will resolve them (architecture and its options,
 * training options, logistic-regression options), by creating each model once and disposing of
 * it, so that a bad value fails before a run is recorded or anything is ingested.
 * @throws UsageError naming the model's JSON path and the problem.
 */
export function checkModels(specs: readonly ModelSpec[], tasks: RunTasks, seed: number): void {
  for (const s of specs) {
    const [first] = KINDS[s.kind].plan(s, tasks);
    if (!first) continue;
    try {
      first.create(seed).dispose();
      if (s.kind !== 'lr') {
        const modelTasks = s.kind === 'mtl' ? [...tasks.main, ...s.auxiliary] : [tasks.main[0]!];
        checkWeightingArchitecture((s.training.weighting ?? { method: 'fixed' }) as WeightingConfig, {
          architecture: s.architecture,
          architectureConfig: s.architectureConfig,
          tasks: modelTasks,
          auxTasks: s.kind === 'mtl' ? s.auxiliary : [],
        });
      }
    } catch (error) {
      if (error instanceof UsageError) throw new UsageError(`${s.path} (model ${s.name}): ${error.message}`);
      throw error;
    }
  }
}
