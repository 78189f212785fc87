import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Backend, Session } from '../db/backend.js';
import { UsageError } from '../errors.js';

/** The advisory-lock key that allows one pipeline run at a time per database ('mhmt'). */
export const RUN_LOCK_KEY = 0x6d686d74;

/** Final states of a run (`running` is the state while it runs). */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'skipped';

/** What a run row records when it starts. */
export interface RunStart {
  pipeline: string;
  config: unknown;
  seed: number;
  codeVersion: string;
  backend: string;
}

/** Insert a `running` row in mhmtl.runs and return its run_id. */
export async function startRun(backend: Backend, start: RunStart): Promise<number> {
  const row = await backend.db
    .insertInto('mhmtl.runs')
    .values({
      pipeline: start.pipeline,
      config: JSON.stringify(start.config),
      status: 'running',
      seed: start.seed,
      code_version: start.codeVersion,
      backend: start.backend,
      pid: process.pid,
    })
    .returning('run_id')
    .executeTakeFirstOrThrow();
  return Number(row.run_id);
}

/** What a run row records when it ends. */
export interface RunEnd {
  status: Exclude<RunStatus, 'running'>;
  error?: string | null;
  /** Why it was skipped, or another remark (mhmtl.runs.note). */
  note?: string | null;
  stageDurations: Record<string, number>;
  dataFingerprint?: string | null;
}

/**
 * Close a run row. Pass the `session` of the transaction that writes the run's reports, so that the
 * reports and the `succeeded` status become visible together (or not at all).
 */
export async function finishRun(target: Backend | Session, runId: number, end: RunEnd): Promise<void> {
  const params = [
    runId,
    end.status,
    end.error ?? null,
    JSON.stringify(end.stageDurations),
    end.dataFingerprint ?? null,
    end.note ?? null,
  ];
  const text = `UPDATE mhmtl.runs SET status = $2, error = $3, stage_durations = $4::jsonb,
    data_fingerprint = COALESCE($5, data_fingerprint), note = $6, finished_at = now() WHERE run_id = $1`;
  if ('query' in target) {
    await target.query(text, params);
  } else {
    await target.transaction((s) => s.query(text, params));
  }
}

/**
 * Mark every `running` row failed: called while holding the run lock, so any such row belongs to a
 * run whose process ended without finishing (SIGKILL, power loss). Returns their run ids.
 */
export async function failInterruptedRuns(backend: Backend): Promise<number[]> {
  const rows = await backend.db
    .updateTable('mhmtl.runs')
    .set({
      status: 'failed',
      error: 'interrupted: the process running it ended before finishing (killed or crashed)',
      finished_at: new Date(),
    })
    .where('status', '=', 'running')
    .returning('run_id')
    .execute();
  return rows.map((r) => Number(r.run_id));
}

/** The latest succeeded run of a pipeline, or undefined. */
export async function lastSucceededRun(
  backend: Backend,
  pipeline: string,
): Promise<{ runId: number; dataFingerprint: string | null } | undefined> {
  const row = await backend.db
    .selectFrom('mhmtl.runs')
    .select(['run_id', 'data_fingerprint'])
    .where('pipeline', '=', pipeline)
    .where('status', '=', 'succeeded')
    .orderBy('run_id', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { runId: Number(row.run_id), dataFingerprint: row.data_fingerprint } : undefined;
}

/**
 * A fingerprint of the data a run trains on and of the configuration it trains with: the number of
 * posts and an order-independent XOR of their content hashes, and the same for labels (user, task,
 * value). Two runs with equal fingerprints would see the same posts, labels and config.
 */
export async function dataFingerprint(backend: Backend, config: unknown): Promise<string> {
  const r = await sql<{ posts: number; post_xor: string | null; labels: number; label_xor: string | null }>`
    SELECT
      (SELECT count(*) FROM mhmtl.posts)::int8 AS posts,
      (SELECT bit_xor(('x' || substr(md5(user_id || ':' || post_id || ':' || text_hash), 1, 16))::bit(64)::int8)::text
         FROM mhmtl.posts) AS post_xor,
      (SELECT count(*) FROM mhmtl.labels)::int8 AS labels,
      (SELECT bit_xor(('x' || substr(md5(user_id || ':' || task || ':' || coalesce(label::text, '?')), 1, 16))::bit(64)::int8)::text
         FROM mhmtl.labels) AS label_xor`.execute(backend.db);
  const f = r.rows[0];
  return createHash('sha256')
    .update(JSON.stringify([f?.posts, f?.post_xor, f?.labels, f?.label_xor, config]))
    .digest('hex')
    .slice(0, 32);
}

/**
 * Check, before anything is written, that run `runId` named by command-line option `option`
 * exists and holds model `model` with weights (and, with `featureSpace`, its fitted feature
 * space): a missing run is named as missing, a run without the model lists the models it has.
 * @throws UsageError (exit 2) naming the option, e.g. "--from-run: run 12 does not exist".
 */
export async function requireRunModel(
  backend: Backend,
  runId: number,
  model: string,
  option: string,
  featureSpace = false,
): Promise<void> {
  const run = await backend.db
    .selectFrom('mhmtl.runs')
    .select(['run_id', 'status'])
    .where('run_id', '=', runId)
    .executeTakeFirst();
  if (!run) throw new UsageError(`${option}: run ${runId} does not exist`);
  const models = await backend.db
    .selectFrom('mhmtl.models')
    .select(['model', sql<boolean>`weights IS NOT NULL AND topology IS NOT NULL`.as('complete')])
    .where('run_id', '=', runId)
    .orderBy('model')
    .execute();
  const found = models.find((m) => m.model === model);
  if (!found) {
    const known = models.map((m) => m.model);
    throw new UsageError(
      `${option}: run ${runId} (${run.status}) has no model '${model}' (${known.length ? `it has: ${known.join(', ')}` : 'it has no models'})`,
    );
  }
  if (!found.complete) throw new UsageError(`${option}: model '${model}' of run ${runId} has no weights`);
  if (featureSpace) {
    const space = await backend.db
      .selectFrom('mhmtl.feature_spaces')
      .select('run_id')
      .where('run_id', '=', runId)
      .executeTakeFirst();
    if (!space) throw new UsageError(`${option}: run ${runId} has no stored feature space`);
  }
}
