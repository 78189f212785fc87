import type { Backend } from '../db/backend.js';
import { MhmtlError } from '../errors.js';
import { BOUNDARY } from './analyzer.js';
import { type FeatureConfig, resolveUnitSelection, type UnitSelection } from './config.js';
import { type CsrMatrix, selectStackedRows } from './csr.js';
import { TfidfVectorizer } from './tfidf.js';

/**
 * The thin database adapter of the features stage: units of analysis, their documents (stored
 * tokens) and their labels. Everything else in src/features is pure computation.
 */

/** A post unit's id: `<user_id>/<post_id>` (pseudonyms are hex, so the first '/' separates them). */
export function postUnitId(userId: string, postId: string): string {
  return `${userId}/${postId}`;
}

/** The (user_id, post_id) of a post unit id. @throws MhmtlError when it has no '/'. */
export function parsePostUnitId(unitId: string): [string, string] {
  const at = unitId.indexOf('/');
  if (at < 0) throw new MhmtlError(`not a post unit id (user/post): '${unitId}'`);
  return [unitId.slice(0, at), unitId.slice(at + 1)];
}

/**
 * SQL condition on posts `p` for the time window and the post filters (exclude_communities,
 * exclude_patterns), and its parameters (numbered from `first`).
 */
function windowSql(selection: UnitSelection, first: number): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const w = selection.time_window;
  if (w?.from) {
    params.push(w.from);
    parts.push(`p.created_at >= $${first + params.length - 1}::timestamptz`);
  }
  if (w?.to) {
    params.push(w.to);
    parts.push(`p.created_at < $${first + params.length - 1}::timestamptz`);
  }
  if (selection.exclude_communities.length > 0) {
    params.push(selection.exclude_communities);
    parts.push(`${COMMUNITY_EXCLUDED.replace('$P', `$${first + params.length - 1}`)} IS NOT TRUE`);
  }
  if (selection.exclude_patterns.length > 0) {
    params.push(selection.exclude_patterns);
    parts.push(`NOT ${PATTERN_EXCLUDED.replace('$P', `$${first + params.length - 1}`)}`);
  }
  return { sql: parts.length ? parts.join(' AND ') : 'true', params };
}

/** Whether post `p` was written in one of the communities `$P` (lowercase, without 'r/'). */
const COMMUNITY_EXCLUDED = "(lower(regexp_replace(p.community, '^r/', '', 'i')) = ANY($P::text[]))";
/** Whether the text of post `p` matches one of the patterns `$P` (case-insensitive). */
const PATTERN_EXCLUDED = '(p.text ~* ANY($P::text[]))';

/** How many posts the post filters drop (counted among the posts in the time window). */
export interface PostFilterCounts {
  /** Posts in the time window before the filters. */
  posts: number;
  /** Posts written in an excluded community. */
  community: number;
  /** Posts matching an excluded pattern. */
  pattern: number;
  /** Posts dropped by either (a post both in a community and matching a pattern counts once). */
  dropped: number;
}

/**
 * Count what `exclude_communities` and `exclude_patterns` drop from the posts in the selection's
 * time window (before last_n_posts, which then counts among the kept posts).
 */
export async function countPostFilters(
  backend: Backend,
  selection: Partial<UnitSelection>,
): Promise<PostFilterCounts> {
  const sel = resolveUnitSelection(selection);
  const w = windowSql({ ...sel, exclude_communities: [], exclude_patterns: [] }, 3);
  const community = COMMUNITY_EXCLUDED.replace('$P', '$1');
  const pattern = PATTERN_EXCLUDED.replace('$P', '$2');
  const rows = await backend.transaction(
    (s) =>
      s.query<PostFilterCounts>(
        `SELECT count(*)::int AS posts,
                count(*) FILTER (WHERE ${community})::int AS community,
                count(*) FILTER (WHERE ${pattern})::int AS pattern,
                count(*) FILTER (WHERE ${community} OR ${pattern})::int AS dropped
         FROM mhmtl.posts p WHERE ${w.sql}`,
        [sel.exclude_communities, sel.exclude_patterns, ...w.params],
      ),
    { readOnly: true },
  );
  return rows[0]!;
}

/**
 * Check `exclude_patterns` with the database's regular expression engine (PostgreSQL ARE).
 * @returns the first malformed pattern and the engine's message, or null when all compile.
 */
export async function patternProblem(backend: Backend, patterns: readonly string[]): Promise<string | null> {
  for (const pattern of patterns) {
    if (/(^|[^\\])(\\\\)*\\b/.test(pattern))
      return `${pattern}: \\b is a backspace in PostgreSQL regular expressions: use \\y for a word boundary`;
    try {
      await backend.transaction((s) => s.query("SELECT '' ~* $1 AS m", [pattern]), { readOnly: true });
    } catch (error) {
      return `${pattern}: ${(error as Error).message}`;
    }
  }
  return null;
}

/** Rank of each post within its user, newest first (for last_n_posts). */
const RANK = 'row_number() OVER (PARTITION BY p.user_id ORDER BY p.created_at DESC, p.post_id DESC) AS rn';

/**
 * The units of analysis in a stable order: users with at least one selected post, ordered by
 * user_id; or, with unit 'post', the selected posts ordered by (user_id, post_id), as
 * {@link postUnitId}s. Selected: inside the time window, and among the user's last N posts.
 */
export async function listUnits(backend: Backend, selection: Partial<UnitSelection> = {}): Promise<string[]> {
  const sel = resolveUnitSelection(selection);
  const w = windowSql(sel, 1);
  return backend.transaction(
    async (s) => {
      if (sel.unit === 'user') {
        const rows = await s.query<{ user_id: string }>(
          `SELECT DISTINCT p.user_id FROM mhmtl.posts p WHERE ${w.sql} ORDER BY p.user_id`,
          w.params,
        );
        return rows.map((r) => r.user_id);
      }
      const lastN = sel.last_n_posts !== null ? `WHERE rn <= ${sel.last_n_posts}` : '';
      const rows = await s.query<{ user_id: string; post_id: string }>(
        `SELECT user_id, post_id FROM (
           SELECT p.user_id, p.post_id, ${RANK} FROM mhmtl.posts p WHERE ${w.sql}) s
         ${lastN}
         ORDER BY user_id, post_id`,
        w.params,
      );
      return rows.map((r) => postUnitId(r.user_id, r.post_id));
    },
    { readOnly: true },
  );
}

/**
 * The time of each unit's first or last selected post (a post unit: its own time), in the order
 * of `unitIds`: epoch milliseconds `[unitIds.length]`, NaN for a unit with no selected post.
 */
export async function loadUnitTimes(
  backend: Backend,
  selection: Partial<UnitSelection>,
  unitIds: readonly string[],
  which: 'first' | 'last',
): Promise<Float64Array> {
  const sel = resolveUnitSelection(selection);
  const w = windowSql(sel, 1);
  const lastN = sel.last_n_posts !== null ? `WHERE rn <= ${sel.last_n_posts}` : '';
  const agg = which === 'first' ? 'min' : 'max';
  const key = sel.unit === 'user' ? 'user_id' : "user_id || '/' || post_id";
  const rows = await backend.transaction(
    (s) =>
      s.query<{ unit: string; t: number }>(
        `SELECT ${key} AS unit, (extract(epoch FROM ${agg}(created_at)) * 1000)::float8 AS t FROM (
           SELECT p.user_id, p.post_id, p.created_at, ${RANK} FROM mhmtl.posts p WHERE ${w.sql}) s
         ${lastN}
         GROUP BY 1`,
        w.params,
      ),
    { readOnly: true },
  );
  const time = new Map(rows.map((r) => [r.unit, Number(r.t)]));
  return Float64Array.from(unitIds, (u) => time.get(u) ?? Number.NaN);
}

/** One unit's document: its tokens (a user's posts in time order, separated by the boundary ''). */
export interface UnitDocument {
  unitId: string;
  tokens: string[];
}

/**
 * The documents of the units, in the order of `unitIds` (default: {@link listUnits}), streamed
 * in batches of `batchSize` units so that only one batch of token arrays is in memory. A user's
 * document is the tokens of their selected posts in (created_at, post_id) order, posts separated
 * by the boundary token '' (no n-gram spans two posts); a unit with no tokenized posts gets [].
 */
export async function* streamUnitDocuments(
  backend: Backend,
  selection: Partial<UnitSelection> = {},
  unitIds?: readonly string[],
  batchSize = 500,
): AsyncGenerator<UnitDocument[]> {
  const sel = resolveUnitSelection(selection);
  const ids = unitIds ?? (await listUnits(backend, sel));
  for (let start = 0; start < ids.length; start += batchSize) {
    const chunk = ids.slice(start, start + batchSize);
    const byUnit = new Map<string, string[]>();
    if (sel.unit === 'user') {
      const w = windowSql(sel, 2);
      const lastN = sel.last_n_posts !== null ? `WHERE rn <= ${sel.last_n_posts}` : '';
      const rows = await backend.transaction(
        (s) =>
          s.query<{ user_id: string; tokens: string[] }>(
            `SELECT user_id, tokens FROM (
               SELECT p.user_id, p.post_id, p.created_at, t.tokens, ${RANK}
               FROM mhmtl.posts p
               JOIN mhmtl.post_tokens t ON t.user_id = p.user_id AND t.post_id = p.post_id
               WHERE p.user_id = ANY($1::text[]) AND ${w.sql}) s
             ${lastN}
             ORDER BY user_id, created_at, post_id`,
            [chunk, ...w.params],
          ),
        { readOnly: true },
      );
      for (const r of rows) {
        const doc = byUnit.get(r.user_id);
        if (doc === undefined) byUnit.set(r.user_id, r.tokens);
        else {
          doc.push(BOUNDARY);
          for (const t of r.tokens) doc.push(t);
        }
      }
    } else {
      const keys = chunk.map(parsePostUnitId);
      const rows = await backend.transaction(
        (s) =>
          s.query<{ user_id: string; post_id: string; tokens: string[] }>(
            `SELECT t.user_id, t.post_id, t.tokens
             FROM unnest($1::text[], $2::text[]) AS k(user_id, post_id)
             JOIN mhmtl.post_tokens t ON t.user_id = k.user_id AND t.post_id = k.post_id`,
            [keys.map((k) => k[0]), keys.map((k) => k[1])],
          ),
        { readOnly: true },
      );
      for (const r of rows) byUnit.set(postUnitId(r.user_id, r.post_id), r.tokens);
    }
    yield chunk.map((unitId) => ({ unitId, tokens: byUnit.get(unitId) ?? [] }));
  }
}

/**
 * Labels of the units for the tasks: `[unitIds.length x tasks.length]` row-major, 1 positive, 0
 * negative, NaN unknown or missing. A post unit has its user's labels.
 */
export async function loadLabelMatrix(
  backend: Backend,
  selection: Partial<UnitSelection>,
  unitIds: readonly string[],
  tasks: readonly string[],
): Promise<Float32Array> {
  const sel = resolveUnitSelection(selection);
  const y = new Float32Array(unitIds.length * tasks.length).fill(Number.NaN);
  const userOf = sel.unit === 'user' ? unitIds : unitIds.map((u) => parsePostUnitId(u)[0]);
  const rowsOfUser = new Map<string, number[]>();
  userOf.forEach((u, i) => {
    const list = rowsOfUser.get(u);
    if (list) list.push(i);
    else rowsOfUser.set(u, [i]);
  });
  const taskIndex = new Map(tasks.map((t, j) => [t, j]));
  const users = [...rowsOfUser.keys()];
  for (let start = 0; start < users.length; start += 10_000) {
    const rows = await backend.transaction(
      (s) =>
        s.query<{ user_id: string; task: string; label: number | null }>(
          `SELECT user_id, task, label FROM mhmtl.labels WHERE user_id = ANY($1::text[]) AND task = ANY($2::text[])`,
          [users.slice(start, start + 10_000), [...tasks]],
        ),
      { readOnly: true },
    );
    for (const r of rows) {
      if (r.label === null) continue;
      const j = taskIndex.get(r.task)!;
      for (const i of rowsOfUser.get(r.user_id) ?? []) y[i * tasks.length + j] = r.label;
    }
  }
  return y;
}

/**
 * The features of every selected unit: the vectorizer is fitted on the documents of
 * `trainUnitIds` only (vocabulary and IDF, streamed), then transforms all units in batches.
 * The tokenizer signature(s) of the stored tokens are recorded in `vectorizer.meta.tokenizer`.
 * @returns unitIds in {@link listUnits} order and x `[unitIds.length, vocabulary]` (CSR).
 * @throws MhmtlError when selected posts are not tokenized (run `mhmtl tokenize`), when a
 *   training unit is not among the selected units, or when no term survives min_df/max_df.
 */
export async function buildFeatures(
  backend: Backend,
  options: {
    selection?: Partial<UnitSelection>;
    config?: Partial<FeatureConfig>;
    trainUnitIds: readonly string[];
    batchSize?: number;
  },
): Promise<{ unitIds: string[]; x: CsrMatrix; vectorizer: TfidfVectorizer }> {
  const sel = resolveUnitSelection(options.selection);
  const vectorizer = new TfidfVectorizer(options.config);
  const w = windowSql(sel, 1);
  const { untokenized, signatures } = await backend.transaction(
    async (s) => {
      const missing = await s.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM mhmtl.posts p
         WHERE ${w.sql} AND NOT EXISTS (
           SELECT 1 FROM mhmtl.post_tokens t WHERE t.user_id = p.user_id AND t.post_id = p.post_id)`,
        w.params,
      );
      const sigs = await s.query<{ tokenizer: string; tokenizer_version: string; config_hash: string }>(
        `SELECT DISTINCT tokenizer, tokenizer_version, config_hash FROM mhmtl.post_tokens ORDER BY 1, 2, 3`,
      );
      return { untokenized: missing[0]?.n ?? 0, signatures: sigs };
    },
    { readOnly: true },
  );
  if (untokenized > 0) {
    throw new MhmtlError(`${untokenized} selected posts are not tokenized: run \`mhmtl tokenize\` first`);
  }
  const unitIds = await listUnits(backend, sel);
  const known = new Set(unitIds);
  const missingTrain = options.trainUnitIds.filter((u) => !known.has(u));
  if (missingTrain.length > 0) {
    throw new MhmtlError(
      `${missingTrain.length} training units have no selected posts (e.g. '${missingTrain[0]}')`,
    );
  }
  const docs = (ids: readonly string[]) =>
    prefetched(
      (async function* () {
        for await (const batch of streamUnitDocuments(backend, sel, ids, options.batchSize)) {
          yield batch.map((d) => d.tokens);
        }
      })(),
    );
  // Training units are counted once (fit-transform keeps their counts); the others are read and
  // transformed after; rows are then put in unitIds order.
  const xTrain = await vectorizer.fitTransformBatches(() => docs(options.trainUnitIds));
  vectorizer.meta = {
    tokenizer: signatures.map((s) => `${s.tokenizer} ${s.tokenizer_version} ${s.config_hash}`),
    unit: sel,
  };
  const trainRow = new Map<string, number>();
  options.trainUnitIds.forEach((u, i) => {
    if (!trainRow.has(u)) trainRow.set(u, i);
  });
  const others = unitIds.filter((u) => !trainRow.has(u));
  const xOthers = await vectorizer.transformBatches(docs(others));
  const otherRow = new Map(others.map((u, i) => [u, xTrain.rows + i]));
  const order = Int32Array.from(unitIds, (u) => trainRow.get(u) ?? otherRow.get(u)!);
  const x = selectStackedRows([xTrain, xOthers], order);
  return { unitIds, x, vectorizer };
}

/**
 * The items of `source`, asking for the next one as soon as one is handed out, so that the
 * database reads the next batch while the caller counts this one (a server works in its own
 * process; memory: two batches).
 */
async function* prefetched<T>(source: AsyncIterator<T>): AsyncGenerator<T> {
  let next = source.next();
  try {
    for (;;) {
      const item = await next;
      if (item.done) return;
      next = source.next();
      yield item.value;
    }
  } finally {
    // Stopped early (the caller failed or broke off): the read ahead is not awaited by anyone.
    next.catch(() => undefined);
  }
}

/**
 * Features of the given units with an already fitted vectorizer (e.g. restored with
 * `TfidfVectorizer.fromJSON` for predict): `[unitIds.length, vocabulary]`, rows in unitIds order.
 */
export async function transformUnits(
  backend: Backend,
  vectorizer: TfidfVectorizer,
  selection: Partial<UnitSelection>,
  unitIds: readonly string[],
  batchSize?: number,
): Promise<CsrMatrix> {
  const sel = resolveUnitSelection(selection);
  return vectorizer.transformBatches(
    (async function* () {
      for await (const batch of streamUnitDocuments(backend, sel, unitIds, batchSize)) {
        yield batch.map((d) => d.tokens);
      }
    })(),
  );
}
