import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import { openBackend } from '../../src/db/open.js';
import { ingestFile } from '../../src/ingest/load.js';
import { partitionUserTables, USER_TABLES, userTableLayout } from '../../src/db/partition.js';
import { RUN_LOCK_KEY } from '../../src/pipeline/runs.js';
import { generateCohort } from '../../src/synth/generate.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { makeTempDir } from '../helpers/tmp.js';

/**
 * The claim of README's Scale section, in the closest form one server allows: the per-user tables
 * hash-partitioned by user (PostgreSQL declarative partitioning, `mhmtl db partition`), co-located,
 * give the same pipeline results as the plain schema. SCALE.md says what this shows and what not.
 * Server only: an embedded database has nothing to distribute.
 */
const server =
  process.env.MHMTL_TEST_DATABASE_URL !== undefined && process.env.MHMTL_TEST_DATABASE_URL !== '';
/** Both databases pseudonymize with this key, so that the same raw ids give the same units and splits. */
const KEY = 'partition-test-key-0123456789abcdef0123456789abcdef';
const env = { MHMTL_PSEUDONYM_KEY: KEY };

async function query<R>(config: TestDatabase, sql: string, params: unknown[] = []): Promise<R[]> {
  const backend = await openBackend(config.config);
  try {
    return await backend.transaction((s) => s.query<R>(sql, params), { readOnly: true });
  } finally {
    await backend.close();
  }
}

describe.runIf(server)('a pipeline run on hash-partitioned per-user tables [postgres]', () => {
  let dir: string;
  let pipelines: string[];
  let postsA: string;
  let plain: TestDatabase;
  let parted: TestDatabase;
  const out: Record<'plain' | 'parted', { stdout: string; stderr: string }> = {
    plain: { stdout: '', stderr: '' },
    parted: { stdout: '', stderr: '' },
  };

  beforeAll(async () => {
    dir = makeTempDir('mhmtl-partitioned-');
    const cohort = await generateCohort({
      users: 120,
      seed: 23,
      out: path.join(dir, 'cohort'),
      minPosts: 5,
      maxPosts: 15,
    });
    // Posts in two files: the partitioned database gets the first before it is partitioned (rows
    // the conversion must carry over) and the second after (the server's staging path into
    // partitioned tables); the user at the cut has posts in both.
    const lines = readFileSync(cohort.postsFile, 'utf8').trimEnd().split('\n');
    const half = Math.floor(lines.length / 2);
    postsA = path.join(dir, 'posts-a.jsonl');
    const postsB = path.join(dir, 'posts-b.jsonl');
    writeFileSync(postsA, `${lines.slice(0, half).join('\n')}\n`);
    writeFileSync(postsB, `${lines.slice(half).join('\n')}\n`);
    // A second label file that changes labels of the first (the later file wins): the upsert's
    // update path on partitioned labels.
    const changed = cohort.manifest.userIds
      .slice(0, 10)
      .map((u, i) => JSON.stringify({ user_id: u, task: 'anxiety', label: i % 2 }));
    const relabel = path.join(dir, 'labels-update.jsonl');
    writeFileSync(relabel, `${changed.join('\n')}\n`);
    const inputs = [
      { kind: 'posts', files: [postsA, postsB] },
      { kind: 'labels', files: [cohort.labelsFile, relabel] },
    ];
    const tasks = {
      main: ['neurotypical', 'anxiety', 'depression', 'suicide_attempt'],
      auxiliary: ['gender'],
    };
    // Run 1: the user as unit, every model family. Run 2: each post a unit (unit_id `user/post`),
    // the MTL network and LR only (1 + 4 models), to keep the test short.
    pipelines = [path.join(dir, 'users.json'), path.join(dir, 'posts.json')];
    writeFileSync(
      pipelines[0]!,
      JSON.stringify({
        name: 'partitioned-users',
        seed: 5,
        inputs,
        tasks,
        features: { word_ngrams: [1, 2], min_df: 2, max_features: 3000 },
        model: { hidden: [16], dropout: 0.1 },
        training: { epochs: 4, patience: 2, batch_size: 16 },
        evaluation: { bootstrap: 100 },
        baselines: { lr: true, stl: true, mtl_no_aux: true },
      }),
    );
    writeFileSync(
      pipelines[1]!,
      JSON.stringify({
        name: 'partitioned-posts',
        seed: 6,
        inputs,
        unit: { of_analysis: 'post' },
        tasks,
        features: { word_ngrams: [1, 1], min_df: 2, max_features: 2000 },
        model: { hidden: [8], dropout: 0.1 },
        training: { epochs: 2, patience: 1, batch_size: 64 },
        evaluation: { bootstrap: 50 },
        baselines: { lr: true, stl: false, mtl_no_aux: false },
      }),
    );
    [plain, parted] = await Promise.all([createTestDatabase('postgres'), createTestDatabase('postgres')]);

    const ingested = await runCli(['ingest', 'posts', postsA, '--quiet', ...parted.cliArgs], { env });
    expect(ingested.stderr).toBe('');
    const partition = await runCli(['db', 'partition', '--partitions', '8', ...parted.cliArgs], { env });
    expect(partition.stderr).toBe('');
    expect(partition.stdout).toMatch(
      /^hash-partitioned by user into 8 partitions each in [\d.]+ s: users \([1-9]\d* rows, by user_id\), posts \([1-9]\d* rows, by user_id\), labels \(0 rows/,
    );

    // The runs, one after the other (two cores are shared).
    for (const [name, db] of [
      ['plain', plain],
      ['parted', parted],
    ] as const) {
      for (const pipeline of pipelines) {
        const r = await runCli(['run', pipeline, '--workers', '1', ...db.cliArgs], { env });
        expect(r.stderr).toContain('succeeded');
        expect(r.code).toBe(0);
        out[name].stdout += r.stdout;
        out[name].stderr += r.stderr;
      }
    }
  }, 300_000);

  afterAll(async () => {
    await plain?.cleanup();
    await parted?.cleanup();
  });

  it('has every per-user table hash-partitioned into 8, and the plain database none', async () => {
    for (const [db, n] of [
      [parted, 8],
      [plain, 0],
    ] as const) {
      const backend = await openBackend(db.config);
      try {
        expect(await userTableLayout(backend)).toEqual(USER_TABLES.map((t) => ({ ...t, partitions: n })));
      } finally {
        await backend.close();
      }
    }
    const status = await runCli(['db', 'status', ...parted.cliArgs]);
    expect(status.stdout).toContain('per-user tables: hash-partitioned by user, 8 partitions each');
    // A partitioned table is listed once, with all its rows; its partitions are not listed.
    expect(status.stdout).not.toMatch(/posts_p\d/);
    const posts = await query<{ n: number }>(parted, 'SELECT count(*)::int AS n FROM mhmtl.posts');
    expect(status.stdout).toMatch(new RegExp(` posts +\\| +${posts[0]?.n}\\b`));
  });

  it('keeps every row of a user, in every per-user table, in partitions of the same remainder (co-located)', async () => {
    const remainder = (alias: string) => `substring(${alias}.tableoid::regclass::text FROM '_p(\\d+)$')`;
    const users = await query<{ partitions: number; users: number }>(
      parted,
      `SELECT count(DISTINCT ${remainder('u')})::int AS partitions, count(*)::int AS users FROM mhmtl.users u`,
    );
    // 120 users over 8 partitions: every partition holds some (the hash spreads them).
    expect(users[0]).toEqual({ partitions: 8, users: 120 });
    for (const { table, key } of USER_TABLES.filter((t) => t.table !== 'users')) {
      const r = await query<{ rows: number; apart: number }>(
        parted,
        `SELECT count(*)::int AS rows, count(*) FILTER (WHERE ${remainder('x')} <> ${remainder('u')})::int AS apart
           FROM mhmtl.${table} x JOIN mhmtl.users u ON u.user_id = x.${key}`,
      );
      expect(r[0]?.rows, table).toBeGreaterThan(0);
      expect(r[0]?.apart, table).toBe(0);
    }
  });

  it('joins posts and tokens partition by partition (what a shard would do alone)', async () => {
    const backend = await openBackend(parted.config);
    try {
      const plan = await backend.transaction(async (s) => {
        await s.query('SET LOCAL enable_partitionwise_join = on');
        return s.query<{ 'QUERY PLAN': unknown }>(
          `EXPLAIN (FORMAT JSON) SELECT p.user_id, t.tokens FROM mhmtl.posts p
             JOIN mhmtl.post_tokens t ON t.user_id = p.user_id AND t.post_id = p.post_id`,
        );
      });
      type Node = { 'Node Type': string; Plans: { 'Node Type': string }[] };
      const top = (plan[0]!['QUERY PLAN'] as { Plan: Node }[])[0]!.Plan;
      expect(top['Node Type']).toBe('Append');
      expect(top.Plans).toHaveLength(8);
      expect(top.Plans.every((p) => /Join|Nested Loop/.test(p['Node Type']))).toBe(true);
    } finally {
      await backend.close();
    }
  });

  it('ingests the same: the second posts file and both label files give the same counts', () => {
    const summary = (stderr: string, file: string) =>
      stderr
        .split('\n')
        .find((l) => l.includes(`ingested ${file}:`))
        ?.replace(/\([^)]*rows\/s[^)]*\)|[\d.]+ s\b/g, '');
    for (const file of ['posts-b.jsonl', 'labels.jsonl', 'labels-update.jsonl']) {
      expect(summary(out.parted.stderr, file), file).toBeDefined();
      expect(summary(out.parted.stderr, file), file).toBe(summary(out.plain.stderr, file));
    }
    expect(out.plain.stderr).toMatch(/ingested labels-update\.jsonl: 0 inserted, [1-9]\d* updated/);
  });

  it('gives the same reports, the same fingerprints and the same rows of every result table', async () => {
    // The report tables the runs print: identical text.
    expect(out.plain.stdout).toContain('run 2 (partitioned-posts, succeeded)');
    expect(out.parted.stdout).toBe(out.plain.stdout);
    const same = async (sql: string) => {
      const [a, b] = [await query(plain, sql), await query(parted, sql)];
      expect(a.length, sql).toBeGreaterThan(0);
      expect(b, sql).toEqual(a);
      return a.length;
    };
    await same(`SELECT run_id, pipeline, status, seed, data_fingerprint FROM mhmtl.runs ORDER BY run_id`);
    // Every column, metrics at full float8 precision: exactly equal (jsonb keeps every digit).
    await same(`SELECT to_jsonb(t) AS r FROM mhmtl.task_reports t ORDER BY run_id, model, task, split, fold`);
    await same(`SELECT to_jsonb(t) AS r FROM mhmtl.model_summaries t ORDER BY run_id, model, split, fold`);
    await same(
      `SELECT to_jsonb(t) AS r FROM mhmtl.roc_points t ORDER BY run_id, model, task, split, fold, point`,
    );
    await same(`SELECT to_jsonb(t) AS r FROM mhmtl.training_history t ORDER BY run_id, model, epoch, task`);
    // Per unit: every prediction (the float4 score exactly) and every split assignment.
    await same(
      `SELECT run_id, unit_id, model, task, fold, split, score FROM mhmtl.predictions ORDER BY run_id, unit_id, model, task, fold`,
    );
    await same(`SELECT run_id, unit_id, fold, split FROM mhmtl.splits ORDER BY run_id, unit_id, fold`);
    const [users, posts] = await query<{ n: number }>(
      parted,
      `SELECT count(*)::int AS n FROM mhmtl.splits GROUP BY run_id ORDER BY run_id`,
    );
    const nPosts = await query<{ n: number }>(parted, 'SELECT count(*)::int AS n FROM mhmtl.posts');
    expect([users?.n, posts?.n]).toEqual([120, nPosts[0]?.n]);
    // The models themselves, to the bit, and the fitted vocabularies and IDF.
    expect(
      await same(
        `SELECT run_id, model, family, tasks, best_epoch, md5(weights) AS weights FROM mhmtl.models ORDER BY run_id, model`,
      ),
    ).toBe(10 + 5);
    await same(
      `SELECT run_id, md5(state::text) AS state, n_features, n_units FROM mhmtl.feature_spaces ORDER BY run_id`,
    );
  });
});

describe.runIf(server)('mhmtl db partition: what the rewrite keeps [postgres]', () => {
  let db: TestDatabase;
  let backend: Backend;
  let dir: string;

  beforeAll(async () => {
    dir = makeTempDir('mhmtl-partition-');
    db = await createTestDatabase('postgres');
    backend = await openBackend(db.config);
  });
  afterAll(async () => {
    await backend?.close();
    await db?.cleanup();
  });

  const code = (e: unknown) => (e as { code?: string }).code;

  it('partitions an empty schema, and a second call with the same count changes nothing', async () => {
    const first = await partitionUserTables(backend, 4);
    expect(first.changed).toBe(true);
    expect(first.tables.map((t) => [t.table, t.before, t.rows])).toEqual(
      USER_TABLES.map((t) => [t.table, 0, 0]),
    );
    const again = await partitionUserTables(backend, 4);
    expect(again.changed).toBe(false);
    expect((await userTableLayout(backend)).map((t) => t.partitions)).toEqual([4, 4, 4, 4, 4, 4]);
  });

  it('counts inserted, updated and unchanged labels as on plain tables (the upsert of a labels file)', async () => {
    const first = path.join(dir, 'labels-1.jsonl');
    const second = path.join(dir, 'labels-2.jsonl');
    writeFileSync(
      first,
      [
        '{"user_id": "a", "task": "depression", "label": 1}',
        '{"user_id": "b", "task": "depression", "label": 0}',
      ].join('\n'),
    );
    writeFileSync(
      second,
      [
        '{"user_id": "a", "task": "depression", "label": 0}',
        '{"user_id": "b", "task": "depression", "label": 0}',
        '{"user_id": "c", "task": "depression", "label": 1}',
      ].join('\n'),
    );
    const a = await ingestFile(backend, first, { kind: 'labels' });
    expect(a.labels).toEqual({ inserted: 2, updated: 0, unchanged: 0 });
    const b = await ingestFile(backend, second, { kind: 'labels' });
    // a changed, b equal, c new
    expect(b.labels).toEqual({ inserted: 1, updated: 1, unchanged: 1 });
  });

  it('keeps the posts source check of migration 0007 (INSERT and COPY), and the foreign keys', async () => {
    const user = (
      await backend.db.selectFrom('mhmtl.users').select('user_id').limit(1).executeTakeFirstOrThrow()
    ).user_id;
    const post = (source: number, who = user) =>
      `${who}\tp-${source}\t2020-01-01T00:00:00Z\ttext\thash\t${source}\n`;
    const columns = ['user_id', 'post_id', 'created_at', 'text', 'text_hash', 'source_id'];
    const missing = 987_654;
    const inserted = await backend
      .transaction((s) =>
        s.query(
          `INSERT INTO mhmtl.posts (user_id, post_id, created_at, text, text_hash, source_id) VALUES ($1, 'p', now(), 't', 'h', $2)`,
          [user, missing],
        ),
      )
      .catch((e: unknown) => e);
    expect(code(inserted)).toBe('23503');
    expect(String(inserted)).toContain('violates its source check');
    const copied = await backend
      .transaction((s) => s.copyFrom('mhmtl.posts', columns, post(missing)))
      .catch((e: unknown) => e);
    expect(code(copied)).toBe('23503');
    const source = Number(
      (await backend.db.selectFrom('mhmtl.sources').select('source_id').limit(1).executeTakeFirstOrThrow())
        .source_id,
    );
    // A post of an unknown user: the foreign key to the partitioned users.
    const stranger = await backend
      .transaction((s) => s.copyFrom('mhmtl.posts', columns, post(source, 'nobody')))
      .catch((e: unknown) => e);
    expect(code(stranger)).toBe('23503');
    expect(String(stranger)).toContain('posts_user_id_fkey');
    // A good post, its tokens; a source named by posts cannot be deleted; deleting the post deletes its tokens.
    await backend.transaction(async (s) => {
      await s.copyFrom('mhmtl.posts', columns, post(source));
      await s.query(
        `INSERT INTO mhmtl.post_tokens (user_id, post_id, tokenizer, tokenizer_version, config_hash, tokens, n_tokens)
         VALUES ($1, $2, 'x', '1', 'h', '{text}', 1)`,
        [user, `p-${source}`],
      );
    });
    const deleted = await backend
      .transaction((s) => s.query('DELETE FROM mhmtl.sources WHERE source_id = $1', [source]))
      .catch((e: unknown) => e);
    expect(code(deleted)).toBe('23503');
    const tokens = await backend.transaction(async (s) => {
      await s.query('DELETE FROM mhmtl.posts WHERE user_id = $1 AND post_id = $2', [user, `p-${source}`]);
      return s.query<{ n: number }>('SELECT count(*)::int AS n FROM mhmtl.post_tokens');
    });
    expect(tokens[0]?.n).toBe(0);
  });

  it('keeps mhmtl_reader away from the rewritten tables, and keeps grants given before', async () => {
    const roles = await backend.transaction((s) =>
      s.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = 'mhmtl_reader'`),
    );
    if (roles[0]?.n !== 1) return; // a server user without CREATEROLE: the migration made no role
    await backend.transaction((s) => s.query('GRANT SELECT ON mhmtl.labels TO mhmtl_reader'));
    await partitionUserTables(backend, 8);
    const can = await backend.transaction((s) =>
      s.query<{ table: string; select: boolean }>(
        `SELECT t AS table, has_table_privilege('mhmtl_reader', 'mhmtl.' || t, 'SELECT') AS select
           FROM unnest($1::text[]) AS t ORDER BY t`,
        [[...USER_TABLES.map((u) => u.table), 'task_reports']],
      ),
    );
    expect(Object.fromEntries(can.map((r) => [r.table, r.select]))).toEqual({
      labels: true,
      post_tokens: false,
      posts: false,
      predictions: false,
      splits: false,
      task_reports: true,
      users: false,
    });
    await backend.transaction((s) => s.query('REVOKE SELECT ON mhmtl.labels FROM mhmtl_reader'));
  });

  it('waits for no run: exits 75 while a run holds the run lock, and changes nothing', async () => {
    const before = await userTableLayout(backend);
    const lock = await backend.advisoryLock(RUN_LOCK_KEY);
    try {
      const r = await runCli(['db', 'partition', '--partitions', '3', ...db.cliArgs]);
      expect(r.code).toBe(75);
      expect(r.stderr).toBe('mhmtl: another run is in progress: partition the tables when it is done\n');
    } finally {
      await lock?.release();
    }
    expect(await userTableLayout(backend)).toEqual(before);
  });

  it('repartitions to another count keeping every row, and refuses while a view reads a per-user table', async () => {
    const count = async () =>
      backend.transaction((s) =>
        s.query<{ users: number; labels: number; sources: number }>(
          `SELECT (SELECT count(*) FROM mhmtl.users)::int AS users, (SELECT count(*) FROM mhmtl.labels)::int AS labels,
                  (SELECT count(*) FROM mhmtl.sources)::int AS sources`,
        ),
      );
    const before = await count();
    expect(before[0]?.labels).toBe(3);
    const was = (await userTableLayout(backend))[0]!.partitions;
    expect(was).toBeGreaterThan(2);
    const r = await partitionUserTables(backend, 2);
    expect(r.tables.find((t) => t.table === 'labels')).toMatchObject({ before: was, rows: 3 });
    expect(await count()).toEqual(before);
    await backend.transaction((s) =>
      s.query('CREATE VIEW mhmtl.label_counts AS SELECT task, count(*) FROM mhmtl.labels GROUP BY task'),
    );
    const refused = await partitionUserTables(backend, 3).catch((e: unknown) => e);
    expect(String(refused)).toContain('mhmtl.label_counts (reads mhmtl.labels) would be dropped with them');
    expect((await userTableLayout(backend)).map((t) => t.partitions)).toEqual([2, 2, 2, 2, 2, 2]);
    await backend.transaction((s) => s.query('DROP VIEW mhmtl.label_counts'));
  });
});

describe('mhmtl db partition: usage', () => {
  it('refuses an embedded database and a bad count with exit 2 before anything is written', async () => {
    const dir = makeTempDir('mhmtl-partition-usage-');
    const dataDir = path.join(dir, 'data');
    const embedded = await runCli(['db', 'partition', '--partitions', '8', '--data-dir', dataDir]);
    expect(embedded.code).toBe(2);
    expect(embedded.stderr).toBe(
      'mhmtl: db partition needs a PostgreSQL server (--database-url or DATABASE_URL): an embedded database is one process on one machine, it has nothing to distribute\n',
    );
    const bad = await runCli(['db', 'partition', '--partitions', '0', '--data-dir', dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--partitions must be an integer from 1 to 256 (got '0')");
    expect(existsSync(dataDir)).toBe(false);
  });
});
