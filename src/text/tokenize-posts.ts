import pLimit from 'p-limit';
import type { Backend } from '../db/backend.js';
import { copyTextScalar } from './copy.js';
import { defaultWorkerCount, TokenizerPool } from './pool.js';
import { DEFAULT_TOKENIZER_CONFIG, type TokenizerConfig, tokenizerSignature } from './tokenizer.js';

/** Progress of {@link tokenizePosts}, reported after each batch is written. */
export interface TokenizeProgress {
  /** Posts tokenized and written so far. */
  done: number;
  /** Posts to tokenize in this run (counted at the start). */
  total: number;
  /** Tokens written so far. */
  tokens: number;
}

export interface TokenizeOptions {
  /** Worker threads (default: the cores); 0 tokenizes in the calling thread. */
  workers?: number;
  /** Posts per batch read, tokenized and written together (default 2000). */
  batchSize?: number;
  config?: Partial<TokenizerConfig>;
  onProgress?: (progress: TokenizeProgress) => void;
}

export interface TokenizeSummary {
  tokenizer: string;
  tokenizerVersion: string;
  configHash: string;
  /** Stored tokens of another tokenizer signature, deleted before this run. */
  stale: number;
  /** Posts tokenized by this run (0 when everything was up to date). */
  posts: number;
  tokens: number;
  workers: number;
  /** Wall time of the run, seconds. */
  seconds: number;
  /** tokens / seconds (0 when nothing was done). */
  tokensPerSecond: number;
}

const COLUMNS = ['user_id', 'post_id', 'tokenizer', 'tokenizer_version', 'config_hash', 'tokens', 'n_tokens'];

interface PostRow {
  user_id: string;
  post_id: string;
  text: string;
}

/**
 * `mhmtl tokenize`: tokenize every post that has no tokens of the current tokenizer signature and
 * store them in `mhmtl.post_tokens`. Tokens of another signature (a new rules version, wink
 * version or configuration) are deleted first, so their posts are re-tokenized. Incremental: a
 * second run finds nothing to do.
 *
 * Posts are streamed in batches by keyset pagination on (user_id, post_id), tokenized by a pool of
 * worker threads and bulk-loaded with COPY; at most `2 x workers` batches are in flight, so memory
 * is bounded whatever the number of posts. Every database transaction (reads and writes) goes
 * through one p-limit of `backend.maxConcurrency` (1 on PGlite: never two transactions at once).
 * @throws the database's error, or the worker's, after in-flight batches have settled; batches
 *   written before the error stay (a re-run continues from there).
 */
export async function tokenizePosts(
  backend: Backend,
  options: TokenizeOptions = {},
): Promise<TokenizeSummary> {
  const started = performance.now();
  const config: TokenizerConfig = { ...DEFAULT_TOKENIZER_CONFIG, ...options.config };
  const sig = tokenizerSignature(config);
  const batchSize = Math.max(1, Math.floor(options.batchSize ?? 2000));
  const workers = Math.max(0, Math.floor(options.workers ?? defaultWorkerCount()));
  const limit = pLimit(backend.maxConcurrency);

  const { stale, total } = await limit(() =>
    backend.transaction(async (s) => {
      const deleted = await s.query<{ n: number }>(
        `WITH d AS (
           DELETE FROM mhmtl.post_tokens
           WHERE tokenizer <> $1 OR tokenizer_version <> $2 OR config_hash <> $3
           RETURNING 1)
         SELECT count(*)::int AS n FROM d`,
        [sig.name, sig.version, sig.configHash],
      );
      const todo = await s.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM mhmtl.posts p
         WHERE NOT EXISTS (SELECT 1 FROM mhmtl.post_tokens t WHERE t.user_id = p.user_id AND t.post_id = p.post_id)`,
      );
      return { stale: deleted[0]?.n ?? 0, total: todo[0]?.n ?? 0 };
    }),
  );

  const summary = (posts: number, tokens: number): TokenizeSummary => {
    const seconds = (performance.now() - started) / 1000;
    return {
      tokenizer: sig.name,
      tokenizerVersion: sig.version,
      configHash: sig.configHash,
      stale,
      posts,
      tokens,
      workers,
      seconds,
      tokensPerSecond: tokens > 0 ? tokens / seconds : 0,
    };
  };
  if (total === 0) return summary(0, 0);

  const pool = new TokenizerPool({ workers, config });
  const prefix = `\t${copyTextScalar(sig.name)}\t${copyTextScalar(sig.version)}\t${copyTextScalar(sig.configHash)}\t`;
  let done = 0;
  let tokens = 0;
  let failure: unknown;
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = Math.max(2, 2 * Math.max(1, workers));

  const readPage = (after: PostRow | undefined) =>
    limit(() =>
      backend.transaction(
        (s) =>
          s.query<PostRow>(
            `SELECT p.user_id, p.post_id, p.text FROM mhmtl.posts p
             WHERE ${after ? '(p.user_id, p.post_id) > ($2, $3) AND' : ''}
               NOT EXISTS (SELECT 1 FROM mhmtl.post_tokens t WHERE t.user_id = p.user_id AND t.post_id = p.post_id)
             ORDER BY p.user_id, p.post_id
             LIMIT $1`,
            after ? [batchSize, after.user_id, after.post_id] : [batchSize],
          ),
        { readOnly: true },
      ),
    );

  const write = (data: string) =>
    limit(() => backend.transaction((s) => s.copyFrom('mhmtl.post_tokens', COLUMNS, data)));

  try {
    let after: PostRow | undefined;
    while (failure === undefined) {
      const rows = await readPage(after);
      if (rows.length === 0) break;
      after = rows[rows.length - 1];
      const texts = rows.map((r) => r.text);
      const keys = rows.map((r) => `${copyTextScalar(r.user_id)}\t${copyTextScalar(r.post_id)}`);
      const job = pool
        .encodeRows(keys, texts, prefix)
        .then(async (encoded) => {
          await write(encoded.data);
          done += rows.length;
          tokens += encoded.total;
          options.onProgress?.({ done, total, tokens });
        })
        .catch((error: unknown) => {
          failure ??= error;
        });
      inFlight.add(job);
      void job.finally(() => inFlight.delete(job));
      while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
      if (rows.length < batchSize) break;
    }
  } catch (error) {
    failure ??= error;
  }
  try {
    await Promise.all(inFlight);
  } finally {
    await pool.close();
  }
  if (failure !== undefined) throw failure;
  return summary(done, tokens);
}
