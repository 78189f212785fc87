import type { Backend, Session } from '../db/backend.js';
import { MhmtlError } from '../errors.js';
import type { ModelKind } from '../evaluate/comparisons.js';
import type { TaskRelation } from './architectures/architecture.js';
import type { ModelArtifact } from './types.js';

/**
 * The model stage's thin database adapter: models in mhmtl.models, read and written as
 * {@link ModelArtifact}s. Nothing else in src/model knows SQL.
 */

/** How a stored model is named: its stored name, the model name it is reported under, and its kind. */
export interface StoredModelName {
  /** mhmtl.models.model: an mtl-kind model's name; `<name>:<task>` for the per-task stl and lr kinds. */
  name: string;
  /** mhmtl.models.family: the name in task_reports (mtl, mtl_no_aux, stl, lr, or a pipeline's own). */
  reportedAs: string;
  kind: ModelKind;
}

/**
 * Insert (or replace) model `model.name` of run `runId`, with what it learned about how its tasks
 * relate (`relations`, mhmtl.task_relations; replaced too). Pass a `Session` to write inside the caller's
 * transaction (the pipeline writes everything of a run in one), or a `Backend` to use a
 * transaction of its own.
 * @throws the database's error (e.g. a foreign-key violation when the run does not exist).
 */
export async function saveModel(
  target: Backend | Session,
  runId: number,
  model: StoredModelName,
  artifact: ModelArtifact,
  relations: readonly TaskRelation[] = [],
): Promise<void> {
  const write = async (session: Session) => {
    await session.query(
      `INSERT INTO mhmtl.models (run_id, model, family, architecture, tasks, aux_tasks, config, topology, weights,
         backend, history, best_epoch, train_seconds, kind)
       VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11::jsonb, $12, $13, $14)
       ON CONFLICT (run_id, model) DO UPDATE SET family = EXCLUDED.family, kind = EXCLUDED.kind,
         architecture = EXCLUDED.architecture,
         tasks = EXCLUDED.tasks, aux_tasks = EXCLUDED.aux_tasks, config = EXCLUDED.config,
         topology = EXCLUDED.topology, weights = EXCLUDED.weights, backend = EXCLUDED.backend,
         history = EXCLUDED.history, best_epoch = EXCLUDED.best_epoch, train_seconds = EXCLUDED.train_seconds,
         created_at = now()`,
      [
        runId,
        model.name,
        model.reportedAs,
        artifact.architecture,
        artifact.tasks,
        artifact.auxTasks,
        JSON.stringify({ ...artifact.config, inputDim: artifact.inputDim }),
        JSON.stringify(artifact.topology),
        artifact.weights,
        artifact.backend,
        JSON.stringify(artifact.history),
        artifact.bestEpoch,
        artifact.trainSeconds,
        model.kind,
      ],
    );
    await session.query('DELETE FROM mhmtl.task_relations WHERE run_id = $1 AND model = $2', [
      runId,
      model.name,
    ]);
    if (relations.length > 0) {
      await session.query(
        `INSERT INTO mhmtl.task_relations (run_id, model, kind, layer, task_a, task_b, value)
         SELECT $1, $2, * FROM unnest($3::text[], $4::int[], $5::text[], $6::text[], $7::float8[])`,
        [
          runId,
          model.name,
          relations.map((r) => r.kind),
          relations.map((r) => r.layer),
          relations.map((r) => r.taskA),
          relations.map((r) => r.taskB),
          relations.map((r) => r.value),
        ],
      );
    }
  };
  if (isBackend(target)) await target.transaction(write);
  else await write(target);
}

function isBackend(target: Backend | Session): target is Backend {
  return 'db' in target && typeof (target as Backend).transaction === 'function';
}

/** A stored model's row, without its weights. */
export interface StoredModelInfo {
  model: string;
  /** The name it is reported under. */
  family: string;
  kind: ModelKind;
  architecture: string;
  tasks: string[];
  auxTasks: string[];
  bestEpoch: number | null;
  trainSeconds: number | null;
}

/** The models of a run, by name (no weights). */
export async function listModels(backend: Backend, runId: number): Promise<StoredModelInfo[]> {
  const rows = await backend.db
    .selectFrom('mhmtl.models')
    .select(['model', 'family', 'kind', 'architecture', 'tasks', 'aux_tasks', 'best_epoch', 'train_seconds'])
    .where('run_id', '=', runId)
    .orderBy('model')
    .execute();
  return rows.map((r) => ({
    model: r.model,
    family: r.family,
    kind: r.kind,
    architecture: r.architecture,
    tasks: r.tasks,
    auxTasks: r.aux_tasks,
    bestEpoch: r.best_epoch,
    trainSeconds: r.train_seconds,
  }));
}

/**
 * Load model `name` of run `runId` as an artifact (rebuild it with `modelFromArtifact`).
 * @throws MhmtlError when the run has no such model or it has no weights.
 */
export async function loadModel(backend: Backend, runId: number, name: string): Promise<ModelArtifact> {
  const row = await backend.db
    .selectFrom('mhmtl.models')
    .selectAll()
    .where('run_id', '=', runId)
    .where('model', '=', name)
    .executeTakeFirst();
  if (!row) {
    const known = (await listModels(backend, runId)).map((m) => m.model);
    throw new MhmtlError(
      `run ${runId} has no model '${name}'${known.length ? ` (it has: ${known.join(', ')})` : ' (it has no models)'}`,
    );
  }
  if (!row.weights || !row.topology) throw new MhmtlError(`model '${name}' of run ${runId} has no weights`);
  const { inputDim, ...config } = parseJson(row.config) as Record<string, unknown> & { inputDim: number };
  return {
    architecture: row.architecture,
    config,
    tasks: row.tasks,
    auxTasks: row.aux_tasks,
    backend: row.backend,
    history: parseJson(row.history) as ModelArtifact['history'],
    bestEpoch: row.best_epoch,
    trainSeconds: row.train_seconds === null ? null : Number(row.train_seconds),
    inputDim: Number(inputDim),
    topology: parseJson(row.topology) as ModelArtifact['topology'],
    weights: new Uint8Array(row.weights),
  };
}

/** The fitted feature space of a run (mhmtl.feature_spaces.state and config), or null. */
export async function loadFeatureSpace(
  backend: Backend,
  runId: number,
): Promise<{ config: unknown; state: unknown; nFeatures: number; nUnits: number } | null> {
  const row = await backend.db
    .selectFrom('mhmtl.feature_spaces')
    .selectAll()
    .where('run_id', '=', runId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    config: parseJson(row.config),
    state: parseJson(row.state),
    nFeatures: row.n_features,
    nUnits: row.n_units,
  };
}

function parseJson(v: unknown): unknown {
  return typeof v === 'string' ? JSON.parse(v) : v;
}
