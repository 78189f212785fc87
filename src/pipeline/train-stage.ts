import type { Backend } from '../db/backend.js';
import {
  type EvaluationInput,
  type EvaluationTask,
  evaluateRepeats,
  type RunEvaluation,
} from '../evaluate/evaluate.js';
import { addCalibrationAndSubgroups } from '../evaluate/sections.js';
import { SPLIT_DEV, SPLIT_TEST, SPLIT_TRAIN } from '../evaluate/splits.js';
import type { HistoryEntry, TaskFeatureRow } from '../evaluate/store.js';
import type { FeatureConfig, UnitSelection } from '../features/config.js';
import { type CsrMatrix, selectRows } from '../features/csr.js';
import {
  buildFeatures,
  listUnits,
  loadLabelMatrix,
  loadUnitTimes,
  parsePostUnitId,
} from '../features/database.js';
import type { TfidfVectorizer } from '../features/tfidf.js';
import type { TaskRelation, WarmStartPlan, WarmStartSource } from '../model/architectures/architecture.js';
import { type EpochRecord, type ModelArtifact, NeuralModel } from '../model/index.js';
import { MhmtlError } from '../errors.js';
import type { PipelineConfig } from './config.js';
import type { Logger } from './log.js';
import { comparisonPairs, type ModelSpec, modelSpecs } from './model-specs.js';
import { type ModelPlan, planModels, type RunTasks } from './models.js';
import { type GivenSplit, matchGivenSplit } from './given-split.js';
import { designSplits, type RepeatSplit, type SplitData } from './split-design.js';
import type { StageRunner } from './stages.js';
import { DEFAULT_TOP_TERMS, headTerms } from './task-features.js';
import { loadSubgroups } from './subgroups.js';
import type { TrainedUnits } from './transfer-split.js';

export { camelCaseKeys } from './model-specs.js';

/** The unit selection of a pipeline (its `unit` section). */
export function unitSelectionOf(config: PipelineConfig): Partial<UnitSelection> {
  const u = config.unit ?? {};
  return {
    unit: u.of_analysis ?? 'user',
    last_n_posts: u.last_n_posts ?? null,
    time_window: u.time_window ? { from: u.time_window.from ?? null, to: u.time_window.to ?? null } : null,
    exclude_communities: config.exclude_communities ?? [],
    exclude_patterns: config.exclude_patterns ?? [],
  };
}

/** The feature configuration of a pipeline: its `features` section plus its `masked_terms`. */
export function featureConfigOf(config: PipelineConfig): Partial<FeatureConfig> {
  return { ...(config.features as Partial<FeatureConfig>), masked_terms: config.masked_terms ?? [] };
}

/** What a model trained in a run leaves for storage. */
export interface TrainedModel {
  /** Stored name (mhmtl.models.model), reported name and kind. */
  name: string;
  reportedAs: string;
  kind: ModelPlan['kind'];
  artifact: ModelArtifact;
  /** What it learned about how its tasks relate (mhmtl.task_relations). */
  relations: TaskRelation[];
}

/** What {@link trainAndEvaluate} hands back to the run for its final transaction. */
export interface TrainEvaluateResult {
  /** One per repeat, in repeat order. */
  inputs: EvaluationInput[];
  evaluation: RunEvaluation;
  history: HistoryEntry[];
  /** The fitted feature space of the first repeat (holdout runs; null for cross-validation, which fits one per fold). */
  featureSpace: { config: Partial<FeatureConfig>; vectorizer: TfidfVectorizer; nUnits: number } | null;
  /** How the units were split (mhmtl.runs.split_design). */
  splitDesign: Record<string, unknown>;
  /** Units of analysis with at least one known label (the ones trained and evaluated on). */
  units: number;
  /** Units found with no known label for any task (left out). */
  unlabelledUnits: number;
  /** What became of a requested warm start: applied, or why not. */
  warmStart: string | null;
  /** What each head relies on (mhmtl.task_features): every repeat of a holdout run; none for cross-validation. */
  terms: TaskFeatureRow[];
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
  /** Units an earlier run trained or early-stopped on: kept out of every test split (they may train). */
  trainedUnits?: TrainedUnits;
  /** evaluation.split.kind 'given': the file's split, read before the run was recorded. */
  givenSplit?: GivenSplit;
  /** Called with each trained model of the first repeat (holdout runs), to store it as soon as it is trained. */
  onModel?: (model: TrainedModel) => Promise<void>;
}

/** The labelled units of a run: ids `[units]`, labels `[units x tasks]`, and how many had no label. */
async function loadLabels(
  backend: Backend,
  selection: Partial<UnitSelection>,
  tasks: readonly string[],
  main: readonly string[],
  log: Logger,
): Promise<{ unitIds: string[]; y: Float32Array; unlabelled: number }> {
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
  for (const [j, t] of main.entries()) {
    let known = 0;
    for (const i of keep) if (!Number.isNaN(yAll[i * tasks.length + j]!)) known++;
    if (known === 0)
      throw new MhmtlError(`main task '${t}' has no labelled unit: check the task names and the labels`);
  }
  return { unitIds: keep.map((i) => all[i]!), y, unlabelled: all.length - keep.length };
}

/**
 * Features, models and evaluation of one run, as in Benton, Mitchell & Hovy (EACL 2017, Sections
 * 4-5): units of analysis with their labels; a split at the unit (holdout train/dev/test, or K-fold
 * cross-validation), repeated evaluation.repeats times with seeds derived from the run seed; per
 * repeat and fold the feature extractor fitted on the training units only and every model of the
 * pipeline (its `models`, or the baselines shorthand: MTL, MTL without auxiliary tasks, STL and
 * logistic regression per task) trained on the same features and split; every unit scored; per
 * task metrics, comparisons, and comparisons across repeats; in holdout runs, per repeat, the
 * top terms of each head on that repeat's test positives (./task-features.ts, `evaluation.top_terms`).
 * Only the first repeat's models and feature space are stored. Stages (timed by `stages`): labels, features, train, evaluate.
 * @throws MhmtlError when no unit has a label for a main task, or a stage's own errors.
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
  const loaded = await stages.stage('labels', () => loadLabels(backend, selection, tasks, main, log));
  const { unlabelled } = loaded;
  let { unitIds, y } = loaded;
  const splitData: SplitData = {};
  const kind = config.evaluation?.split?.kind ?? 'stratified';
  if (kind === 'given') {
    if (!options.givenSplit) throw new Error('a given split must be read before the run');
    const users = selection.unit === 'post' ? unitIds.map((u) => parsePostUnitId(u)[0]) : unitIds;
    const matched = matchGivenSplit(options.givenSplit, users);
    const r = matched.record as { unknown_users: number; units_not_named: number; users_named: number };
    log.info(
      `given split: ${r.users_named} users named, ${r.unknown_users} of them unknown (not among the labelled units), ${r.units_not_named} labelled units not named (left out)`,
      { unknown_users: r.unknown_users, units_not_named: r.units_not_named },
    );
    if (r.unknown_users > 0)
      log.warn(
        `given split: ${r.unknown_users} users named in the split file are not among the labelled units`,
      );
    unitIds = matched.keep.map((i) => unitIds[i]!);
    const yKept = new Float32Array(matched.keep.length * tasks.length);
    matched.keep.forEach((i, r2) => {
      yKept.set(y.subarray(i * tasks.length, (i + 1) * tasks.length), r2 * tasks.length);
    });
    y = yKept;
    splitData.given = { codes: matched.codes, record: matched.record };
  } else if (kind === 'temporal') {
    const which = config.evaluation?.split?.order_by === 'first_post' ? 'first' : 'last';
    splitData.times = await loadUnitTimes(backend, selection, unitIds, which);
  }
  const labels = { units: unitIds.length, tasks, y };
  const specs = modelSpecs(config);
  const plans = planModels(specs, { main, auxiliary: aux });
  const split = designSplits(labels, unitIds, config, seed, options.trainedUnits, splitData);
  if (kind !== 'stratified') {
    const p = split.record.parts as { train: number; dev: number; test: number };
    log.info(`${kind} split: train ${p.train}, dev ${p.dev}, test ${p.test} units`, { ...p });
  }
  if (options.trainedUnits) {
    const t = split.record.transfer as { units_kept_out_of_test: number };
    log.info(
      `${t.units_kept_out_of_test} units that run ${options.trainedUnits.runId} trained or early-stopped on are kept out of the test split (they may train)`,
      { from_run: options.trainedUnits.runId, units_kept_out_of_test: t.units_kept_out_of_test },
    );
  }
  const R = split.repeats.length;
  if (R > 1)
    log.info(
      `${R} repeats of the split (seeds ${(split.record.seeds as number[]).join(', ')}); models and feature space are stored for the first only`,
    );

  const history: HistoryEntry[] = [];
  const terms: TaskFeatureRow[] = [];
  const topTerms = config.evaluation?.top_terms ?? DEFAULT_TOP_TERMS;
  const inputs: EvaluationInput[] = [];
  let featureSpace: TrainEvaluateResult['featureSpace'] = null;
  let warmStartNote: string | null = null;
  const evaluationTasks: EvaluationTask[] = tasks.map((name) => ({ name, auxiliary: aux.includes(name) }));
  for (const repeat of split.repeats) {
    const scores = new Map<string, Float32Array>();
    const cv = repeat.design.kind === 'cv';
    for (const [k, assignment] of repeat.assignments.entries()) {
      const where = [
        R > 1 ? `repeat ${repeat.repeat + 1} of ${R}` : '',
        cv ? `fold ${k + 1} of ${repeat.assignments.length}` : '',
      ]
        .filter(Boolean)
        .join(', ');
      const suffix = (name: string) =>
        [name, ...(cv ? [`fold${k + 1}`] : []), ...(R > 1 ? [`repeat${repeat.repeat + 1}`] : [])].join('_');
      const label = where ? ` (${where})` : '';
      const rows = {
        train: rowsWhere(assignment, SPLIT_TRAIN),
        dev: rowsWhere(assignment, SPLIT_DEV),
        test: rowsWhere(assignment, SPLIT_TEST),
      };
      const { x, vectorizer } = await stages.stage(suffix('features'), () =>
        foldFeatures(backend, selection, featureConfig, unitIds, rows.train, log, label),
      );
      const first = repeat.repeat === 0 && !cv;
      if (first) featureSpace = { config: featureConfig, vectorizer, nUnits: rows.train.length };
      let warm: WarmStartPlan | null = null;
      if (options.warmStart) {
        warm = warmStartFor(options.warmStart, specs, { main, auxiliary: aux }, vectorizer, cv);
        if (repeat.repeat === 0 && k === 0) {
          warmStartNote = warm.ok
            ? `warm-started ${warm.copied} of mtl from run ${options.warmStart.runId} (${warm.sharedTerms} terms, ${(100 * warm.coverage).toFixed(1)}% of the vocabulary, shared)`
            : `no warm start from run ${options.warmStart.runId}: ${warm.reason}; trained from scratch`;
          if (warm.ok) log.info(warmStartNote);
          else log.warn(warmStartNote);
        }
      }
      await stages.stage(suffix('train'), async () => {
        for (const plan of plans) {
          stages.checkpoint(`train ${plan.stored}`);
          const trained = await trainPlan(plan, {
            x,
            y,
            tasks,
            rows,
            seed: repeat.seed,
            warm,
            cv,
            // What each head relies on: holdout runs only (a cross-validation fold has its own vocabulary).
            terms:
              cv || topTerms === 0
                ? null
                : { n: topTerms, repeat: repeat.repeat, vocabulary: vectorizer.vocabulary },
            log,
            label,
            signal: options.signal,
          });
          const target =
            scores.get(plan.model) ?? new Float32Array(unitIds.length * tasks.length).fill(Number.NaN);
          scores.set(plan.model, target);
          placeScores(target, tasks, trained.scores, trained.tasks, cv ? rows.test : null, unitIds.length);
          if (!cv)
            for (const r of trained.history) history.push(...historyEntries(plan.stored, repeat.repeat, r));
          terms.push(...trained.terms);
          if (first && trained.artifact)
            await options.onModel?.({
              name: plan.stored,
              reportedAs: plan.model,
              kind: plan.kind,
              artifact: trained.artifact,
              relations: trained.relations,
            });
        }
      });
    }
    inputs.push({
      tasks: evaluationTasks,
      unitIds,
      y,
      design: repeat.design,
      models: specs.map((s) => ({ name: s.name, kind: s.kind, auxiliary: s.auxiliary })),
      scores: Object.fromEntries(scores),
    });
  }
  const pairs = comparisonPairs(config);
  const seeds = split.repeats.map((r: RepeatSplit) => r.seed);
  const subgroups = await loadSubgroups(backend, selection, unitIds, config.evaluation?.subgroups ?? []);
  const evaluation = await stages.stage('evaluate', async () => {
    const evaluated = evaluateRepeats(inputs, {
      seeds,
      ...(config.evaluation?.bootstrap !== undefined
        ? { bootstrapResamples: config.evaluation.bootstrap }
        : {}),
      ...(config.evaluation?.fprs ? { fprTargets: config.evaluation.fprs } : {}),
      ...(config.evaluation?.min_positives !== undefined
        ? { minPositives: config.evaluation.min_positives }
        : {}),
      ...(pairs ? { comparisons: pairs } : {}),
      ...(config.evaluation?.calibration_bins !== undefined
        ? { calibrationBins: config.evaluation.calibration_bins }
        : {}),
    });
    // Reliability curves (raw, and recalibrated on dev) and the reports per subgroup value.
    const notes = addCalibrationAndSubgroups(evaluated, inputs, {
      seeds,
      calibration: config.evaluation?.calibration ?? 'none',
      subgroups,
    });
    for (const note of notes) log.warn(note);
    return evaluated;
  });
  return {
    inputs,
    evaluation,
    history,
    featureSpace,
    splitDesign: split.record,
    units: unitIds.length,
    unlabelledUnits: unlabelled,
    warmStart: warmStartNote,
    terms,
  };
}

/** The features of one fold: the vectorizer fitted on the training rows, every unit transformed, in `unitIds` order. */
async function foldFeatures(
  backend: Backend,
  selection: Partial<UnitSelection>,
  featureConfig: Partial<FeatureConfig>,
  unitIds: readonly string[],
  trainRows: Int32Array,
  log: Logger,
  label: string,
): Promise<{ x: CsrMatrix; vectorizer: TfidfVectorizer }> {
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
    `features${label}: ${x.cols} terms, ${x.rows} units, ${(x.indptr[x.rows]! / Math.max(1, x.rows)).toFixed(1)} non-zeros per unit`,
    { vocabulary: x.cols, units: x.rows, nnz: x.indptr[x.rows] },
  );
  return { x, vectorizer: built.vectorizer };
}

/** Whether the `mtl` model can start from the source run's shared layers on this vocabulary. */
function warmStartFor(
  source: WarmStartSource,
  specs: readonly ModelSpec[],
  tasks: RunTasks,
  vectorizer: TfidfVectorizer,
  cv: boolean,
): WarmStartPlan {
  if (cv) return { ok: false, reason: 'cross-validation runs train one model per fold' };
  const mtl = specs.find((s) => s.name === 'mtl');
  if (!mtl) return { ok: false, reason: "this pipeline has no model named 'mtl'" };
  const [plan] = planModels([mtl], tasks);
  const model = plan!.create(0);
  try {
    return model instanceof NeuralModel
      ? model.planWarmStart(source, vectorizer.vocabulary)
      : { ok: false, reason: "the model named 'mtl' is not a network" };
  } finally {
    model.dispose();
  }
}

/** Train one planned model on one fold; its scores on every unit (holdout) or the test rows (cv). */
async function trainPlan(
  plan: ModelPlan,
  fold: {
    x: CsrMatrix;
    y: Float32Array;
    tasks: readonly string[];
    rows: { train: Int32Array; dev: Int32Array; test: Int32Array };
    seed: number;
    warm: WarmStartPlan | null;
    cv: boolean;
    /** Store the top terms of each head (n per direction), or null. */
    terms: { n: number; repeat: number; vocabulary: readonly string[] } | null;
    log: Logger;
    label: string;
    signal: AbortSignal | undefined;
  },
): Promise<{
  scores: Float32Array;
  tasks: readonly string[];
  history: EpochRecord[];
  artifact: ModelArtifact | null;
  relations: TaskRelation[];
  terms: TaskFeatureRow[];
}> {
  const { log, label } = fold;
  const model = plan.create(fold.seed);
  if (plan.stored === 'mtl' && fold.warm?.ok && model instanceof NeuralModel) {
    model.warmStart = fold.warm;
  }
  try {
    const result = await model.fit(
      { x: fold.x, y: fold.y, tasks: fold.tasks, train: fold.rows.train, dev: fold.rows.dev },
      {
        onEpoch: (r: EpochRecord) => logEpoch(log, plan.stored + label, r),
        ...(fold.signal ? { signal: fold.signal } : {}),
      },
    );
    log.info(
      `trained ${plan.stored}${label} in ${result.trainSeconds.toFixed(1)} s (best epoch ${result.bestEpoch})`,
      {
        model: plan.stored,
        seconds: result.trainSeconds,
        best_epoch: result.bestEpoch,
      },
    );
    return {
      scores: model.predict(fold.cv ? selectRows(fold.x, fold.rows.test) : fold.x),
      tasks: model.tasks,
      history: result.history,
      artifact: fold.cv ? null : await model.toArtifact(),
      // What it learned about how the tasks relate, averaged over the training units where it
      // depends on the input (e.g. MMoE's gates).
      relations: fold.cv ? [] : (model.relations?.(selectRows(fold.x, fold.rows.train)) ?? []),
      terms: fold.terms
        ? headTerms(model, {
            reportedAs: plan.model,
            repeat: fold.terms.repeat,
            n: fold.terms.n,
            x: fold.x,
            y: fold.y,
            runTasks: fold.tasks,
            test: fold.rows.test,
            vocabulary: fold.terms.vocabulary,
          })
        : [],
    };
  } finally {
    model.dispose();
  }
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

function historyEntries(model: string, repeat: number, r: EpochRecord): HistoryEntry[] {
  const entries: HistoryEntry[] = [
    { model, repeat, epoch: r.epoch, task: null, devAuc: r.devMeanAuc, devLoss: r.devMeanLoss ?? null },
  ];
  for (const [task, loss] of Object.entries(r.loss)) {
    entries.push({
      model,
      repeat,
      epoch: r.epoch,
      task,
      loss,
      devAuc: r.devAuc[task] ?? null,
      devLoss: r.devLoss?.[task] ?? null,
      weight: r.weights?.[task] ?? null,
    });
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
