import { accessSync, constants } from 'node:fs';
import type { Backend } from '../db/backend.js';
import { cannotRead, MhmtlError, UsageError } from '../errors.js';
import { BOUNDARY } from '../features/analyzer.js';
import { postUnitId } from '../features/database.js';
import { resolveUnitSelection, type UnitSelection } from '../features/config.js';
import { type TfidfState, TfidfVectorizer } from '../features/tfidf.js';
import { openClean } from '../ingest/clean.js';
import { pseudonymizer } from '../ingest/pseudonym.js';
import type { ColumnMapping, InputFormat } from '../ingest/types.js';
import { initTensorflow, loadFeatureSpace, loadModel, modelFromArtifact } from '../model/index.js';
import { DEFAULT_TOKENIZER_CONFIG, Tokenizer, tokenizerSignature } from '../text/tokenizer.js';
import type { Logger } from './log.js';

/**
 * `mhmtl predict`: score posts that are not in the database with a stored model. The files go
 * through ingest's readers, repair, scrubbing and pseudonymization (nothing is stored), the
 * tokenizer that made the run's tokens, the run's unit selection, its fitted vocabulary and IDF,
 * and the model's weights; a post already in the database therefore gets exactly the score the
 * run stored in mhmtl.predictions.
 */

/** A post as the unit builder needs it: pseudonymous ids, time, and tokens. */
export interface PredictPost {
  userId: string;
  postId: string;
  /** ISO-8601 UTC (as ingest writes created_at). */
  createdAt: string;
  tokens: string[];
}

/** One unit of analysis built from posts: its id (a user pseudonym, or `user/post`) and document. */
export interface PredictUnit {
  unitId: string;
  /** Posts selected into the unit's document. */
  nPosts: number;
  /** The document: the posts' tokens in (created_at, post_id) order, separated by the boundary ''. */
  tokens: string[];
}

function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Group posts into units of analysis exactly as the features stage does from the database
 * (src/features/database.ts `listUnits` / `streamUnitDocuments`): only posts inside the time
 * window (from <= created_at < to), only each user's last N posts by (created_at, post_id); a
 * user unit's document is its posts' tokens in (created_at, post_id) order with the boundary token
 * between posts; a post unit's document is its own tokens. Units come ordered by id (user_id, then
 * post_id). Posts repeating a (user_id, post_id) already seen are dropped (the database keeps the
 * first). Pure: no I/O.
 */
export function buildUnits(
  posts: Iterable<PredictPost>,
  selection: Partial<UnitSelection> = {},
): PredictUnit[] {
  const sel = resolveUnitSelection(selection);
  const from = sel.time_window?.from ? Date.parse(sel.time_window.from) : null;
  const to = sel.time_window?.to ? Date.parse(sel.time_window.to) : null;
  const byUser = new Map<string, Map<string, { t: number; post: PredictPost }>>();
  for (const post of posts) {
    const t = Date.parse(post.createdAt);
    if (from !== null && !(t >= from)) continue;
    if (to !== null && !(t < to)) continue;
    let mine = byUser.get(post.userId);
    if (!mine) {
      mine = new Map();
      byUser.set(post.userId, mine);
    }
    if (!mine.has(post.postId)) mine.set(post.postId, { t, post });
  }
  const units: PredictUnit[] = [];
  for (const userId of [...byUser.keys()].sort(compareIds)) {
    // Time order, ties by post_id: the ORDER BY created_at, post_id of the database.
    let chosen = [...byUser.get(userId)!.values()].sort(
      (a, b) => a.t - b.t || compareIds(a.post.postId, b.post.postId),
    );
    if (sel.last_n_posts !== null && chosen.length > sel.last_n_posts) {
      chosen = chosen.slice(chosen.length - sel.last_n_posts);
    }
    if (sel.unit === 'user') {
      const tokens: string[] = [];
      for (const [i, c] of chosen.entries()) {
        if (i > 0) tokens.push(BOUNDARY);
        for (const tok of c.post.tokens) tokens.push(tok);
      }
      units.push({ unitId: userId, nPosts: chosen.length, tokens });
    } else {
      chosen.sort((a, b) => compareIds(a.post.postId, b.post.postId));
      for (const c of chosen) {
        units.push({ unitId: postUnitId(userId, c.post.postId), nPosts: 1, tokens: c.post.tokens });
      }
    }
  }
  return units;
}

/** Options of {@link predictFiles}. */
export interface PredictOptions {
  runId: number;
  /** Stored model name: mtl (default), mtl_no_aux, stl:<task>, lr:<task>. */
  model?: string;
  files: readonly string[];
  /** 'posts' (default) or 'reddit' (a Reddit CSV/JSONL dump; its communities are not used). */
  kind?: 'posts' | 'reddit';
  /** Default 'auto' (by extension, then content). */
  format?: InputFormat | 'auto';
  columns?: ColumnMapping;
  /** Unit of analysis; default the run's (mhmtl.feature_spaces meta). */
  unit?: 'user' | 'post';
  log?: Logger;
}

/** One scored unit: a pseudonymous id, its post count and a probability per task. */
export interface PredictionRow {
  unitId: string;
  nPosts: number;
  /** Probabilities in [0, 1], in {@link PredictResult.tasks} order. */
  scores: number[];
}

/** What {@link predictFiles} returns. */
export interface PredictResult {
  runId: number;
  model: string;
  /** The model's tasks (main and auxiliary), in score order. */
  tasks: string[];
  selection: UnitSelection;
  rows: PredictionRow[];
  /** Posts read and kept, rows rejected (malformed, schema, date, empty) and skipped, over all files. */
  posts: number;
  rejected: number;
  skipped: number;
}

/** The tokenizer signature as buildFeatures records it in the vectorizer's meta. */
function signatureString(): string {
  const s = tokenizerSignature(DEFAULT_TOKENIZER_CONFIG);
  return `${s.name} ${s.version} ${s.configHash}`;
}

/**
 * Score the posts of `files` with model `model` of run `runId` (see the module comment). Nothing
 * is written to the database; output ids are pseudonyms under the database's key.
 * @throws MhmtlError when the run does not exist, has no feature space (a cross-validation run
 *   stores none) or no such model, when its tokens came from another tokenizer than this
 *   installation's, or when a file cannot be read; UsageError for a bad unit.
 */
export async function predictFiles(backend: Backend, options: PredictOptions): Promise<PredictResult> {
  const modelName = options.model ?? 'mtl';
  const { runId } = options;
  const run = await backend.db
    .selectFrom('mhmtl.runs')
    .select(['run_id', 'status'])
    .where('run_id', '=', runId)
    .executeTakeFirst();
  if (!run) throw new MhmtlError(`run ${runId} does not exist`);
  const space = await loadFeatureSpace(backend, runId);
  if (!space) {
    throw new MhmtlError(
      `run ${runId} has no stored feature space (a cross-validation or failed run stores none): predict with a holdout run`,
    );
  }
  const vectorizer = TfidfVectorizer.fromJSON(space.state as TfidfState);
  const recorded = vectorizer.meta.tokenizer;
  const current = signatureString();
  if (!Array.isArray(recorded) || recorded.length === 0 || recorded.some((s) => s !== current)) {
    throw new MhmtlError(
      `run ${runId} was trained on tokens of another tokenizer (${Array.isArray(recorded) ? recorded.join('; ') : 'unrecorded'}) than this installation's (${current}): retrain to predict`,
    );
  }
  const artifact = await loadModel(backend, runId, modelName);
  const stored = (vectorizer.meta.unit ?? {}) as Partial<UnitSelection>;
  if (options.unit !== undefined && options.unit !== 'user' && options.unit !== 'post') {
    throw new UsageError(`--unit must be user or post, got '${String(options.unit)}'`);
  }
  const selection = resolveUnitSelection({ ...stored, ...(options.unit ? { unit: options.unit } : {}) });
  if (options.unit && options.unit !== (stored.unit ?? 'user')) {
    options.log?.warn(
      `run ${runId} was trained on ${stored.unit ?? 'user'} units: scores of ${options.unit} units are outside its training distribution`,
    );
  }

  for (const file of options.files) {
    try {
      accessSync(file, constants.R_OK);
    } catch (error) {
      throw cannotRead(file, error);
    }
  }
  const pseudo = await pseudonymizer(backend);
  const tokenizer = new Tokenizer(DEFAULT_TOKENIZER_CONFIG);
  const posts: PredictPost[] = [];
  let rejected = 0;
  let skipped = 0;
  // Tokenized in batches with the batch path `mhmtl tokenize` uses (same tokens as one at a time).
  let pending: { post: PredictPost; text: string }[] = [];
  const flush = () => {
    const tokens = tokenizer.tokenizeMany(pending.map((p) => p.text));
    for (const [i, p] of pending.entries()) p.post.tokens = tokens[i]!;
    pending = [];
  };
  for (const file of options.files) {
    const stream = await openClean(
      file,
      {
        kind: options.kind ?? 'posts',
        format: options.format ?? 'auto',
        // Reddit labels come from a community mapping; predict reads posts only, so any valid
        // mapping will do (no subreddit name contains a space, so it labels nothing).
        ...(options.kind === 'reddit' ? { mapping: { tasks: { unused: [' no community '] } } } : {}),
        ...(options.columns ? { columns: options.columns } : {}),
      },
      pseudo,
    );
    const reasons: Record<string, number> = {};
    for await (const row of stream.rows) {
      if (row.type === 'post') {
        const post: PredictPost = {
          userId: row.userId,
          postId: row.postId,
          createdAt: row.createdAt,
          tokens: [],
        };
        posts.push(post);
        pending.push({ post, text: row.text });
        if (pending.length >= 1000) flush();
      } else if (row.type === 'reject') {
        rejected++;
        reasons[row.reason] = (reasons[row.reason] ?? 0) + 1;
      } else if (row.type === 'skip') {
        skipped++;
      }
    }
    const n = Object.values(reasons).reduce((a, b) => a + b, 0);
    if (n > 0) {
      options.log?.warn(
        `${file}: ${n} row(s) rejected (${Object.entries(reasons)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}) and not scored`,
      );
    }
  }

  flush();
  const units = buildUnits(posts, selection);
  const rows: PredictionRow[] = [];
  if (units.length > 0) {
    await initTensorflow();
    const model = modelFromArtifact(artifact);
    try {
      const x = vectorizer.transform(units.map((u) => u.tokens));
      const p = model.predict(x);
      const k = model.tasks.length;
      for (const [i, u] of units.entries()) {
        rows.push({ unitId: u.unitId, nPosts: u.nPosts, scores: Array.from(p.subarray(i * k, (i + 1) * k)) });
      }
    } finally {
      model.dispose();
    }
  }
  return {
    runId,
    model: modelName,
    tasks: [...artifact.tasks],
    selection,
    rows,
    posts: posts.length,
    rejected,
    skipped,
  };
}

/** Rows for output (JSONL, CSV): `unit_id`, `n_posts`, then one score column per task. */
export function predictionRecords(result: PredictResult): Record<string, string | number>[] {
  return result.rows.map((r) => {
    const out: Record<string, string | number> = { unit_id: r.unitId, n_posts: r.nPosts };
    for (const [j, t] of result.tasks.entries()) out[t] = r.scores[j]!;
    return out;
  });
}
