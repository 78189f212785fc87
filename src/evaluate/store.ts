import { type Backend, encodeCopyText, type Session } from '../db/backend.js';
import { MhmtlError, UsageError } from '../errors.js';
import {
  type EvaluatedModel,
  type EvaluationInput,
  foldIdsOf,
  MODEL_KINDS,
  type ModelComparison,
  type ModelKind,
  type ModelSummary,
  type RocRecord,
  type RunEvaluation,
  type TaskReport,
} from './evaluate.js';
import { expectedCalibrationError } from './calibration.js';
import type { CalibrationCurve, SubgroupReport, TaskFeature } from './report-sections.js';
import { SPLIT_NAMES } from './splits.js';

/**
 * The database adapter of the evaluation stage: writes a {@link RunEvaluation} (reports, ROC points,
 * summaries, comparisons, predictions, splits, training history) in one transaction, and reads a
 * run's report back for `mhmtl report`. The only file of src/evaluate that knows SQL.
 */

/** One epoch of one model's training, per task or overall (task null). */
export interface HistoryEntry {
  /** The model's stored name in mhmtl.models: mtl, mtl_no_aux, stl:<task>, lr:<task>, <name>[:<task>]. */
  model: string;
  /** The repeat it was trained in (default 0). */
  repeat?: number;
  epoch: number;
  task: string | null;
  loss?: number | null;
  devLoss?: number | null;
  devAuc?: number | null;
  /** The task's weight in the loss, mean over the epoch's batches (null for the overall row). */
  weight?: number | null;
}

/** Options of {@link writeRunEvaluation}. */
export interface WriteEvaluationOptions {
  /** Training history to store in mhmtl.training_history. */
  history?: readonly HistoryEntry[];
  /** Store per-unit predictions (default true). */
  predictions?: boolean;
}

/** Rows written per table. */
export interface WrittenCounts {
  taskReports: number;
  rocPoints: number;
  summaries: number;
  comparisons: number;
  predictions: number;
  splits: number;
  history: number;
  /** Reliability-curve bins (mhmtl.calibration_bins). */
  calibrationBins: number;
}

const COPY_BATCH = 50_000;

async function copyRows(
  session: Session,
  table: string,
  columns: string[],
  rows: Iterable<unknown[]>,
): Promise<number> {
  let n = 0;
  let batch: unknown[][] = [];
  for (const row of rows) {
    batch.push(row);
    if (batch.length === COPY_BATCH) {
      n += await session.copyFrom(table, columns, encodeCopyText(batch));
      batch = [];
    }
  }
  if (batch.length > 0) n += await session.copyFrom(table, columns, encodeCopyText(batch));
  return n;
}

const num = (x: number | null | undefined): number | null =>
  x === null || x === undefined || !Number.isFinite(x) ? null : x;

/**
 * Write everything of a run's evaluation, replacing what the run had: task_reports, roc_points,
 * model_summaries, model_comparisons, predictions (COPY), splits (COPY) and training_history, for
 * every repeat (`inputs[r]` is repeat r's input; a single input for a run of one repeat). Pass a {@link Session} to
 * write inside the caller's transaction (e.g. together with `finishRun(session, ...)` so that the
 * reports and the `succeeded` status appear together); pass a {@link Backend} to get a transaction of
 * its own. Either way a failure mid-write leaves none of it visible.
 * @throws the database's error (e.g. 23503 when run_id is not in mhmtl.runs); nothing is kept.
 */
export async function writeRunEvaluation(
  target: Backend | Session,
  runId: number,
  inputs: EvaluationInput | readonly EvaluationInput[],
  evaluation: RunEvaluation,
  options: WriteEvaluationOptions = {},
): Promise<WrittenCounts> {
  if ('transaction' in target) {
    return target.transaction((session) => writeRunEvaluation(session, runId, inputs, evaluation, options));
  }
  const s = target;
  for (const table of [
    'task_reports',
    'roc_points',
    'model_summaries',
    'model_comparisons',
    'predictions',
    'splits',
    'training_history',
    'calibration_bins',
  ]) {
    await s.query(`DELETE FROM mhmtl.${table} WHERE run_id = $1`, [runId]);
  }
  const counts: WrittenCounts = {
    taskReports: 0,
    rocPoints: 0,
    summaries: 0,
    comparisons: 0,
    predictions: 0,
    splits: 0,
    history: 0,
    calibrationBins: 0,
  };
  counts.taskReports = await copyRows(
    s,
    'mhmtl.task_reports',
    [
      'run_id',
      'repeat',
      'model',
      'kind',
      'task',
      'split',
      'fold',
      'auxiliary',
      'low_support',
      'ci_null_reason',
      'n',
      'positives',
      'negatives',
      'auc',
      'auc_ci_low',
      'auc_ci_high',
      'bootstrap_used',
      'bootstrap_skipped',
      'tpr_at_fpr',
      'average_precision',
      'threshold',
      'precision',
      'recall',
      'f1',
      'brier',
      'null_reason',
      'delta_auc_lr',
      'delta_auc_stl',
      'ece',
      'subgroup',
      'subgroup_value',
    ],
    [...evaluation.reports, ...(evaluation.subgroupReports ?? [])].map((r) => [
      runId,
      r.repeat,
      r.model,
      r.kind,
      r.task,
      r.split,
      r.fold,
      r.auxiliary,
      r.lowSupport,
      r.ciNullReason,
      r.n,
      r.positives,
      r.negatives,
      num(r.auc),
      num(r.aucCiLow),
      num(r.aucCiHigh),
      r.bootstrapUsed,
      r.bootstrapSkipped,
      r.tprAtFpr,
      num(r.averagePrecision),
      num(r.threshold),
      num(r.precision),
      num(r.recall),
      num(r.f1),
      num(r.brier),
      r.nullReason,
      num(r.deltaAucLr),
      num(r.deltaAucStl),
      num(r.ece),
      r.subgroup ?? '',
      r.subgroupValue ?? '',
    ]),
  );
  /** The key columns of a curve's rows: run_id, repeat, model, task, split, fold. */
  const curveKey = (c: { repeat: number; model: string; task: string; split: string; fold: number }) => [
    runId,
    c.repeat,
    c.model,
    c.task,
    c.split,
    c.fold,
  ];
  counts.calibrationBins = await copyRows(
    s,
    'mhmtl.calibration_bins',
    [
      'run_id',
      'repeat',
      'model',
      'task',
      'split',
      'fold',
      'method',
      'bin',
      'mean_score',
      'positive_rate',
      'count',
    ],
    (evaluation.calibration ?? []).flatMap((c) =>
      c.bins.map((b) => [...curveKey(c), c.method, b.bin, b.meanScore, b.positiveRate, b.count]),
    ),
  );
  counts.rocPoints = await copyRows(
    s,
    'mhmtl.roc_points',
    ['run_id', 'repeat', 'model', 'task', 'split', 'fold', 'point', 'fpr', 'tpr', 'threshold'],
    (function* () {
      for (const c of evaluation.curves) {
        for (let i = 0; i < c.curve.fpr.length; i++) {
          yield [...curveKey(c), i, c.curve.fpr[i], c.curve.tpr[i], c.curve.thresholds[i]];
        }
      }
    })(),
  );
  counts.summaries = await copyRows(
    s,
    'mhmtl.model_summaries',
    [
      'run_id',
      'repeat',
      'model',
      'kind',
      'split',
      'fold',
      'tasks_averaged',
      'tasks_low_support',
      'macro_auc',
      'macro_tpr_at_fpr',
      'macro_average_precision',
      'macro_f1',
      'macro_brier',
      'delta_auc_lr',
      'delta_auc_stl',
      'delta_m',
    ],
    evaluation.summaries.map((m) => [
      runId,
      m.repeat,
      m.model,
      m.kind,
      m.split,
      m.fold,
      m.tasksAveraged,
      m.tasksLowSupport,
      num(m.macroAuc),
      m.macroTprAtFpr,
      num(m.macroAveragePrecision),
      num(m.macroF1),
      num(m.macroBrier),
      num(m.deltaAucLr),
      num(m.deltaAucStl),
      num(m.deltaM),
    ]),
  );

  counts.comparisons = await copyRows(
    s,
    'mhmtl.model_comparisons',
    [
      'run_id',
      'repeat',
      'fold',
      'split',
      'model',
      'reference',
      'task',
      'delta_auc',
      'ci_low',
      'ci_high',
      'p_value',
      'p_holm',
      'method',
      'null_reason',
      'tasks_averaged',
      'tasks_left_out',
      'resamples',
    ],
    evaluation.comparisons.map((c) => [
      runId,
      c.repeat,
      c.fold,
      c.split,
      c.model,
      c.reference,
      c.task,
      num(c.deltaAuc),
      num(c.ciLow),
      num(c.ciHigh),
      num(c.pValue),
      num(c.pHolm),
      c.method,
      c.nullReason,
      c.tasksAveraged,
      c.tasksLeftOut,
      c.resamples,
    ]),
  );

  const perRepeat = Array.isArray(inputs)
    ? (inputs as readonly EvaluationInput[])
    : [inputs as EvaluationInput];
  for (const [repeat, input] of perRepeat.entries()) {
    const written = await writeUnitRows(s, runId, repeat, input, evaluation, options.predictions ?? true);
    counts.predictions += written.predictions;
    counts.splits += written.splits;
  }
  counts.history = await copyRows(
    s,
    'mhmtl.training_history',
    ['run_id', 'repeat', 'model', 'epoch', 'task', 'loss', 'dev_loss', 'dev_auc', 'weight'],
    (options.history ?? []).map((h) => [
      runId,
      h.repeat ?? 0,
      h.model,
      h.epoch,
      h.task,
      num(h.loss),
      num(h.devLoss),
      num(h.devAuc),
      num(h.weight),
    ]),
  );
  return counts;
}

/** Predictions (COPY) and splits (COPY) of one repeat. */
async function writeUnitRows(
  s: Session,
  runId: number,
  repeat: number,
  input: EvaluationInput,
  evaluation: RunEvaluation,
  predictions: boolean,
): Promise<{ predictions: number; splits: number }> {
  const units = input.unitIds.length;
  const design = input.design;
  const foldIds = design.kind === 'cv' ? foldIdsOf(design.assignments, units) : null;
  const tasks = input.tasks.map((t) => t.name);
  let written = 0;
  if (predictions) {
    written = await copyRows(
      s,
      'mhmtl.predictions',
      ['unit_id', 'run_id', 'repeat', 'model', 'task', 'fold', 'split', 'score'],
      (function* () {
        for (const { name: model } of evaluation.models) {
          const scores = input.scores[model];
          if (!scores) continue;
          for (let u = 0; u < units; u++) {
            if (foldIds && foldIds[u] === -1) continue; // train-only: no out-of-fold score
            const fold = foldIds ? foldIds[u]! + 1 : 0;
            const split = foldIds ? 'test' : SPLIT_NAMES[(design as { split: Int8Array }).split[u]!];
            if (split === undefined) continue;
            for (let j = 0; j < tasks.length; j++) {
              const score = scores[u * tasks.length + j]!;
              if (Number.isFinite(score))
                yield [input.unitIds[u], runId, repeat, model, tasks[j], fold, split, score];
            }
          }
        }
      })(),
    );
  }
  const splits = await copyRows(
    s,
    'mhmtl.splits',
    ['unit_id', 'run_id', 'repeat', 'fold', 'split'],
    (function* () {
      const assignments = design.kind === 'cv' ? design.assignments : [design.split];
      for (let k = 0; k < assignments.length; k++) {
        const fold = design.kind === 'cv' ? k + 1 : 0;
        for (let u = 0; u < units; u++) {
          const split = SPLIT_NAMES[assignments[k]![u]!];
          if (split !== undefined) yield [input.unitIds[u], runId, repeat, fold, split];
        }
      }
    })(),
  );
  return { predictions: written, splits };
}

/** A run's metadata as the report shows it. */
export interface ReportRun {
  runId: number;
  pipeline: string;
  status: string;
  seed: number;
  codeVersion: string;
  backend: string;
  dataFingerprint: string | null;
  /** Seconds per stage (from runs.stage_durations; jsonb does not keep the order the stages ran in). */
  stageDurations: Record<string, number>;
  startedAt: Date;
  finishedAt: Date | null;
  /** How the units were split (runs.split_design; null for runs before migration 0009). */
  splitDesign: Record<string, unknown> | null;
}

/** A stored run's evaluation, as read back for `mhmtl report`. */
export interface StoredRunReport {
  run: ReportRun;
  /** The models reported, mtl kind first, then stl, then lr, by name within a kind. */
  models: Pick<EvaluatedModel, 'name' | 'kind'>[];
  /** Number of repeats of the split (1 + the largest stored repeat). */
  repeats: number;
  /** Units per split (holdout: fold 0) or per fold role, of the first repeat; from mhmtl.splits. */
  units: { fold: number; split: string; units: number }[];
  reports: TaskReport[];
  summaries: ModelSummary[];
  curves: RocRecord[];
  comparisons: ModelComparison[];
  /** The run's settings (pipeline config, vocabulary size, each trained model's options); absent when not read. */
  settings?: ReportSettings;
  /** Training history of the first repeat (mhmtl.training_history, per task rows and overall rows). */
  history?: HistoryEntry[];
  /** What the models learned about how their tasks relate (mhmtl.task_relations). */
  relations?: StoredTaskRelation[];
  /** Reliability curves and ECE per model and task (issue 18 item 3); absent for runs without them. */
  calibration?: CalibrationCurve[];
  /** Metrics per subgroup value (issue 18 item 4); absent for runs without subgroups. */
  subgroups?: SubgroupReport[];
  /** The top terms per model and task (issue 18 item 5); absent for runs without them. */
  terms?: TaskFeature[];
}

/** One row of mhmtl.task_relations: a model's learned relation of `kind` between two tasks (or of one task). */
export interface StoredTaskRelation {
  model: string;
  kind: string;
  /** 1-based layer (or expert, for per-expert kinds such as gate_mean); null when not per layer. */
  layer: number | null;
  taskA: string;
  /** null for a per-task value (e.g. gate_mean, sluice_beta, branching). */
  taskB: string | null;
  value: number;
}

/** One trained model as stored in mhmtl.models (the first of a per-task family), for the report's settings. */
export interface ReportModelSetting {
  /** The name the model is reported under (models.family). */
  name: string;
  kind: string;
  architecture: string;
  /** The resolved model options (models.config). */
  config: Record<string, unknown>;
  /** Stored models of this name (1, or one per task for stl- and lr-kind). */
  stored: number;
  /** Training seconds summed over the stored models of this name (null when not recorded). */
  trainSeconds: number | null;
  /** The epoch early stopping kept, of the first stored model (null for LR or when not recorded). */
  bestEpoch: number | null;
}

/** The run's settings as the report shows them. */
export interface ReportSettings {
  /** The pipeline configuration the run was started with (mhmtl.runs.config). */
  config: Record<string, unknown>;
  /** Columns of the fitted feature space (the vocabulary size), null when none was stored. */
  features: number | null;
  /** Units the feature space was fitted on. */
  featureUnits: number | null;
  models: ReportModelSetting[];
}

/**
 * The report's settings, training history (first repeat) and learned task relations of a run, read
 * from mhmtl.runs.config, feature_spaces (sizes only, never the vocabulary), models (options only,
 * never weights), training_history and task_relations.
 */
export async function readReportDetails(
  backend: Backend,
  runId: number,
): Promise<Required<Pick<StoredRunReport, 'settings' | 'history' | 'relations'>>> {
  const run = await backend.db
    .selectFrom('mhmtl.runs')
    .select('config')
    .where('run_id', '=', runId)
    .executeTakeFirst();
  const space = await backend.db
    .selectFrom('mhmtl.feature_spaces')
    .select(['n_features', 'n_units'])
    .where('run_id', '=', runId)
    .executeTakeFirst();
  const models = await backend.db
    .selectFrom('mhmtl.models')
    .select(['model', 'family', 'kind', 'architecture', 'config', 'best_epoch', 'train_seconds'])
    .where('run_id', '=', runId)
    .orderBy('model')
    .execute();
  const history = await backend.db
    .selectFrom('mhmtl.training_history')
    .selectAll()
    .where('run_id', '=', runId)
    .where('repeat', '=', 0)
    .orderBy('model')
    .orderBy('task')
    .orderBy('epoch')
    .execute();
  const relations = await backend.db
    .selectFrom('mhmtl.task_relations')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('model')
    .orderBy('kind')
    .orderBy('layer')
    .execute();
  const parse = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v);
  const byName = new Map<string, ReportModelSetting>();
  for (const m of models) {
    const seen = byName.get(m.family);
    const seconds = m.train_seconds === null ? null : Number(m.train_seconds);
    if (seen) {
      seen.stored += 1;
      if (seconds !== null) seen.trainSeconds = (seen.trainSeconds ?? 0) + seconds;
      continue;
    }
    byName.set(m.family, {
      name: m.family,
      kind: m.kind,
      architecture: m.architecture,
      config: (parse(m.config) as Record<string, unknown> | null) ?? {},
      stored: 1,
      trainSeconds: seconds,
      bestEpoch: m.best_epoch,
    });
  }
  return {
    settings: {
      config: (parse(run?.config) as Record<string, unknown> | null) ?? {},
      features: space ? space.n_features : null,
      featureUnits: space ? space.n_units : null,
      models: [...byName.values()],
    },
    history: history.map((h) => ({
      model: h.model,
      repeat: h.repeat,
      epoch: h.epoch,
      task: h.task,
      loss: h.loss,
      devLoss: h.dev_loss,
      devAuc: h.dev_auc,
      weight: h.weight,
    })),
    relations: relations.map((r) => ({
      model: r.model,
      kind: r.kind,
      layer: r.layer,
      taskA: r.task_a,
      taskB: r.task_b,
      value: r.value,
    })),
  };
}

/**
 * The run to report: `runId` when given (any status), else the latest succeeded run that has task
 * reports (of `pipeline` when given).
 * @throws UsageError when that run does not exist or has no reports, or when no run qualifies.
 */
export async function findReportRun(
  backend: Backend,
  options: { runId?: number; pipeline?: string } = {},
): Promise<number> {
  if (options.runId !== undefined) {
    const r = await backend.db
      .selectFrom('mhmtl.runs')
      .select('run_id')
      .where('run_id', '=', options.runId)
      .executeTakeFirst();
    if (!r) throw new UsageError(`run ${options.runId} does not exist`);
    const has = await backend.db
      .selectFrom('mhmtl.task_reports')
      .select('run_id')
      .where('run_id', '=', options.runId)
      .limit(1)
      .executeTakeFirst();
    if (!has) throw new MhmtlError(`run ${options.runId} has no evaluation reports`, 1);
    return options.runId;
  }
  let q = backend.db
    .selectFrom('mhmtl.runs')
    .select('run_id')
    .where('status', '=', 'succeeded')
    .where('run_id', 'in', backend.db.selectFrom('mhmtl.task_reports').select('run_id'))
    .orderBy('run_id', 'desc')
    .limit(1);
  if (options.pipeline !== undefined) q = q.where('pipeline', '=', options.pipeline);
  const row = await q.executeTakeFirst();
  if (!row) {
    throw new MhmtlError(
      options.pipeline !== undefined
        ? `pipeline '${options.pipeline}' has no succeeded run with evaluation reports`
        : 'no succeeded run with evaluation reports yet (run a pipeline first)',
      1,
    );
  }
  return Number(row.run_id);
}

/** The order of models in a report: kind (mtl, stl, lr), then name. */
function modelOrder(models: readonly Pick<EvaluatedModel, 'name' | 'kind'>[]): (name: string) => number {
  const sorted = [...models].sort(
    (a, b) => MODEL_KINDS.indexOf(a.kind) - MODEL_KINDS.indexOf(b.kind) || a.name.localeCompare(b.name),
  );
  const position = new Map(sorted.map((m, i) => [m.name, i]));
  return (name) => position.get(name) ?? sorted.length;
}

/** Read a run's metadata, reports, summaries, comparisons and ROC curves. @throws UsageError when the run does not exist. */
export async function readRunReport(backend: Backend, runId: number): Promise<StoredRunReport> {
  const run = await backend.db
    .selectFrom('mhmtl.runs')
    .selectAll()
    .where('run_id', '=', runId)
    .executeTakeFirst();
  if (!run) throw new UsageError(`run ${runId} does not exist`);
  const allReports = await backend.db
    .selectFrom('mhmtl.task_reports')
    .selectAll()
    .where('run_id', '=', runId)
    .execute();
  const reports = allReports.filter((r) => r.subgroup === '');
  const subgroupRows = allReports.filter((r) => r.subgroup !== '');
  const bins = await backend.db
    .selectFrom('mhmtl.calibration_bins')
    .selectAll()
    .where('run_id', '=', runId)
    .where('split', '=', 'test')
    .where('fold', '=', 0)
    .orderBy('repeat')
    .orderBy('task')
    .orderBy('model')
    .orderBy('method')
    .orderBy('bin')
    .execute();
  const summaries = await backend.db
    .selectFrom('mhmtl.model_summaries')
    .selectAll()
    .where('run_id', '=', runId)
    .execute();
  const comparisons = await backend.db
    .selectFrom('mhmtl.model_comparisons')
    .selectAll()
    .where('run_id', '=', runId)
    .execute();
  const points = await backend.db
    .selectFrom('mhmtl.roc_points')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('repeat')
    .orderBy('model')
    .orderBy('task')
    .orderBy('split')
    .orderBy('fold')
    .orderBy('point')
    .execute();
  const units = await backend.db
    .selectFrom('mhmtl.splits')
    .select(['fold', 'split', (eb) => eb.fn.countAll<number>().as('units')])
    .where('run_id', '=', runId)
    .where('repeat', '=', 0)
    .groupBy(['fold', 'split'])
    .orderBy('fold')
    .orderBy('split')
    .execute();
  const terms = await backend.db
    .selectFrom('mhmtl.task_features')
    .select(['model', 'task', 'rank', 'term', 'weight'])
    .where('run_id', '=', runId)
    .where('repeat', '=', 0)
    .orderBy('task')
    .orderBy('model')
    .orderBy('direction', 'desc')
    .orderBy('rank')
    .execute();
  const kinds = new Map<string, ModelKind>();
  for (const r of reports) kinds.set(r.model, r.kind);
  const models = [...kinds].map(([name, kind]) => ({ name, kind }));
  const rank = modelOrder(models);
  const order = (
    a: { split: string; fold: number; model: string; task?: string | null; repeat: number | null },
    b: { split: string; fold: number; model: string; task?: string | null; repeat: number | null },
  ) =>
    (a.repeat ?? -1) - (b.repeat ?? -1) ||
    b.split.localeCompare(a.split) ||
    a.fold - b.fold ||
    (a.task ?? '').localeCompare(b.task ?? '') ||
    rank(a.model) - rank(b.model);
  const curves = new Map<string, RocRecord>();
  for (const p of points) {
    const k = JSON.stringify([p.repeat, p.model, p.task, p.split, p.fold]);
    let c = curves.get(k);
    if (!c) {
      c = {
        model: p.model,
        repeat: p.repeat,
        task: p.task,
        split: p.split,
        fold: p.fold,
        curve: { fpr: [], tpr: [], thresholds: [] },
      };
      curves.set(k, c);
    }
    c.curve.fpr.push(p.fpr);
    c.curve.tpr.push(p.tpr);
    c.curve.thresholds.push(p.threshold);
  }
  const calibration = calibrationCurvesOf(bins, rank);
  const parse = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as Record<string, unknown>) : v);
  return {
    ...(await readReportDetails(backend, runId)),
    run: {
      runId: Number(run.run_id),
      pipeline: run.pipeline,
      status: run.status,
      seed: run.seed,
      codeVersion: run.code_version,
      backend: run.backend,
      dataFingerprint: run.data_fingerprint,
      stageDurations: run.stage_durations ?? {},
      startedAt: run.started_at,
      finishedAt: run.finished_at,
      splitDesign: (parse(run.split_design) as Record<string, unknown> | null) ?? null,
    },
    models: [...models].sort((a, b) => rank(a.name) - rank(b.name)),
    repeats: 1 + Math.max(0, ...reports.map((r) => r.repeat)),
    units: units.map((u) => ({ fold: u.fold, split: u.split, units: Number(u.units) })),
    reports: reports.sort(order).map((r) => ({
      model: r.model,
      kind: r.kind,
      repeat: r.repeat,
      task: r.task,
      auxiliary: r.auxiliary,
      split: r.split,
      fold: r.fold,
      lowSupport: r.low_support,
      ciNullReason: r.ci_null_reason,
      n: r.n,
      positives: r.positives,
      negatives: r.negatives,
      nullReason: r.null_reason,
      auc: r.auc,
      aucCiLow: r.auc_ci_low,
      aucCiHigh: r.auc_ci_high,
      bootstrapUsed: r.bootstrap_used,
      bootstrapSkipped: r.bootstrap_skipped,
      tprAtFpr: r.tpr_at_fpr,
      averagePrecision: r.average_precision,
      threshold: r.threshold,
      precision: r.precision,
      recall: r.recall,
      f1: r.f1,
      brier: r.brier,
      deltaAucLr: r.delta_auc_lr,
      deltaAucStl: r.delta_auc_stl,
      ece: r.ece,
    })),
    ...(calibration.length > 0 ? { calibration } : {}),
    ...(subgroupRows.length > 0
      ? {
          subgroups: subgroupRows
            .filter((r) => r.split === 'test' && r.fold === 0)
            .sort(
              (a, b) =>
                a.repeat - b.repeat ||
                a.task.localeCompare(b.task) ||
                rank(a.model) - rank(b.model) ||
                a.subgroup.localeCompare(b.subgroup) ||
                subgroupValueOrder(a.subgroup_value, b.subgroup_value),
            )
            .map((r) => ({
              model: r.model,
              task: r.task,
              repeat: r.repeat,
              subgroup: r.subgroup,
              value: r.subgroup_value,
              n: r.n,
              positives: r.positives,
              auc: r.auc,
              averagePrecision: r.average_precision,
              brier: r.brier,
            })),
        }
      : {}),
    summaries: summaries.sort(order).map((m) => ({
      model: m.model,
      kind: m.kind,
      repeat: m.repeat,
      split: m.split,
      fold: m.fold,
      tasksAveraged: m.tasks_averaged,
      tasksLowSupport: m.tasks_low_support,
      macroAuc: m.macro_auc,
      macroTprAtFpr: m.macro_tpr_at_fpr,
      macroAveragePrecision: m.macro_average_precision,
      macroF1: m.macro_f1,
      macroBrier: m.macro_brier,
      deltaAucLr: m.delta_auc_lr,
      deltaAucStl: m.delta_auc_stl,
      deltaM: m.delta_m,
    })),
    curves: [...curves.values()],
    comparisons: comparisons
      .sort(
        (a, b) =>
          (a.repeat ?? Number.MAX_SAFE_INTEGER) - (b.repeat ?? Number.MAX_SAFE_INTEGER) ||
          a.fold - b.fold ||
          rank(a.model) - rank(b.model) ||
          rank(a.reference) - rank(b.reference) ||
          (a.task === null ? 1 : 0) - (b.task === null ? 1 : 0) ||
          (a.task ?? '').localeCompare(b.task ?? ''),
      )
      .map((c) => ({
        repeat: c.repeat,
        fold: c.fold,
        split: 'test' as const,
        model: c.model,
        reference: c.reference,
        task: c.task,
        deltaAuc: c.delta_auc,
        ciLow: c.ci_low,
        ciHigh: c.ci_high,
        pValue: c.p_value,
        pHolm: c.p_holm,
        method: c.method as ModelComparison['method'],
        nullReason: c.null_reason as ModelComparison['nullReason'],
        tasksAveraged: c.tasks_averaged,
        tasksLeftOut: c.tasks_left_out,
        resamples: c.resamples,
      })),
    // absent when the run stored none (as calibration and subgroups): the report leaves the section out
    ...(terms.length > 0
      ? {
          terms: terms
            .sort((a, b) => a.task.localeCompare(b.task) || rank(a.model) - rank(b.model))
            .map((t) => ({ model: t.model, task: t.task, rank: t.rank, term: t.term, weight: t.weight })),
        }
      : {}),
  };
}

/** One stored top term of a head (a row of mhmtl.task_features). */
export interface TaskFeatureRow extends TaskFeature {
  /** The repeat of the split it was computed in. */
  repeat: number;
  /** How the weight was computed (src/model/attribution.ts). */
  method: 'coefficient' | 'gradient_x_input';
  /** Units averaged over (gradient_x_input: the task's test positives); null for coefficients. */
  units: number | null;
}

/**
 * Write a run's top terms (mhmtl.task_features), replacing what the run had; the direction is
 * the weight's sign. Inside the caller's transaction (the run's final write).
 * @returns rows written. @throws the database's error on a zero weight or a duplicate
 *   (run, repeat, model, task, direction, rank).
 */
export async function writeTaskFeatures(
  session: Session,
  runId: number,
  rows: readonly TaskFeatureRow[],
): Promise<number> {
  await session.query('DELETE FROM mhmtl.task_features WHERE run_id = $1', [runId]);
  return copyRows(
    session,
    'mhmtl.task_features',
    ['run_id', 'repeat', 'model', 'task', 'direction', 'rank', 'term', 'weight', 'method', 'units'],
    rows.map((r) => [
      runId,
      r.repeat,
      r.model,
      r.task,
      r.weight > 0 ? 'toward' : 'away',
      r.rank,
      r.term,
      r.weight,
      r.method,
      r.units,
    ]),
  );
}

/** Subgroup values in order, 'unknown' last. */
function subgroupValueOrder(a: string, b: string): number {
  return a === 'unknown' ? 1 : b === 'unknown' ? -1 : a.localeCompare(b);
}

const METHOD_ORDER = ['raw', 'platt', 'isotonic'];

/** Group calibration_bins rows into curves (repeat, task, model, method), with their ECE. */
function calibrationCurvesOf(
  rows: readonly {
    repeat: number;
    model: string;
    task: string;
    method: CalibrationCurve['method'];
    bin: number;
    mean_score: number;
    positive_rate: number;
    count: number;
  }[],
  rank: (model: string) => number,
): CalibrationCurve[] {
  const curves = new Map<string, CalibrationCurve>();
  for (const r of rows) {
    const k = JSON.stringify([r.repeat, r.model, r.task, r.method]);
    let c = curves.get(k);
    if (!c) {
      c = { model: r.model, task: r.task, repeat: r.repeat, method: r.method, ece: null, bins: [] };
      curves.set(k, c);
    }
    c.bins.push({ bin: r.bin, meanScore: r.mean_score, positiveRate: r.positive_rate, count: r.count });
  }
  for (const c of curves.values()) c.ece = expectedCalibrationError(c.bins);
  return [...curves.values()].sort(
    (a, b) =>
      a.repeat - b.repeat ||
      a.task.localeCompare(b.task) ||
      rank(a.model) - rank(b.model) ||
      METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method),
  );
}
