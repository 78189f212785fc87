import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Backend } from '../db/backend.js';
import { BusyError, UsageError } from '../errors.js';
import type { RunEvaluation } from '../evaluate/evaluate.js';
import { writeRunEvaluation, writeTaskFeatures } from '../evaluate/store.js';
import { checkInput, type IngestSummary, ingestFile, loadMapping } from '../ingest/index.js';
import { activeBackend, initTensorflow, saveModel } from '../model/index.js';
import { tokenizePosts } from '../text/tokenize-posts.js';
import { VERSION } from '../version.js';
import type { LoadedPipeline, PipelineConfig, PipelineInput } from './config.js';
import type { Logger } from './log.js';
import {
  dataFingerprint,
  failInterruptedRuns,
  finishRun,
  lastSucceededRun,
  RUN_LOCK_KEY,
  type RunStatus,
  requireRunModel,
  startRun,
} from './runs.js';
import { interruption, RunInterruptedError, StageRunner } from './stages.js';
import { modelSpecs } from './model-specs.js';
import { checkModels } from './models.js';
import { checkSubgroups } from './subgroups.js';
import { trainAndEvaluate, unitSelectionOf } from './train-stage.js';
import { checkGivenSplitFile, readGivenSplit } from './given-split.js';
import { countPostFilters, patternProblem } from '../features/database.js';
import { loadTrainedUnits } from './transfer-split.js';
import { loadWarmStart } from './warm-start.js';

/** A progress display for one stage, created by the caller (the CLI draws bars or lines). */
export interface StageProgress {
  update(p: { rows: number; bytes?: number; totalBytes?: number }): void;
  done(summaryLine?: string): void;
}

/** Options of {@link runPipeline}. */
export interface RunOptions {
  log: Logger;
  /** Wait for another run to finish instead of failing with BusyError (exit 75). */
  wait?: boolean;
  /** Skip training (status `skipped`) when no post, label or config changed since the last successful run. */
  ifChanged?: boolean;
  /** Checked at every stage boundary: SIGINT / SIGTERM stop the run there, marked failed with the reason. */
  signal?: AbortSignal;
  /** Skip the pipeline's own inputs (`mhmtl train`: train on what the database holds). */
  skipIngest?: boolean;
  /** More files to ingest before training (`mhmtl retrain --fixtures DIR`). */
  extraInputs?: PipelineInput[];
  /** Make a progress display for a stage (label, unit); none when absent. */
  progress?: (label: string, unit: string) => StageProgress;
  /** Tokenizer worker threads (default: the cores). */
  workers?: number;
  /**
   * Warm-start the shared layers of the MTL model from this run's (transfer learning); the units
   * that run trained or early-stopped on are kept out of this run's test split.
   */
  fromRun?: number;
}

/** What a run did. */
export interface RunResult {
  runId: number;
  status: Exclude<RunStatus, 'running'>;
  /** Why a run was skipped. */
  note: string | null;
  ingest: IngestSummary[];
  evaluation: RunEvaluation | null;
  stageDurations: Record<string, number>;
  /** Runs found `running` with no process behind them, marked failed before this one started. */
  interruptedRuns: number[];
}

/**
 * Run a pipeline end to end: take the run lock (one run at a time per database), mark runs that
 * were killed mid-way as failed, record a `running` row, ingest the inputs (idempotent), skip
 * when nothing changed (`ifChanged`), tokenize (incremental), build features, train the MTL model
 * and its baselines, evaluate, and write the feature space, the reports and the `succeeded`
 * status in ONE transaction, so a killed run leaves no partial report visible. Models are stored
 * as each finishes training (a failed run's models stay, marked by its status).
 * @throws UsageError when `fromRun` names a run that does not exist or has no `mtl` model and
 *   feature space (checked first); BusyError (exit 75) when another run holds the lock and `wait` is off;
 *   RunInterruptedError when the signal fired; any stage's error (the run is then marked failed
 *   with the message).
 */
export async function runPipeline(
  backend: Backend,
  pipeline: LoadedPipeline,
  options: RunOptions,
): Promise<RunResult> {
  const { log } = options;
  const config = pipeline.config;
  // Arguments are checked before anything is written (the lock, the run row, the ingest).
  if (options.fromRun !== undefined) {
    await requireRunModel(backend, options.fromRun, 'mtl', '--from-run', true);
  }
  await checkInputs(pipeline, options);
  await checkSubgroups(
    backend,
    config,
    [...(options.skipIngest ? [] : config.inputs), ...(options.extraInputs ?? [])],
    pipeline.file ? `pipeline file ${path.relative('.', pipeline.file)}` : 'pipeline',
  );
  const badPattern = await patternProblem(backend, config.exclude_patterns ?? []);
  if (badPattern) throw new UsageError(`${origin(pipeline)}: /exclude_patterns: ${badPattern}`);
  checkGivenSplitFile(config, origin(pipeline));
  const split = config.evaluation?.split;
  // The split file is read (and its ids pseudonymized) before the run is recorded: a bad row is a usage error.
  const givenSplit =
    split?.kind === 'given' && split.file
      ? await readGivenSplit(backend, split.file, {
          ...(split.user_column ? { userColumn: split.user_column } : {}),
          ...(split.column ? { column: split.column } : {}),
        })
      : undefined;
  const lock = await backend.advisoryLock(RUN_LOCK_KEY, { wait: options.wait ?? false });
  if (!lock) throw new BusyError('another run is in progress (use --wait to wait for it)');
  try {
    const interruptedRuns = await failInterruptedRuns(backend);
    if (interruptedRuns.length > 0) {
      log.warn(`marked interrupted run(s) ${interruptedRuns.join(', ')} as failed`, {
        runs: interruptedRuns,
      });
    }
    const tfBackend = await initTensorflow();
    const seed = config.seed ?? 42;
    // Every model's settings as training resolves them: a bad value fails before anything is recorded.
    checkModels(
      modelSpecs(config),
      { main: config.tasks.main, auxiliary: config.tasks.auxiliary ?? [] },
      seed,
    );
    const runId = await startRun(backend, {
      pipeline: config.name,
      config,
      seed,
      codeVersion: VERSION,
      backend: `${backend.name}; tfjs ${activeBackend() ?? tfBackend}`,
    });
    log.info(`run ${runId} of pipeline ${config.name} started`, { run_id: runId, pipeline: config.name });
    const stages = new StageRunner(log, options.signal);
    const result: RunResult = {
      runId,
      status: 'failed',
      note: null,
      ingest: [],
      evaluation: null,
      stageDurations: stages.durations,
      interruptedRuns,
    };
    try {
      const inputs = [...(options.skipIngest ? [] : config.inputs), ...(options.extraInputs ?? [])];
      if (inputs.length > 0) {
        result.ingest = await stages.stage('ingest', () => ingestInputs(backend, inputs, options));
      }
      const fingerprint = await dataFingerprint(backend, trainingConfigOf(config));
      if (options.ifChanged) {
        const last = await lastSucceededRun(backend, config.name);
        if (last && last.dataFingerprint === fingerprint) {
          result.status = 'skipped';
          result.note = `no post, label or configuration changed since run ${last.runId}`;
          await finishRun(backend, runId, {
            status: 'skipped',
            note: result.note,
            stageDurations: stages.durations,
            dataFingerprint: fingerprint,
          });
          log.debug(`run ${runId} skipped: ${result.note}`, {
            run_id: runId,
            status: 'skipped',
            note: result.note,
          });
          return result;
        }
      }
      await stages.stage('tokenize', async () => {
        const bar = options.progress?.('tokenize', 'posts');
        const summary = await tokenizePosts(backend, {
          ...(options.workers !== undefined ? { workers: options.workers } : {}),
          ...(bar ? { onProgress: (p) => bar.update({ rows: p.done }) } : {}),
        });
        bar?.done();
        log.info(
          `tokenized ${summary.posts} posts (${summary.tokens} tokens, ${Math.round(summary.tokensPerSecond)} tokens/s)`,
          {
            posts: summary.posts,
            tokens: summary.tokens,
          },
        );
      });
      const postFilters = await filterPosts(backend, config, stages, log);
      const warmStart =
        options.fromRun !== undefined ? await loadWarmStart(backend, options.fromRun) : undefined;
      // Whatever becomes of the warm start, the units run N learned from stay out of test.
      const trainedUnits =
        options.fromRun !== undefined ? await loadTrainedUnits(backend, options.fromRun) : undefined;
      const trained = await trainAndEvaluate(backend, {
        config,
        seed,
        log,
        stages,
        ...(warmStart ? { warmStart } : {}),
        ...(trainedUnits ? { trainedUnits } : {}),
        ...(givenSplit ? { givenSplit } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        onModel: (m) =>
          saveModel(
            backend,
            runId,
            { name: m.name, reportedAs: m.reportedAs, kind: m.kind },
            m.artifact,
            m.relations,
          ),
      });
      result.evaluation = trained.evaluation;
      await stages.stage('write', async () => {
        stages.checkpoint('write');
        await backend.transaction(async (session) => {
          if (trained.featureSpace) {
            const { vectorizer } = trained.featureSpace;
            await session.query(
              `INSERT INTO mhmtl.feature_spaces (run_id, config, state, n_features, n_units)
               VALUES ($1, $2::jsonb, $3::jsonb, $4, $5)`,
              [
                runId,
                JSON.stringify(trained.featureSpace.config),
                JSON.stringify(vectorizer.toJSON()),
                vectorizer.vocabulary.length,
                trained.featureSpace.nUnits,
              ],
            );
          }
          await writeRunEvaluation(session, runId, trained.inputs, trained.evaluation, {
            history: trained.history,
          });
          await writeTaskFeatures(session, runId, trained.terms);
          await session.query(
            'UPDATE mhmtl.runs SET split_design = $2::jsonb, post_filters = $3::jsonb WHERE run_id = $1',
            [runId, JSON.stringify(trained.splitDesign), postFilters ? JSON.stringify(postFilters) : null],
          );
          await finishRun(session, runId, {
            status: 'succeeded',
            note: trained.warmStart,
            stageDurations: stages.durations,
            dataFingerprint: fingerprint,
          });
        });
      });
      // The write stage's own duration, recorded after its transaction committed.
      await backend.db
        .updateTable('mhmtl.runs')
        .set({ stage_durations: JSON.stringify(stages.durations) })
        .where('run_id', '=', runId)
        .execute();
      result.status = 'succeeded';
      log.info(`run ${runId} succeeded`, {
        run_id: runId,
        status: 'succeeded',
        stage_durations: stages.durations,
      });
      return result;
    } catch (caught) {
      // An abort seen inside a stage (between epochs, between chunks) is an interruption too.
      const error =
        options.signal?.aborted && !(caught instanceof RunInterruptedError)
          ? interruption(options.signal, `stopped during stage '${stages.current ?? 'start'}'`)
          : caught;
      const message = error instanceof Error ? error.message : String(error);
      await finishRun(backend, runId, {
        status: 'failed',
        error: message,
        stageDurations: stages.durations,
      }).catch(() => {});
      log.debug(`run ${runId} failed: ${message}`, { run_id: runId, status: 'failed', error: message });
      throw error;
    }
  } finally {
    await lock.release();
  }
}

/**
 * Check every input before the run is recorded: each file can be read and its CSV/TSV header fits
 * the input's columns. A missing file of the pipeline's own inputs is a usage error naming its
 * JSON path and the folder it was looked for in (data that is not in the repository, such as
 * reddit-top-2013, is pointed at with `--data-root`).
 * @throws UsageError for a missing pipeline input or a header that does not fit; MhmtlError for
 *   another unreadable file.
 */
async function checkInputs(pipeline: LoadedPipeline, options: RunOptions): Promise<void> {
  const own = options.skipIngest ? [] : pipeline.config.inputs;
  for (const [i, input] of [...own, ...(options.extraInputs ?? [])].entries()) {
    for (const [j, file] of input.files.entries()) {
      if (i < own.length && !existsSync(file)) {
        throw new UsageError(
          `${pipeline.file ? `pipeline file ${path.relative('.', pipeline.file)}` : 'pipeline'}: /inputs/${i}/files/${j}: no such file ${file}; the inputs are read from ${path.dirname(file)} (the pipeline's data_root, or --data-root DIR): put the files there or name their folder with --data-root`,
        );
      }
      await checkInput(file, {
        kind: input.kind,
        format: input.format ?? 'auto',
        ...(input.columns ? { columns: input.columns } : {}),
      });
    }
  }
}

/** How errors name the pipeline: `pipeline file <path>` or `pipeline`. */
function origin(pipeline: LoadedPipeline): string {
  return pipeline.file ? `pipeline file ${path.relative('.', pipeline.file)}` : 'pipeline';
}

/**
 * The post filters' stage (exclude_communities, exclude_patterns): count what they drop, log it
 * and hand back the record for mhmtl.runs.post_filters; null when the pipeline has none. The
 * filters themselves act wherever posts are selected (src/features/database.ts).
 */
async function filterPosts(
  backend: Backend,
  config: PipelineConfig,
  stages: StageRunner,
  log: Logger,
): Promise<Record<string, number> | null> {
  const communities = config.exclude_communities ?? [];
  const patterns = config.exclude_patterns ?? [];
  if (communities.length === 0 && patterns.length === 0) return null;
  return stages.stage('filter', async () => {
    const c = await countPostFilters(backend, unitSelectionOf(config));
    log.info(
      `post filters: dropped ${c.dropped} of ${c.posts} posts (${c.community} in ${communities.length} excluded communities, ${c.pattern} matching ${patterns.length} excluded patterns)`,
      { ...c },
    );
    return { exclude_communities: communities.length, exclude_patterns: patterns.length, ...c };
  });
}

/** The parts of a pipeline that decide what is trained (not where its inputs are read from). */
function trainingConfigOf(config: PipelineConfig): unknown {
  const { inputs: _inputs, description: _description, ...rest } = config;
  return rest;
}

async function ingestInputs(
  backend: Backend,
  inputs: PipelineInput[],
  options: RunOptions,
): Promise<IngestSummary[]> {
  const summaries: IngestSummary[] = [];
  for (const input of inputs) {
    const mapping = typeof input.mapping === 'string' ? loadMapping(input.mapping) : input.mapping;
    for (const file of input.files) {
      const bar = options.progress?.(`ingest ${file.split('/').at(-1)}`, 'rows');
      const s = await ingestFile(backend, file, {
        kind: input.kind,
        format: input.format ?? 'auto',
        ...(input.source ? { sourceName: input.source } : {}),
        ...(mapping ? { mapping } : {}),
        ...(input.columns ? { columns: input.columns } : {}),
        ...(input.max_text_length ? { maxTextLength: input.max_text_length } : {}),
        ...(input.include_distinguished ? { includeDistinguished: true } : {}),
        ...(options.signal ? { signal: options.signal } : {}),
        ...(bar ? { onProgress: (p) => bar.update(p) } : {}),
      });
      bar?.done();
      const rejected = Object.entries(s.rejectedByReason)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      // Labels are upserted: say inserted / updated / unchanged, as `mhmtl ingest labels` does.
      const counts =
        input.kind === 'labels'
          ? `${s.labels.inserted} inserted, ${s.labels.updated} updated, ${s.labels.unchanged} unchanged`
          : `${s.inserted} inserted, ${s.duplicates} duplicates`;
      options.log.info(
        `ingested ${s.sourceName}: ${counts}, ${s.rejected} rejected${rejected ? ` (${rejected})` : ''}`,
        { file: s.file, inserted: s.inserted, duplicates: s.duplicates, rejected: s.rejected },
      );
      if (s.rejected > 0)
        options.log.warn(`${s.rejected} row(s) of ${s.sourceName} quarantined`, { file: s.file });
      summaries.push(s);
    }
  }
  return summaries;
}
