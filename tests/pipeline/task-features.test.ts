import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/db/backend.js';
import type { TaskFeaturesTable } from '../../src/db/schema.js';
import { DEFAULT_READER_ROLE, READER_ACCESS } from '../../src/db/reader-access.js';
import { openBackend } from '../../src/db/open.js';
import { readRunReport } from '../../src/evaluate/store.js';
import { ingestFile } from '../../src/ingest/index.js';
import { createLogger } from '../../src/pipeline/log.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { Random } from '../../src/model/random.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase, testBackendNames } from '../helpers/databases.js';
import { makeTempDir } from '../helpers/tmp.js';

/**
 * What each head relies on (mhmtl.task_features), end to end on a constructed cohort whose answer
 * is known: `zebrafish` is written by the anxiety positives only and `lantern` by the depression
 * positives only (each its task's only signal); every other word is noise shared by everyone, and
 * `onceonly` is written by one user (below min_df = 2, so it can never be a term).
 */
const NOISE =
  'today went walk coffee friend music movie work home rain sun dinner book game call city park train'.split(
    ' ',
  );
const MIN_DF = 2;
const TOP = 5;

let dir: string;
let postsFile: string;
let labelsFile: string;
beforeAll(() => {
  dir = makeTempDir('mhmtl-task-features-');
  const r = new Random(17);
  const posts: string[] = [];
  const labels: string[] = [];
  for (let u = 0; u < 90; u++) {
    const anxiety = u % 5 < 2 ? 1 : 0;
    const depression = u % 3 === 0 ? 1 : 0;
    for (let p = 0; p < 4; p++) {
      const words = Array.from({ length: 8 }, () => NOISE[Math.floor(r.next() * NOISE.length)]!);
      if (anxiety && p < 2) words.push('zebrafish');
      if (depression && p >= 2) words.push('lantern');
      if (u === 4 && p === 0) words.push('onceonly');
      posts.push(
        JSON.stringify({
          post_id: `u${u}-p${p}`,
          user_id: `u${u}`,
          created_at: `2020-01-0${p + 1}T10:00:00Z`,
          text: words.join(' '),
        }),
      );
    }
    labels.push(JSON.stringify({ user_id: `u${u}`, labels: { anxiety, depression } }));
  }
  postsFile = path.join(dir, 'posts.jsonl');
  labelsFile = path.join(dir, 'labels.jsonl');
  writeFileSync(postsFile, `${posts.join('\n')}\n`);
  writeFileSync(labelsFile, `${labels.join('\n')}\n`);
});

/** A row of mhmtl.task_features as selected (without run_id). */
type Row = Omit<TaskFeaturesTable, 'run_id' | 'repeat'> & { repeat: number };

for (const name of testBackendNames()) {
  describe(`mhmtl.task_features [${name}]`, () => {
    let database: TestDatabase;
    let backend: Backend;
    let runId: number;
    let rows: Row[];
    beforeAll(async () => {
      database = await createTestDatabase(name);
      backend = await openBackend(database.config);
      await ingestFile(backend, postsFile, { kind: 'posts' });
      await ingestFile(backend, labelsFile, { kind: 'labels' });
      const result = await runPipeline(
        backend,
        {
          file: null,
          config: {
            name: 'terms-test',
            seed: 5,
            inputs: [],
            tasks: { main: ['anxiety', 'depression'] },
            features: { word_ngrams: [1, 1], min_df: MIN_DF },
            training: { epochs: 30, patience: 30, learning_rate: 0.05 },
            evaluation: { bootstrap: 0, min_positives: 1, repeats: 2, top_terms: TOP },
            models: [
              { name: 'mtl', kind: 'mtl', model: { architecture: 'hard_sharing', hidden: [8], dropout: 0 } },
              { name: 'lr', kind: 'lr' },
            ],
          },
        },
        { log: createLogger('text', { quiet: true }), skipIngest: true, workers: 0 },
      );
      expect(result.status).toBe('succeeded');
      runId = result.runId;
      rows = await backend.transaction((s) =>
        s.query<Row>(
          `SELECT repeat, model, task, direction, rank, term, weight, method, units
           FROM mhmtl.task_features WHERE run_id = $1 ORDER BY repeat, model, task, direction DESC, rank`,
          [runId],
        ),
      );
    }, 300_000);
    afterAll(async () => {
      await backend?.close();
      await database?.cleanup();
    });

    it('stores, per repeat, model and task, up to top_terms ranked terms each way, signed by direction', () => {
      const heads = new Set(rows.map((r) => `${r.repeat}/${r.model}/${r.task}`));
      expect([...heads].sort()).toEqual(
        [0, 1].flatMap((rep) =>
          ['lr', 'mtl'].flatMap((m) => ['anxiety', 'depression'].map((t) => `${rep}/${m}/${t}`)),
        ),
      );
      for (const head of heads) {
        for (const direction of ['toward', 'away'] as const) {
          const own = rows.filter(
            (r) => `${r.repeat}/${r.model}/${r.task}` === head && r.direction === direction,
          );
          expect(own.length).toBeLessThanOrEqual(TOP);
          expect(own.map((r) => r.rank)).toEqual(own.map((_, i) => i + 1));
          for (const [i, r] of own.entries()) {
            expect(direction === 'toward' ? r.weight > 0 : r.weight < 0).toBe(true);
            if (i > 0) expect(Math.abs(r.weight)).toBeLessThanOrEqual(Math.abs(own[i - 1]!.weight));
          }
        }
      }
      expect(new Set(rows.filter((r) => r.model === 'lr').map((r) => r.method))).toEqual(
        new Set(['coefficient']),
      );
      expect(rows.filter((r) => r.model === 'lr').every((r) => r.units === null)).toBe(true);
      expect(new Set(rows.filter((r) => r.model === 'mtl').map((r) => r.method))).toEqual(
        new Set(['gradient_x_input']),
      );
    });

    it('ranks first the word planted as the only signal of each task, for LR and the network', () => {
      for (const rep of [0, 1])
        for (const model of ['lr', 'mtl']) {
          const first = (task: string) =>
            rows.find(
              (r) =>
                r.repeat === rep &&
                r.model === model &&
                r.task === task &&
                r.direction === 'toward' &&
                r.rank === 1,
            )?.term;
          expect(first('anxiety')).toBe('w:zebrafish');
          expect(first('depression')).toBe('w:lantern');
        }
    });

    it('averages the network over the test positives: units equal the test split’s positives', async () => {
      const reports = await backend.transaction((s) =>
        s.query<{ repeat: number; task: string; positives: number }>(
          `SELECT repeat, task, positives FROM mhmtl.task_reports
           WHERE run_id = $1 AND model = 'mtl' AND split = 'test' AND fold = 0`,
          [runId],
        ),
      );
      expect(reports.length).toBe(4);
      for (const rep of reports) {
        const units = rows
          .filter((r) => r.model === 'mtl' && r.repeat === rep.repeat && r.task === rep.task)
          .map((r) => r.units);
        expect(rep.positives).toBeGreaterThan(0);
        expect(new Set(units)).toEqual(new Set([rep.positives]));
      }
    });

    it('holds only vocabulary terms with df >= min_df in the training units (never the one-user word)', async () => {
      const [space] = await backend.transaction((s) =>
        s.query<{ state: { vocabulary: string[]; df: number[] } }>(
          'SELECT state FROM mhmtl.feature_spaces WHERE run_id = $1',
          [runId],
        ),
      );
      const df = new Map(space!.state.vocabulary.map((t, i) => [t, space!.state.df[i]!]));
      const first = rows.filter((r) => r.repeat === 0);
      expect(first.length).toBeGreaterThan(0);
      for (const r of first) expect(df.get(r.term)).toBeGreaterThanOrEqual(MIN_DF);
      expect(rows.some((r) => r.term.includes('onceonly'))).toBe(false);
    });

    it('is not readable by the reader role (it holds vocabulary)', async () => {
      expect(Object.keys(READER_ACCESS)).not.toContain('task_features');
      const [privilege] = await backend.transaction((s) =>
        s.query<{ allowed: boolean }>(
          `SELECT has_table_privilege($1, 'mhmtl.task_features', 'SELECT')
                  OR has_any_column_privilege($1, 'mhmtl.task_features', 'SELECT') AS allowed`,
          [DEFAULT_READER_ROLE],
        ),
      );
      expect(privilege!.allowed).toBe(false);
      await expect(
        backend.transaction(async (s) => {
          await s.query(`SET LOCAL ROLE ${DEFAULT_READER_ROLE}`);
          return s.query('SELECT term FROM mhmtl.task_features');
        }),
      ).rejects.toThrow(/permission denied/);
    });

    it('reads back the first repeat into the report, and `mhmtl report --rows terms` shows it', async () => {
      const report = await readRunReport(backend, runId);
      const first = rows.filter((r) => r.repeat === 0);
      expect(report.terms).toEqual(
        [...first]
          .sort(
            (a, b) => a.task.localeCompare(b.task) || (a.model === b.model ? 0 : a.model === 'mtl' ? -1 : 1),
          )
          .map((r) => ({ model: r.model, task: r.task, rank: r.rank, term: r.term, weight: r.weight })),
      );
      if (name === 'pglite') await backend.close(); // one process at a time on an embedded database
      try {
        const table = await runCli([...database.cliArgs, 'report', String(runId), '--rows', 'terms']);
        expect(table.code).toBe(0);
        expect(table.stdout).toMatch(/What each head relies on/);
        expect(table.stdout).toMatch(/anxiety\s*\|\s*mtl\s*\|\s*1\s*\|\s*w:zebrafish\s*\|/);
        const csv = await runCli([
          ...database.cliArgs,
          'report',
          String(runId),
          '--rows',
          'terms',
          '--format',
          'csv',
        ]);
        expect(csv.code).toBe(0);
        const parsed = parse(csv.stdout, { columns: true }) as Record<string, string>[];
        expect(parsed.length).toBe(first.length);
        expect(parsed[0]).toEqual({
          run_id: String(runId),
          model: 'mtl',
          task: 'anxiety',
          direction: 'toward',
          rank: '1',
          term: 'w:zebrafish',
          weight: String(
            first.find(
              (r) => r.model === 'mtl' && r.task === 'anxiety' && r.rank === 1 && r.direction === 'toward',
            )!.weight,
          ),
        });
      } finally {
        if (name === 'pglite') backend = await openBackend(database.config);
      }
    });
  });
}
