import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeCopyText } from '../db/backend.js';
import type { Backend } from '../db/backend.js';
import { createPseudonymizer, ingestFile, openClean } from '../ingest/index.js';
import { POST_COPY_COLUMNS, postCopyRow } from '../ingest/load.js';
import type { CleanPost } from '../ingest/types.js';
import { median, runMeasuredNode } from './measure.js';
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

/** A generated posts file for the memory benchmark, and what it holds. */
export interface BigPostsFile {
  file: string;
  posts: number;
  users: number;
  bytes: number;
}

/**
 * Write (or reuse, when its meta file says the same source and size) a JSON Lines posts file of at
 * least `targetBytes`, streamed: the posts of `source` (a generated cohort) again and again, the
 * k-th copy with `#r<k>` appended to every post_id and user_id, so every post and user is new.
 * Only the source's lines are held in memory; writes wait for the stream to drain.
 * @returns the file, its posts, users and bytes.
 */
export async function ensureBigPostsFile(
  source: string,
  out: string,
  targetBytes: number,
): Promise<BigPostsFile> {
  const metaFile = `${out}.meta.json`;
  if (existsSync(out) && existsSync(metaFile)) {
    const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as BigPostsFile & {
      source: string;
      target: number;
    };
    if (meta.source === source && meta.target === targetBytes && statSync(out).size === meta.bytes)
      return meta;
  }
  const lines = readFileSync(source, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
  const sourceUsers = new Set(lines.map((l) => (JSON.parse(l) as { user_id: string }).user_id)).size;
  mkdirSync(path.dirname(out), { recursive: true });
  const stream = createWriteStream(out);
  let bytes = 0;
  let posts = 0;
  let copies = 0;
  while (bytes < targetBytes) {
    const suffix = `#r${copies}`;
    const block: string[] = [];
    for (const line of lines) {
      const post = JSON.parse(line) as { post_id: string; user_id: string };
      post.post_id += suffix;
      post.user_id += suffix;
      block.push(JSON.stringify(post));
    }
    const text = `${block.join('\n')}\n`;
    bytes += Buffer.byteLength(text);
    posts += lines.length;
    copies++;
    if (!stream.write(text)) await once(stream, 'drain');
  }
  stream.end();
  await once(stream, 'finish');
  const meta = { file: out, posts, users: sourceUsers * copies, bytes, source, target: targetBytes };
  writeFileSync(metaFile, JSON.stringify(meta, null, 2));
  return meta;
}

/**
 * Peak memory of `mhmtl ingest posts` on a large file: the CLI in a child process on a fresh
 * embedded directory (`dataDir`) or server database (`databaseUrl`), created and migrated by an
 * earlier `mhmtl db migrate` process; the ingest's peak RSS from
 * `/usr/bin/time -v` ("Maximum resident set size"; else the child's own maxRSS at exit, written by
 * an --import hook), and its rows/s from the ingest summary. The target is 500 MB whatever the
 * file size (ratio = 500 / peak RSS, > 1 is under it).
 * @throws Error when the ingest fails.
 */
export async function benchIngestMemory(options: {
  cliMain: string;
  big: BigPostsFile;
  backend: 'pglite' | 'postgres';
  dataDir?: string;
  databaseUrl?: string;
  tmp: string;
}): Promise<BenchResult[]> {
  const { big, backend } = options;
  const dbArgs =
    backend === 'pglite' ? ['--data-dir', options.dataDir!] : ['--database-url', options.databaseUrl!];
  // The database is created and migrated first, in its own process: creating an embedded database
  // (PGlite's initdb) peaks near 900 MB whatever is loaded later, and is not the ingest.
  const migrate = spawnSync(process.execPath, [options.cliMain, ...dbArgs, 'db', 'migrate'], {
    encoding: 'utf8',
  });
  if (migrate.status !== 0)
    throw new Error(`mhmtl db migrate failed (exit ${migrate.status}): ${migrate.stderr}`);
  const run = await runMeasuredNode([options.cliMain, ...dbArgs, 'ingest', 'posts', big.file], options.tmp);
  if (run.code !== 0) throw new Error(`mhmtl ingest failed (exit ${run.code}):\n${run.stderr.slice(-3000)}`);
  const { stdout, seconds } = run;
  const rssKb = run.peakRssKb ?? Number.NaN;
  const records = Number(/: (\d+) records/.exec(stdout)?.[1] ?? Number.NaN);
  const inserted = Number(/posts (\d+) inserted/.exec(stdout)?.[1] ?? Number.NaN);
  const rowsPerSecond = Number(/(\d+) rows\/s/.exec(stdout)?.[1] ?? Number.NaN);
  const peakMb = rssKb / 1024;
  const where = backend === 'postgres' ? 'server' : 'embedded';
  const extra = {
    database: backend,
    stage_peak_rss_mb: Math.round(peakMb),
    stage_seconds: Number(seconds.toFixed(1)),
    file_mb: Math.round(big.bytes / 2 ** 20),
    posts: big.posts,
    records,
    inserted,
    peak_rss_source: run.peakRssSource,
  };
  return [
    {
      stage: 'ingest_memory',
      name: `mhmtl ingest posts peak RSS, ${Math.round(big.bytes / 2 ** 20)} MB file (${where})`,
      users: big.users,
      unit: 'MB',
      value: Number(peakMb.toFixed(0)),
      baseline: 'target 500 MB',
      baselineValue: 500,
      ratio: Number((500 / peakMb).toFixed(2)),
      extra,
    },
    {
      stage: 'ingest_memory',
      name: `mhmtl ingest posts, ${Math.round(big.bytes / 2 ** 20)} MB file (${where})`,
      users: big.users,
      unit: 'rows/s',
      value: rowsPerSecond,
      baseline: null,
      baselineValue: null,
      ratio: null,
      extra,
    },
  ];
}
