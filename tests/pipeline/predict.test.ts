import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import { openBackend } from '../../src/db/open.js';
import { listUnits, streamUnitDocuments } from '../../src/features/database.js';
import { ingestFile } from '../../src/ingest/load.js';
import { type Pseudonymizer, pseudonymizer } from '../../src/ingest/pseudonym.js';
import { createLogger } from '../../src/pipeline/log.js';
import { buildUnits, type PredictPost, predictFiles } from '../../src/pipeline/predict.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { startRun } from '../../src/pipeline/runs.js';
import { type CohortResult, generateCohort } from '../../src/synth/generate.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase, testBackendNames } from '../helpers/databases.js';

const TASKS = ['anxiety', 'depression'];
const log = createLogger('text', { quiet: true });

/** Every line of a JSONL file whose raw user_id is one of `users`. */
function postsOf(file: string, users: ReadonlySet<string>): string {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && users.has((JSON.parse(l) as { user_id: string }).user_id))
    .map((l) => `${l}\n`)
    .join('');
}

for (const name of testBackendNames()) {
  describe(`mhmtl predict [${name}]`, () => {
    let dir: string;
    let database: TestDatabase;
    let backend: Backend | null = null;
    let cohort: CohortResult;
    let fresh: CohortResult;
    let pseudo: Pseudonymizer;
    let runId: number;

    beforeAll(async () => {
      dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-predict-'));
      cohort = await generateCohort({
        users: 60,
        seed: 11,
        out: path.join(dir, 'cohort'),
        minPosts: 3,
        maxPosts: 8,
      });
      fresh = await generateCohort({
        users: 8,
        seed: 12,
        out: path.join(dir, 'fresh'),
        minPosts: 2,
        maxPosts: 6,
      });
      database = await createTestDatabase(name);
      backend = await openBackend(database.config);
      await ingestFile(backend, cohort.postsFile, { kind: 'posts' });
      await ingestFile(backend, cohort.labelsFile, { kind: 'labels' });
      const result = await runPipeline(
        backend,
        {
          file: null,
          config: {
            name: 'predict-test',
            seed: 5,
            inputs: [],
            tasks: { main: TASKS, auxiliary: ['gender'] },
            features: { word_ngrams: [1, 2], min_df: 2 },
            model: { hidden: [16], dropout: 0.1 },
            training: { epochs: 3, patience: 2 },
            evaluation: { bootstrap: 0 },
            baselines: { stl: true, lr: false, mtl_no_aux: false },
          },
        },
        { log, skipIngest: true, workers: 0 },
      );
      expect(result.status).toBe('succeeded');
      runId = result.runId;
      pseudo = await pseudonymizer(backend);
    });

    afterAll(async () => {
      await backend?.close();
      await database?.cleanup();
      rmSync(dir, { recursive: true, force: true });
    });

    it('builds units from posts exactly as the database does (time window, last N posts, boundary)', async () => {
      const db = backend!;
      const rows = await db.transaction((s) =>
        s.query<{ user_id: string; post_id: string; created_at: Date; tokens: string[] }>(
          `SELECT p.user_id, p.post_id, p.created_at, t.tokens FROM mhmtl.posts p
           JOIN mhmtl.post_tokens t USING (user_id, post_id)`,
        ),
      );
      const posts: PredictPost[] = rows.map((r) => ({
        userId: r.user_id,
        postId: r.post_id,
        createdAt: new Date(r.created_at).toISOString(),
        tokens: r.tokens,
      }));
      const middle = [...posts].map((p) => p.createdAt).sort()[Math.floor(posts.length / 3)]!;
      const selections = [
        { unit: 'user' as const, last_n_posts: null, time_window: null },
        { unit: 'user' as const, last_n_posts: 2, time_window: { from: middle, to: null } },
        { unit: 'post' as const, last_n_posts: 3, time_window: null },
      ];
      for (const selection of selections) {
        const expected: { unitId: string; tokens: string[] }[] = [];
        for await (const batch of streamUnitDocuments(db, selection)) expected.push(...batch);
        const built = buildUnits(posts, selection);
        expect(built.map((u) => u.unitId)).toEqual(await listUnits(db, selection));
        expect(built.map((u) => ({ unitId: u.unitId, tokens: u.tokens }))).toEqual(expected);
        expect(built.some((u) => u.tokens.includes(''))).toBe(selection.unit === 'user');
      }
    });

    it('refuses an unreadable file, a run without a feature space, a feature space of another tokenizer', async () => {
      const db = backend!;
      // A Reddit dump: no author column, so each post is its own user unit under its post pseudonym.
      const reddit = await predictFiles(db, {
        runId,
        kind: 'reddit',
        files: [path.resolve('fixtures/bad/reddit.csv')],
      });
      expect(reddit.rows.length).toBe(reddit.posts);
      expect(reddit.posts).toBeGreaterThan(0);
      expect(reddit.rejected).toBeGreaterThan(0);
      for (const r of reddit.rows) expect(r.unitId).toMatch(/^[0-9a-f]{32}$/);
      await expect(predictFiles(db, { runId, files: [path.join(dir, 'absent.jsonl')] })).rejects.toThrow(
        /^cannot read .*absent\.jsonl: no such file$/,
      );
      const bare = await startRun(db, {
        pipeline: 'cv',
        config: {},
        seed: 1,
        codeVersion: 'test',
        backend: 'test',
      });
      await expect(predictFiles(db, { runId: bare, files: [cohort.postsFile] })).rejects.toThrow(
        `run ${bare} has no stored feature space`,
      );
      await db.transaction((s) =>
        s.query(
          `INSERT INTO mhmtl.feature_spaces (run_id, config, state, n_features, n_units)
           SELECT $1, config, jsonb_set(state, '{meta,tokenizer}', '["mhmtl-wink 0 wink-nlp/0 model/0 0"]'),
                  n_features, n_units
           FROM mhmtl.feature_spaces WHERE run_id = $2`,
          [bare, runId],
        ),
      );
      await expect(predictFiles(db, { runId: bare, files: [cohort.postsFile] })).rejects.toThrow(
        /trained on tokens of another tokenizer/,
      );
      await expect(
        predictFiles(db, { runId, model: 'lr:anxiety', files: [cohort.postsFile] }),
      ).rejects.toThrow(`run ${runId} has no model 'lr:anxiety'`);
    });

    it('scores stored users exactly as the run stored them, and new users under pseudonyms only (CLI)', async () => {
      const db = backend!;
      const known = cohort.manifest.userIds.slice(0, 5);
      const subset = path.join(dir, 'known.jsonl');
      writeFileSync(subset, postsOf(cohort.postsFile, new Set(known)));
      const stored = await db.transaction((s) =>
        s.query<{ unit_id: string; model: string; task: string; score: number }>(
          `SELECT unit_id, model, task, score FROM mhmtl.predictions
           WHERE run_id = $1 AND fold = 0 AND unit_id = ANY($2::text[])`,
          [runId, known.map((u) => pseudo.user(u))],
        ),
      );
      expect(stored.length).toBe(5 * (TASKS.length + 1) + 5 * TASKS.length);
      // The single-task model of one task (in process): the same stored scores.
      const stl = await predictFiles(db, { runId, model: 'stl:anxiety', files: [subset] });
      expect(stl.tasks).toEqual(['anxiety']);
      const storedStl = stored.filter((x) => x.model === 'stl' && x.task === 'anxiety');
      expect(storedStl.length).toBe(5);
      for (const s of storedStl) {
        const row = stl.rows.find((x) => x.unitId === s.unit_id)!;
        expect(Math.fround(row.scores[0]!)).toBe(Math.fround(s.score));
      }
      // PGlite holds its directory exclusively: the CLI opens it after we close it.
      if (name === 'pglite') {
        await db.close();
        backend = null;
      }

      const out = path.join(dir, 'scores.jsonl');
      const r = await runCli([
        ...database.cliArgs,
        'predict',
        '--run',
        String(runId),
        subset,
        fresh.postsFile,
        '--out',
        out,
      ]);
      expect(r.stderr).toContain('scored 13 user unit(s)');
      expect(r.code).toBe(0);
      const text = readFileSync(out, 'utf8');
      const rows = text
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as Record<string, number | string>);
      expect(rows.map((row) => Object.keys(row))).toEqual(
        rows.map(() => ['unit_id', 'n_posts', ...TASKS, 'gender']),
      );

      const byUnit = new Map(rows.map((row) => [row.unit_id as string, row]));
      for (const s of stored.filter((x) => x.model === 'mtl')) {
        expect(Math.fround(byUnit.get(s.unit_id)![s.task] as number), `${s.unit_id} ${s.task}`).toBe(
          Math.fround(s.score),
        );
      }
      const freshIds = new Set(fresh.manifest.userIds.map((u) => pseudo.user(u)));
      const freshRows = rows.filter((row) => freshIds.has(row.unit_id as string));
      expect(freshRows.length).toBe(fresh.users);
      const postsPerUser = new Map<string, number>();
      for (const l of readFileSync(fresh.postsFile, 'utf8').trim().split('\n')) {
        const u = pseudo.user((JSON.parse(l) as { user_id: string }).user_id);
        postsPerUser.set(u, (postsPerUser.get(u) ?? 0) + 1);
      }
      for (const row of freshRows) {
        expect(row.unit_id).toMatch(/^[0-9a-f]{32}$/);
        expect(row.n_posts).toBe(postsPerUser.get(row.unit_id as string));
        for (const t of [...TASKS, 'gender']) {
          expect(row[t]).toBeGreaterThanOrEqual(0);
          expect(row[t]).toBeLessThanOrEqual(1);
        }
      }
      const m = fresh.manifest;
      const identifying = [...m.userIds, ...m.handles, ...m.redditUsers, ...m.emails, ...m.phones, ...m.urls];
      expect(identifying.length).toBeGreaterThan(8);
      for (const s of identifying) expect(text.includes(s), s).toBe(false);
    });

    it('fails with one line and exit 1 for a missing run, exit 2 for a bad --run', async () => {
      const missing = await runCli([...database.cliArgs, 'predict', '--run', '9999', cohort.postsFile]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toBe('mhmtl: run 9999 does not exist\n');
      expect(missing.stdout).toBe('');
      const bad = await runCli(['predict', '--run', 'x', cohort.postsFile]);
      expect(bad.code).toBe(2);
    });
  });
}
