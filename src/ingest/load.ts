import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Backend, Session } from '../db/backend.js';
import { encodeCopyText } from '../db/backend.js';
import { type CleanOptions, openClean } from './clean.js';
import { type Pseudonymizer, pseudonymizer } from './pseudonym.js';
import { bump } from './repair.js';
import type { CleanLabel, CleanPost, InputFormat, Progress, ReadStats, RejectedRow } from './types.js';

/** Options of {@link ingestFile}. */
export interface IngestOptions extends CleanOptions {
  /** Name recorded in `sources.name` (default: the file's base name). */
  sourceName?: string;
  /** Load nothing from the file if any row is rejected (its rejects still go to quarantine). */
  strict?: boolean;
  /**
   * Rows per load transaction (default 10,000; each chunk also stops at ~16 MB of text). On a
   * server the first two chunks hold a quarter and a half of it, so loading starts sooner.
   */
  chunkRows?: number;
  /** Called after each chunk (and while a strict pre-check reads). */
  onProgress?: (p: Progress) => void;
  /** Checked between chunks: an aborted signal stops the ingest (chunks already loaded stay). */
  signal?: AbortSignal;
  /** Reuse a pseudonymizer (default: the database's, see {@link pseudonymizer}). */
  pseudonymizer?: Pseudonymizer;
}

/** What one file's ingest did. Written to `mhmtl.sources` too. */
export interface IngestSummary {
  sourceId: number;
  file: string;
  sourceName: string;
  kind: CleanOptions['kind'];
  format: InputFormat;
  gzip: boolean;
  sha256: string;
  /** File size, bytes. */
  bytes: number;
  /** Records read (lines or CSV records). */
  records: number;
  /** Rows inserted into the kind's table: posts (posts, reddit) or labels (labels). */
  inserted: number;
  /** Rows already present: posts with a known (user, post) key, labels already equal. */
  duplicates: number;
  /** Rows sent to quarantine. */
  rejected: number;
  rejectedByReason: Record<string, number>;
  posts: { inserted: number; duplicates: number };
  labels: { inserted: number; updated: number; unchanged: number };
  /** New users. */
  users: number;
  repaired: Record<string, number>;
  skipped: Record<string, number>;
  scrubbed: ReadStats['scrubbed'];
  /** Reddit posts whose community is in no mapping (loaded without labels). */
  unlabelled: number;
  /** Strict mode found rejects: nothing was loaded. */
  strictFailed: boolean;
  seconds: number;
  /** Records per second, end to end. */
  rowsPerSecond: number;
}

/** The columns a clean post is copied into (staging, and the benchmark's raw baseline), in order. */
export const POST_COPY_COLUMNS = [
  'user_id',
  'post_id',
  'created_at',
  'text',
  'lang',
  'text_hash',
  'community',
  'flags',
] as const;

/** A clean post as one COPY row, in {@link POST_COPY_COLUMNS} order. */
export function postCopyRow(p: CleanPost): unknown[] {
  return [p.userId, p.postId, p.createdAt, p.text, p.lang, p.textHash, p.community, p.flags];
}

const CHUNK_ROWS = 10_000;
const CHUNK_CHARS = 16 * 1024 * 1024;
/**
 * Rows cleaned between two turns of the event loop while a chunk loads on a server. The reader
 * hands over 1 MB of input at a time, which is cleaned without returning to the event loop
 * (~0.2 s); without these turns each round trip of the loading transaction would wait for it.
 */
const YIELD_ROWS = 256;

interface Chunk {
  posts: CleanPost[];
  labels: CleanLabel[];
  rejects: RejectedRow[];
  chars: number;
}

const newChunk = (): Chunk => ({ posts: [], labels: [], rejects: [], chars: 0 });

/**
 * Ingest one file into the database: read, validate, repair, scrub, pseudonymize (see
 * `openClean`), then load in bounded chunks, each one transaction: COPY into temporary staging
 * tables, users upserted first, then `INSERT ... SELECT ... ON CONFLICT` into posts and labels,
 * and rejected rows into quarantine. Idempotent: posts dedupe on (user, post) pseudonyms (a
 * post without id is keyed by its normalized-text hash); labels upsert per (user, task), the later
 * file (and later line) winning, except Reddit-derived labels where a positive is kept. A
 * `sources` row records the file, its SHA-256 and the counts. No statement binds more than a
 * handful of parameters (rows travel by COPY).
 * @throws MhmtlError (exit 1) when the file cannot be read; UsageError for a bad mapping;
 *   the signal's reason when aborted.
 */
export async function ingestFile(
  backend: Backend,
  file: string,
  options: IngestOptions,
): Promise<IngestSummary> {
  const started = Date.now();
  const pseudo = options.pseudonymizer ?? (await pseudonymizer(backend));
  const sourceName = options.sourceName ?? path.basename(file);

  if (options.strict) {
    const check = await openClean(file, options, pseudo);
    const rejects: RejectedRow[] = [];
    let rows = 0;
    for await (const row of check.rows) {
      if (row.type === 'reject') rejects.push(row);
      if (++rows % 10_000 === 0) {
        options.onProgress?.({ rows, bytes: check.input.bytesRead(), totalBytes: check.input.totalBytes });
      }
    }
    if (rejects.length > 0) {
      const summary = baseSummary(
        file,
        sourceName,
        options,
        check.format,
        check.input.gzip,
        check.input.totalBytes,
      );
      summary.sha256 = check.input.sha256();
      summary.records = check.stats.records;
      summary.strictFailed = true;
      const sourceId = await insertSource(backend, summary, new Date(started));
      summary.sourceId = sourceId;
      await backend.transaction(async (s) => {
        await copyQuarantine(s, sourceId, rejects);
      });
      summary.rejected = rejects.length;
      for (const r of rejects) bump(summary.rejectedByReason, r.reason);
      Object.assign(summary, statsPart(check.stats));
      finish(summary, started);
      await updateSource(backend, summary);
      return summary;
    }
  }

  const clean = await openClean(file, options, pseudo);
  const summary = baseSummary(
    file,
    sourceName,
    options,
    clean.format,
    clean.input.gzip,
    clean.input.totalBytes,
  );
  const sourceId = await insertSource(backend, summary, new Date(started));
  summary.sourceId = sourceId;
  const chunkRows = options.chunkRows ?? CHUNK_ROWS;
  const positiveWins = options.kind === 'reddit';
  let chunk = newChunk();
  let pending: Promise<void> | undefined;
  let handled = 0;
  // On a server the load runs in another process: give its replies a turn while the next chunk is
  // cleaned. PGlite's work runs on this thread, so interleaving would gain nothing there.
  const overlap = backend.maxConcurrency > 1;
  let sinceTurn = 0;
  // With overlap the first load can start sooner: the first chunks are smaller (a quarter, then half).
  let limit = overlap ? Math.max(1, Math.floor(chunkRows / 4)) : chunkRows;

  const flush = async () => {
    const c = chunk;
    chunk = newChunk();
    if (pending) await pending;
    options.signal?.throwIfAborted();
    limit = Math.min(chunkRows, limit * 2);
    pending = loadChunk(backend, sourceId, c, positiveWins, summary).then(() => {
      handled += c.posts.length + c.labels.length + c.rejects.length;
      options.onProgress?.({
        rows: handled,
        bytes: clean.input.bytesRead(),
        totalBytes: clean.input.totalBytes,
      });
    });
    // Avoid an unhandled rejection while the next chunk is read; it is awaited before the next flush.
    pending.catch(() => {});
  };

  try {
    for await (const row of clean.rows) {
      if (row.type === 'post') {
        chunk.posts.push(row);
        chunk.chars += row.text.length;
      } else if (row.type === 'label') {
        chunk.labels.push(row);
      } else if (row.type === 'reject') {
        chunk.rejects.push(row);
        chunk.chars += row.raw.length;
        bump(summary.rejectedByReason, row.reason);
        summary.rejected++;
      } else {
        continue;
      }
      if (overlap && pending && ++sinceTurn >= YIELD_ROWS) {
        sinceTurn = 0;
        await nextTurn();
      }
      if (
        chunk.posts.length + chunk.labels.length + chunk.rejects.length >= limit ||
        chunk.chars >= CHUNK_CHARS
      ) {
        await flush();
      }
    }
    await flush();
    await pending;
  } catch (error) {
    clean.input.stream.destroy();
    await pending?.catch(() => {});
    summary.records = clean.stats.records;
    Object.assign(summary, statsPart(clean.stats));
    summary.sha256 = 'incomplete';
    finish(summary, started);
    await updateSource(backend, summary, error instanceof Error ? error.message : String(error)).catch(
      () => {},
    );
    throw error;
  }
  summary.sha256 = clean.input.sha256();
  summary.records = clean.stats.records;
  Object.assign(summary, statsPart(clean.stats));
  summary.inserted =
    options.kind === 'labels' ? summary.labels.inserted + summary.labels.updated : summary.posts.inserted;
  summary.duplicates = options.kind === 'labels' ? summary.labels.unchanged : summary.posts.duplicates;
  finish(summary, started);
  await updateSource(backend, summary);
  return summary;
}

function baseSummary(
  file: string,
  sourceName: string,
  options: IngestOptions,
  format: InputFormat,
  gzip: boolean,
  bytes: number,
): IngestSummary {
  return {
    sourceId: 0,
    file,
    sourceName,
    kind: options.kind,
    format,
    gzip,
    sha256: '',
    bytes,
    records: 0,
    inserted: 0,
    duplicates: 0,
    rejected: 0,
    rejectedByReason: {},
    posts: { inserted: 0, duplicates: 0 },
    labels: { inserted: 0, updated: 0, unchanged: 0 },
    users: 0,
    repaired: {},
    skipped: {},
    scrubbed: { user: 0, url: 0, email: 0, phone: 0 },
    unlabelled: 0,
    strictFailed: false,
    seconds: 0,
    rowsPerSecond: 0,
  };
}

function statsPart(
  stats: ReadStats,
): Pick<IngestSummary, 'repaired' | 'skipped' | 'scrubbed' | 'unlabelled'> {
  return {
    repaired: stats.repaired,
    skipped: stats.skipped,
    scrubbed: stats.scrubbed,
    unlabelled: stats.unlabelled,
  };
}

function finish(summary: IngestSummary, started: number): void {
  summary.seconds = (Date.now() - started) / 1000;
  summary.rowsPerSecond = summary.seconds > 0 ? summary.records / summary.seconds : 0;
}

async function insertSource(backend: Backend, s: IngestSummary, startedAt: Date): Promise<number> {
  const row = await backend.db
    .insertInto('mhmtl.sources')
    .values({
      name: s.sourceName,
      file_name: path.basename(s.file),
      sha256: 'pending',
      format: s.gzip ? `${s.format}.gz` : s.format,
      kind: s.kind,
      started_at: startedAt,
    })
    .returning('source_id')
    .executeTakeFirstOrThrow();
  return Number(row.source_id);
}

async function updateSource(backend: Backend, s: IngestSummary, error?: string): Promise<void> {
  const details = {
    records: s.records,
    rejected_by_reason: s.rejectedByReason,
    repaired: s.repaired,
    skipped: s.skipped,
    scrubbed: s.scrubbed,
    posts: s.posts,
    labels: s.labels,
    users_inserted: s.users,
    unlabelled_posts: s.unlabelled,
    strict_failed: s.strictFailed,
    bytes: s.bytes,
    rows_per_second: Math.round(s.rowsPerSecond),
    ...(error !== undefined ? { error } : {}),
  };
  await backend.db
    .updateTable('mhmtl.sources')
    .set({
      sha256: s.sha256,
      inserted: s.inserted,
      duplicates: s.duplicates,
      rejected: s.rejected,
      details: JSON.stringify(details),
      finished_at: new Date(),
    })
    .where('source_id', '=', s.sourceId)
    .execute();
}

async function copyQuarantine(s: Session, sourceId: number, rejects: readonly RejectedRow[]): Promise<void> {
  if (rejects.length === 0) return;
  await s.copyFrom(
    'mhmtl.quarantine',
    ['source_id', 'line_number', 'reason', 'raw'],
    encodeCopyText(rejects.map((r) => [sourceId, r.line, r.message, r.raw])),
  );
}

/** Load one chunk in one transaction; adds its counts to `summary`. */
async function loadChunk(
  backend: Backend,
  sourceId: number,
  c: Chunk,
  positiveWins: boolean,
  summary: IngestSummary,
): Promise<void> {
  if (c.posts.length + c.labels.length + c.rejects.length === 0) return;
  // One connection that serializes transactions (embedded): no other writer can add a post between
  // the duplicate check and the COPY, so posts are copied straight into mhmtl.posts.
  const singleWriter = backend.maxConcurrency === 1;
  const counts = await backend.transaction(async (s) => {
    // No wait for the WAL flush at this commit: ingestFile's last statement (the sources update)
    // commits synchronously, and its flush covers every earlier commit's WAL, so the file is
    // durable when ingestFile returns. A crash before that can lose the last chunks' commits (never
    // part of one: a transaction is still all or nothing); that source row is then unfinished
    // (finished_at null), and ingesting the file again adds what is missing.
    await s.query('SET LOCAL synchronous_commit = off');
    let users = 0;
    let postsInserted = 0;
    let labelsInserted = 0;
    let labelsUpdated = 0;
    if (c.posts.length > 0 && singleWriter) {
      const direct = await copyPostsDirect(s, sourceId, c.posts);
      users += direct.users;
      postsInserted = direct.inserted;
    } else if (c.posts.length > 0) {
      await s.query(
        `CREATE TEMP TABLE ingest_posts (user_id text, post_id text, created_at timestamptz, text text, lang text, text_hash text, community text, flags text[]) ON COMMIT DROP`,
      );
      await s.copyFrom('ingest_posts', POST_COPY_COLUMNS, encodeCopyText(c.posts.map(postCopyRow)));
      users += await insertUsers(s, 'ingest_posts', sourceId);
      const r = await s.query<{ n: number }>(
        `WITH ins AS (
           INSERT INTO mhmtl.posts (user_id, post_id, created_at, text, lang, text_hash, community, flags, source_id)
           SELECT user_id, post_id, created_at, text, lang, text_hash, community, flags, $1 FROM ingest_posts
           ON CONFLICT (user_id, post_id) DO NOTHING
           RETURNING 1)
         SELECT count(*)::int4 AS n FROM ins`,
        [sourceId],
      );
      postsInserted = Number(r[0]?.n ?? 0);
    }
    if (c.labels.length > 0) {
      await s.query(
        `CREATE TEMP TABLE ingest_labels (user_id text, task text, label smallint, line bigint) ON COMMIT DROP`,
      );
      await s.copyFrom(
        'ingest_labels',
        ['user_id', 'task', 'label', 'line'],
        encodeCopyText(c.labels.map((l) => [l.userId, l.task, l.label, l.line])),
      );
      users += await insertUsers(s, 'ingest_labels', sourceId);
      // Label files: the last line for (user, task) wins. Reddit: a positive from any post wins.
      const select = positiveWins
        ? `SELECT user_id, task, max(label) AS label FROM ingest_labels GROUP BY user_id, task`
        : `SELECT DISTINCT ON (user_id, task) user_id, task, label FROM ingest_labels ORDER BY user_id, task, line DESC`;
      const newLabel = positiveWins ? 'GREATEST(l.label, EXCLUDED.label)' : 'EXCLUDED.label';
      // Inserted or updated: whether the (user, task) was there in the statement's snapshot (`known`).
      // `RETURNING (xmax = 0)` would say it without the join, but PostgreSQL refuses system columns
      // in RETURNING of a partitioned table (`mhmtl db partition`). The one difference: a label
      // that a concurrent ingest inserts after this statement's snapshot and that this statement
      // then updates is counted as inserted here (the row is right either way).
      const r = await s.query<{ inserted: number; updated: number }>(
        `WITH src AS (${select}),
         known AS (SELECT l.user_id, l.task FROM mhmtl.labels AS l JOIN src USING (user_id, task)),
         up AS (
           INSERT INTO mhmtl.labels AS l (user_id, task, label, source_id)
           SELECT user_id, task, label, $1 FROM src
           ON CONFLICT (user_id, task) DO UPDATE
             SET label = ${newLabel}, source_id = EXCLUDED.source_id, updated_at = now()
             WHERE l.label IS DISTINCT FROM ${newLabel}
           RETURNING l.user_id, l.task)
         SELECT count(*) FILTER (WHERE k.user_id IS NULL)::int4 AS inserted,
                count(*) FILTER (WHERE k.user_id IS NOT NULL)::int4 AS updated
           FROM up LEFT JOIN known AS k USING (user_id, task)`,
        [sourceId],
      );
      labelsInserted = Number(r[0]?.inserted ?? 0);
      labelsUpdated = Number(r[0]?.updated ?? 0);
    }
    await copyQuarantine(s, sourceId, c.rejects);
    return { users, postsInserted, labelsInserted, labelsUpdated };
  });
  summary.users += counts.users;
  summary.posts.inserted += counts.postsInserted;
  summary.posts.duplicates += c.posts.length - counts.postsInserted;
  summary.labels.inserted += counts.labelsInserted;
  summary.labels.updated += counts.labelsUpdated;
  const distinctLabels = new Set(c.labels.map((l) => `${l.userId}\u0001${l.task}`)).size;
  summary.labels.unchanged += distinctLabels - counts.labelsInserted - counts.labelsUpdated;
}

/**
 * Load posts without staging, for a database with a single writer: insert the chunk's users
 * (`RETURNING` the new ones), look up which (user, post) keys already exist, only among users
 * that are not new (a new user has no posts), drop those and repeats within the chunk (the first
 * wins, as `ON CONFLICT DO NOTHING` from staging in file order does), and COPY the rest into
 * mhmtl.posts. Two array parameters per statement, whatever the chunk size.
 * @returns new users and inserted posts.
 */
async function copyPostsDirect(
  s: Session,
  sourceId: number,
  posts: readonly CleanPost[],
): Promise<{ users: number; inserted: number }> {
  const chunkUsers = [...new Set(posts.map((p) => p.userId))];
  const fresh = new Set(
    (
      await s.query<{ user_id: string }>(
        `INSERT INTO mhmtl.users (user_id, first_source_id) SELECT u, $2::bigint FROM unnest($1::text[]) AS u
         ON CONFLICT (user_id) DO NOTHING RETURNING user_id`,
        [chunkUsers, sourceId],
      )
    ).map((r) => r.user_id),
  );
  const known = posts.filter((p) => !fresh.has(p.userId));
  const seen = new Set<string>();
  if (known.length > 0) {
    const existing = await s.query<{ user_id: string; post_id: string }>(
      `SELECT p.user_id, p.post_id FROM mhmtl.posts AS p
         JOIN unnest($1::text[], $2::text[]) AS k (user_id, post_id)
           ON p.user_id = k.user_id AND p.post_id = k.post_id`,
      [known.map((p) => p.userId), known.map((p) => p.postId)],
    );
    for (const r of existing) seen.add(`${r.user_id}\u0001${r.post_id}`);
  }
  const rows: unknown[][] = [];
  for (const p of posts) {
    const key = `${p.userId}\u0001${p.postId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    rows.push([...postCopyRow(p), sourceId]);
  }
  if (rows.length > 0)
    await s.copyFrom('mhmtl.posts', [...POST_COPY_COLUMNS, 'source_id'], encodeCopyText(rows));
  return { users: fresh.size, inserted: rows.length };
}

async function insertUsers(s: Session, staging: string, sourceId: number): Promise<number> {
  const r = await s.query<{ n: number }>(
    `WITH ins AS (
       INSERT INTO mhmtl.users (user_id, first_source_id)
       SELECT DISTINCT user_id, $1::bigint FROM ${staging}
       ON CONFLICT (user_id) DO NOTHING
       RETURNING 1)
     SELECT count(*)::int4 AS n FROM ins`,
    [sourceId],
  );
  return Number(r[0]?.n ?? 0);
}
