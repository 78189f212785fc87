import type { Backend } from '../db/backend.js';
import {
  type EvaluationInput,
  type EvaluationTask,
  evaluateRun,
  type ModelFamily,
  type RunEvaluation,
} from '../evaluate/evaluate.js';
import {
  crossValidationSplit,
  holdoutSplit,
  SPLIT_DEV,
  SPLIT_TEST,
  SPLIT_TRAIN,
} from '../evaluate/splits.js';
import type { HistoryEntry } from '../evaluate/store.js';
import type { FeatureConfig, UnitSelection } from '../features/config.js';
import { selectRows } from '../features/csr.js';
import { buildFeatures, listUnits, loadLabelMatrix } from '../features/database.js';
import type { TfidfVectorizer } from '../features/tfidf.js';
import {
  type EpochRecord,
  type ModelArtifact,
  NeuralModel,
  planModels,
  type TrainingConfig,
} from '../model/index.js';
import { MhmtlError } from '../errors.js';
import { checkWeightingArchitecture } from '../model/weighting/compatibility.js';
import type { PipelineConfig } from './config.js';
import type { Logger } from './log.js';
import type { StageRunner } from './stages.js';
import { pipelineWeighting } from './weighting.js';
import type { WarmStartPlan, WarmStartSource } from '../model/architectures/architecture.js';

/** `learning_rate` -> `learningRate`: pipeline files are snake_case, the model's options camelCase. */
export function camelCaseKeys(value: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value ?? {}))
    out[k.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase())] = v;
  return out;
}

/** The unit selection of a pipeline (its `unit` section). */
export function unitSelectionOf(config: PipelineConfig): Partial<UnitSelection> {
  const u = config.unit ?? {};
  return {
    unit: u.of_analysis ?? 'user',
    last_n_posts: u.last_n_posts ?? null,
    time_window: u.time_window ? { from: u.time_window.from ?? null, to: u.time_window.to ?? null } : null,
  };
}

/** The feature configuration of a pipeline: its `features` section plus its `masked_terms`. */
export function featureConfigOf(config: PipelineConfig): Partial<FeatureConfig> {
  return { ...(config.features as Partial<FeatureConfig>), masked_terms: config.masked_terms ?? [] };
}

/** What a model trained in a run leaves for storage. */
export interface TrainedModel {
  name: string;
  family: ModelFamily;
  artifact: ModelArtifact;
}

/** What {@link trainAndEvaluate} hands back to the run for its final transaction. */
export interface TrainEvaluateResult {
  input: EvaluationInput;
  evaluation: RunEvaluation;
  history: HistoryEntry[];
  /** The fitted feature space (holdout runs; null for cross-validation, which fits one per fold). */
  featureSpace: { config: Partial<FeatureConfig>; vectorizer: TfidfVectorizer; nUnits: number } | null;
  /** Units of analysis with at least one known label (the ones trained and evaluated on). */
  units: number;
  /** Units found with no known label for any task (left out). */
  unlabelledUnits: number;
  /** What became of a requested warm start: applied, or why not. */
  warmStart: string | null;
}

/** Options of {@link trainAndEvaluate}. */
export interface TrainEvaluateOptions {
  config: PipelineConfig;
  seed: number;
  log: Logger;
  stages: StageRunner;
  signal?: AbortSignal;
  /** Warm-start the shared layers of the `mtl` model from an earlier run's (holdout runs only). */
  warmStart?: WarmStartSource;
  /** Called with each trained model (holdout runs), to store it as soon as it is trained. */
  onModel?: (model: TrainedModel) => Promise<void>;
}

/**
 * Features, models and evaluation of one run, as in Benton, Mitchell & Hovy (EACL 2017, Sections
 * 4-5): units of analysis with their labels; a split at the unit (holdout train/dev/test, or K-fold
 * cross-validation); the feature extractor fitted on the training units only; the multi-task
 * network and its baselines (MTL without auxiliary tasks, STL per task, logistic regression per
 * task) trained on the same features and split; every unit scored; per-task metrics.
 * Stages (timed by `stages`): features, train, evaluate.
 * @throws MhmtlError when no unit has a label for the main tasks, or a stage's own errors.
 */
export async function trainAndEvaluate(
  backend: Backend,
  options: TrainEvaluateOptions,
): Promise<TrainEvaluateResult> {
  const { config, seed, log, stages } = options;
  const main = config.tasks.main;
  const aux = config.tasks.auxiliary ?? [];
  const tasks = [...main, ...aux];
  const selection = unitSelectionOf(config);
  const featureConfig = featureConfigOf(config);

  const { unitIds, y, unlabelled } = await stages.stage('labels', async () => {
    const all = await listUnits(backend, selection);
    const yAll = await loadLabelMatrix(backend, selection, all, tasks);
    const keep: number[] = [];
    for (let i = 0; i < all.length; i++) {
      for (let j = 0; j < tasks.length; j++) {
        if (!Number.isNaN(yAll[i * tasks.length + j]!)) {
          keep.push(i);
          break;
        }
      }
    }
    const y = new Float32Array(keep.length * tasks.length);
    for (const [r, i] of keep.entries()) {
      y.set(yAll.subarray(i * tasks.length, (i + 1) * tasks.length), r * tasks.length);
    }
    log.info(`units: ${keep.length} labelled of ${all.length}`, {
      units: keep.length,
      unlabelled: all.length - keep.length,
    });
    return { unitIds: keep.map((i) => all[i]!), y, unlabelled: all.length - keep.length };
  });
  for (const [j, t] of main.entries()) {
    let known = 0;
    for (let i = 0; i < unitIds.length; i++) if (!Number.isNaN(y[i * tasks.length + j]!)) known++;
    if (known === 0)
      throw new MhmtlError(`main task '${t}' has no labelled unit: check the task names and the labels`);
  }

  const labels = { units: unitIds.length, tasks, y };
  const folds = config.evaluation?.folds ?? null;
  const split = config.evaluation?.split;
  const ratios: [number, number, number] = [split?.train ?? 0.7, split?.dev ?? 0.1, split?.test ?? 0.2];
  const total = ratios[0] + ratios[1] + ratios[2];
  const normalized: [number, number, number] = [ratios[0] / total, ratios[1] / total, ratios[2] / total];
  const assignments = folds
    ? crossValidationSplit(labels, { seed, folds }).assignments
    : [holdoutSplit(labels, { seed, ratios: normalized })];

  const scores: Partial<Record<ModelFamily, Float32Array>> = {};
  const history: HistoryEntry[] = [];
  let featureSpace: TrainEvaluateResult['featureSpace'] = null;
  let warmStartNote: string | null = null;
  let warmStartPlan: WarmStartPlan | null = null;
  const { logistic_regression: lrBlock, ...trainingBlock } = (config.training ?? {}) as {
    logistic_regression?: Record<string, unknown>;
  };
  const training = { ...camelCaseKeys(trainingBlock), seed } as Partial<TrainingConfig>;
  const { architecture = 'hard_sharing', ...architectureConfig } = config.model ?? {};
  // training.weighting as given (its options snake_case), or the fixed method from tasks.*.
  const weighting = pipelineWeighting(config);
  checkWeightingArchitecture(weighting, {
    architecture: architecture as string,
    architectureConfig,
    tasks,
    auxTasks: aux,
  });
  const plans = planModels({
    tasks,
    auxTasks: aux,
    architecture: architecture as string,
    architectureConfig,
    training: { ...training, weighting },
    logisticRegression: { seed, ...camelCaseKeys(lrBlock) },
    baselines: {
      lr: config.baselines?.lr ?? true,
      stl: config.baselines?.stl ?? true,
      mtlNoAux: config.baselines?.mtl_no_aux ?? true,
    },
  });

  for (const [k, assignment] of assignments.entries()) {
    const foldLabel = folds ? ` (fold ${k + 1} of ${folds})` : '';
    const trainRows = rowsWhere(assignment, SPLIT_TRAIN);
    const devRows = rowsWhere(assignment, SPLIT_DEV);
    const testRows = rowsWhere(assignment, SPLIT_TEST);
    const { x, vectorizer } = await stages.stage(folds ? `features_fold${k + 1}` : 'features', async () => {
      const built = await buildFeatures(backend, {
        selection,
        config: featureConfig,
        trainUnitIds: Array.from(trainRows, (i) => unitIds[i]!),
      });
      const position = new Map(built.unitIds.map((u, i) => [u, i]));
      const x = selectRows(
        built.x,
        Int32Array.from(unitIds, (u) => position.get(u)!),
      );
      log.info(
        `features${foldLabel}: ${x.cols} terms, ${x.rows} units, ${(x.indptr[x.rows]! / Math.max(1, x.rows)).toFixed(1)} non-zeros per unit`,
        {
          vocabulary: x.cols,
          units: x.rows,
          nnz: x.indptr[x.rows],
        },
      );
      return { x, vectorizer: built.vectorizer };
    });
    if (!folds) featureSpace = { config: featureConfig, vectorizer, nUnits: trainRows.length };
    await stages.stage(folds ? `train_fold${k + 1}` : 'train', async () => {
      for (const plan of plans) {
        stages.checkpoint(`train ${plan.name}`);
        const model = plan.create();
        if (plan.name === 'mtl' && options.warmStart && !warmStartPlan && model instanceof NeuralModel) {
          const source = options.warmStart;
          warmStartPlan = folds
            ? { ok: false, reason: 'cross-validation runs train one model per fold' }
            : model.planWarmStart(source, vectorizer.vocabulary);
          warmStartNote = warmStartPlan.ok
            ? `warm-started ${warmStartPlan.copied} of mtl from run ${source.runId} (${warmStartPlan.sharedTerms} terms, ${(100 * warmStartPlan.coverage).toFixed(1)}% of the vocabulary, shared)`
            : `no warm start from run ${source.runId}: ${warmStartPlan.reason}; trained from scratch`;
          if (warmStartPlan.ok) log.info(warmStartNote);
          else log.warn(warmStartNote);
          if (warmStartPlan.ok) model.warmStart = warmStartPlan;
        }
        try {
          const result = await model.fit(
            { x, y, tasks, train: trainRows, dev: devRows },
            {
              onEpoch: (r: EpochRecord) => logEpoch(log, plan.name + foldLabel, r),
              ...(options.signal ? { signal: options.signal } : {}),
            },
          );
          log.info(
            `trained ${plan.name}${foldLabel} in ${result.trainSeconds.toFixed(1)} s (best epoch ${result.bestEpoch})`,
            {
              model: plan.name,
              seconds: result.trainSeconds,
              best_epoch: result.bestEpoch,
            },
          );
          const predicted = model.predict(folds ? selectRows(x, testRows) : x);
          scores[plan.family] ??= new Float32Array(unitIds.length * tasks.length).fill(Number.NaN);
          const target = scores[plan.family]!;
          const rows = folds ? testRows : null;
          placeScores(target, tasks, predicted, model.tasks, rows, unitIds.length);
          if (!folds) {
            for (const r of result.history) history.push(...historyEntries(plan.name, r));
            await options.onModel?.({
              name: plan.name,
              family: plan.family,
              artifact: await model.toArtifact(),
            });
          }
        } finally {
          model.dispose();
        }
      }
    });
  }

  const evaluationTasks: EvaluationTask[] = tasks.map((name) => ({ name, auxiliary: aux.includes(name) }));
  const input: EvaluationInput = {
    tasks: evaluationTasks,
    unitIds,
    y,
    design: folds ? { kind: 'cv', assignments } : { kind: 'holdout', split: assignments[0]! },
    scores,
  };
  const evaluation = await stages.stage('evaluate', async () =>
    evaluateRun(input, {
      seed,
      ...(config.evaluation?.bootstrap !== undefined
        ? { bootstrapResamples: config.evaluation.bootstrap }
        : {}),
      ...(config.evaluation?.fprs ? { fprTargets: config.evaluation.fprs } : {}),
    }),
  );
  return {
    input,
    evaluation,
    history,
    featureSpace,
    units: unitIds.length,
    unlabelledUnits: unlabelled,
    warmStart: warmStartNote,
  };
}

function rowsWhere(assignment: Int8Array, code: number): Int32Array {
  const out: number[] = [];
  for (let i = 0; i < assignment.length; i++) if (assignment[i] === code) out.push(i);
  return Int32Array.from(out);
}

/**
 * Copy a model's scores `[rows x modelTasks]` into the run's matrix `[units x tasks]` at the task
 * columns it predicts (and at `rows`, or every row when null).
 */
function placeScores(
  target: Float32Array,
  tasks: readonly string[],
  predicted: Float32Array,
  modelTasks: readonly string[],
  rows: Int32Array | null,
  units: number,
): void {
  const n = rows ? rows.length : units;
  for (const [c, t] of modelTasks.entries()) {
    const j = tasks.indexOf(t);
    for (let i = 0; i < n; i++) {
      const r = rows ? rows[i]! : i;
      target[r * tasks.length + j] = predicted[i * modelTasks.length + c]!;
    }
  }
}

function historyEntries(model: string, r: EpochRecord): HistoryEntry[] {
  const entries: HistoryEntry[] = [{ model, epoch: r.epoch, task: null, devAuc: r.devMeanAuc }];
  for (const [task, loss] of Object.entries(r.loss)) {
    entries.push({ model, epoch: r.epoch, task, loss, devAuc: r.devAuc[task] ?? null });
  }
  return entries;
}

function logEpoch(log: Logger, model: string, r: EpochRecord): void {
  const losses = Object.values(r.loss);
  const meanLoss = losses.length ? losses.reduce((a, b) => a + b, 0) / losses.length : Number.NaN;
  log.debug(
    `  ${model} epoch ${r.epoch}: loss ${meanLoss.toFixed(4)}, dev AUC ${r.devMeanAuc === null ? 'n/a' : r.devMeanAuc.toFixed(3)}, ${Math.round(r.unitsPerSecond)} units/s`,
    { model, epoch: r.epoch, loss: meanLoss, dev_auc: r.devMeanAuc, units_per_second: r.unitsPerSecond },
  );
}
