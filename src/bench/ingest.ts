import { randomUUID } from 'node:crypto';
import { encodeCopyText } from '../db/backend.js';
import type { Backend } from '../db/backend.js';
import { createPseudonymizer, ingestFile, openClean } from '../ingest/index.js';
import { POST_COPY_COLUMNS, postCopyRow } from '../ingest/load.js';
import type { CleanPost } from '../ingest/types.js';
import type { BenchResult } from './types.js';

const CHUNK = 10_000;

/**
 * Measure `ingestFile` (posts, end to end: read, validate, repair, scrub, pseudonymize, stage,
 * insert) against a raw COPY of the same prepared rows (already clean; COPY text encoding is in
 * the timed part) in chunks of 10,000, in the same run, into scratch tables shaped like the real
 * ones (users with its key; posts with its key, text-hash index and foreign key to users), which
 * is the baseline of the ratio; a COPY into a bare table (primary key only) is in `extra`.
 *
 * The two are measured `repeats` times in alternation (baseline, ingest, baseline, ingest, ...)
 * so that a shared machine's load changes hit both alike; `value` and `baselineValue` are the
 * medians of the rates, `ratio` the median of the per-pair ratios. Before each ingest the bench
 * database's posts, users and quarantine are emptied (TRUNCATE ... CASCADE: only ever run this
 * on a scratch database), so every repeat loads into an empty table as the baseline does, and
 * each ingest uses a fresh random pseudonym key, so every row is new.
 * @returns rows/s of both and their ratio (ingest / raw COPY); extra holds peak RSS (MB) and
 *   every repeat's figures.
 */
export async function benchIngest(options: {
  backend: Backend;
  file: string;
  users: number;
  /** Pairs of (baseline, ingest) measurements, default 3. */
  repeats?: number;
}): Promise<BenchResult[]> {
  const { backend, file } = options;
  const repeats = Math.max(1, options.repeats ?? 3);
  const pseudo = () => createPseudonymizer(randomUUID(), 'environment');
  // The prepared rows of the baseline.
  const prepared: CleanPost[] = [];
  const clean = await openClean(file, { kind: 'posts' }, pseudo());
  for await (const row of clean.rows) if (row.type === 'post') prepared.push(row);

  const bare = await timeCopy(backend, prepared, false);
  let peakRss = process.memoryUsage().rss;
  const copyRates: number[] = [];
  const ingestRates: number[] = [];
  const ratios: number[] = [];
  let summary: Awaited<ReturnType<typeof ingestFile>> | undefined;
  for (let r = 0; r < repeats; r++) {
    const shaped = await timeCopy(backend, prepared, true);
    await backend.transaction(async (s) => {
      await s.query('TRUNCATE mhmtl.posts, mhmtl.users, mhmtl.quarantine CASCADE');
    });
    const tIngest = performance.now();
    summary = await ingestFile(backend, file, {
      kind: 'posts',
      pseudonymizer: pseudo(),
      sourceName: 'bench',
      onProgress: () => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      },
    });
    const ingestSeconds = (performance.now() - tIngest) / 1000;
    copyRates.push(prepared.length / shaped);
    ingestRates.push(summary.records / ingestSeconds);
    ratios.push(ingestRates[r]! / copyRates[r]!);
  }
  const round = (xs: number[], digits = 0) => xs.map((x) => x.toFixed(digits)).join(' ');
  return [
    {
      stage: 'ingest',
      name: `mhmtl ingest posts (${backend.name === 'postgres' ? 'server' : 'embedded'})`,
      users: options.users,
      unit: 'rows/s',
      value: Math.round(median(ingestRates)),
      baseline: `${backend.name === 'postgres' ? 'raw COPY FROM STDIN' : "raw PGlite COPY FROM '/dev/blob'"} into tables shaped like users and posts`,
      baselineValue: Math.round(median(copyRates)),
      ratio: Number(median(ratios).toFixed(3)),
      extra: {
        rows: summary!.records,
        inserted: summary!.posts.inserted,
        repeats,
        peak_rss_mb: Math.round(peakRss / 1e6),
        ingest_rows_per_s_each: round(ingestRates),
        copy_rows_per_s_each: round(copyRates),
        ratio_each: round(ratios, 3),
        bare_copy_rows_per_s: Math.round(prepared.length / bare),
      },
    },
  ];
}

/** The median of a non-empty list (the mean of the two middle values for an even length). */
function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Seconds to COPY the prepared rows into scratch tables (dropped afterwards). */
async function timeCopy(backend: Backend, prepared: readonly CleanPost[], shaped: boolean): Promise<number> {
  await backend.transaction(async (s) => {
    await s.query('DROP TABLE IF EXISTS mhmtl.bench_scratch_posts');
    await s.query('DROP TABLE IF EXISTS mhmtl.bench_scratch_users');
    await s.query('CREATE TABLE mhmtl.bench_scratch_users (user_id text PRIMARY KEY)');
    await s.query(
      `CREATE TABLE mhmtl.bench_scratch_posts (user_id text NOT NULL ${shaped ? 'REFERENCES mhmtl.bench_scratch_users' : ''}, post_id text NOT NULL, created_at timestamptz NOT NULL, text text NOT NULL, lang text, text_hash text NOT NULL, community text, flags text[] NOT NULL DEFAULT '{}', source_id bigint, ingested_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (user_id, post_id))`,
    );
    if (shaped) await s.query('CREATE INDEX ON mhmtl.bench_scratch_posts (user_id, text_hash)');
  });
  const seen = new Set<string>();
  const started = performance.now();
  for (let i = 0; i < prepared.length; i += CHUNK) {
    const chunk = prepared.slice(i, i + CHUNK);
    const users: string[][] = [];
    for (const p of chunk) {
      if (!seen.has(p.userId)) {
        seen.add(p.userId);
        users.push([p.userId]);
      }
    }
    await backend.transaction(async (s) => {
      await s.copyFrom('mhmtl.bench_scratch_users', ['user_id'], encodeCopyText(users));
      await s.copyFrom(
        'mhmtl.bench_scratch_posts',
        [...POST_COPY_COLUMNS, 'source_id'],
        encodeCopyText(chunk.map((p) => [...postCopyRow(p), 1])),
      );
    });
  }
  const seconds = (performance.now() - started) / 1000;
  await backend.transaction(async (s) => {
    await s.query('DROP TABLE mhmtl.bench_scratch_posts');
    await s.query('DROP TABLE mhmtl.bench_scratch_users');
  });
  return seconds;
}
