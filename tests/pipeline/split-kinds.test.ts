import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../src/db/open.js';
import { UsageError } from '../../src/errors.js';
import { SPLIT_DEV, SPLIT_TEST, SPLIT_TRAIN, temporalSplit } from '../../src/evaluate/splits.js';
import { pseudonymizer } from '../../src/ingest/pseudonym.js';
import type { PipelineConfig } from '../../src/pipeline/config.js';
import { designSplits } from '../../src/pipeline/split-design.js';
import { runCli } from '../helpers/cli.js';
import {
  createTestDatabase,
  queryDatabase,
  type TestDatabase,
  testBackendNames,
} from '../helpers/databases.js';
import { writeOneTaskPipeline } from '../helpers/pipeline-file.js';
import { makeTempDir } from '../helpers/tmp.js';

/** `n` units with one task, alternating labels. */
const labelsOf = (n: number) => ({
  units: n,
  tasks: ['cond'],
  y: Float32Array.from({ length: n }, (_, i) => i % 2),
});
const configWith = (split: Record<string, unknown>, folds?: number): PipelineConfig =>
  ({
    name: 't',
    inputs: [],
    tasks: { main: ['cond'] },
    evaluation: { split, ...(folds ? { folds } : {}) },
  }) as PipelineConfig;

describe('temporal split', () => {
  it('puts the latest units in test and the ones before them in dev', () => {
    // times in reverse of the unit order, with a tie: the order is by time, then by unit
    const times = Float64Array.from([90, 80, 70, 60, 50, 40, 30, 20, 10, 10]);
    const split = temporalSplit(times, [0.6, 0.2, 0.2]);
    expect(Array.from(split)).toEqual([
      SPLIT_TEST,
      SPLIT_TEST,
      SPLIT_DEV,
      SPLIT_DEV,
      SPLIT_TRAIN,
      SPLIT_TRAIN,
      SPLIT_TRAIN,
      SPLIT_TRAIN,
      SPLIT_TRAIN,
      SPLIT_TRAIN,
    ]);
  });

  it('keeps train-only units (a --from-run run trained on them) in train and splits the rest by time', () => {
    const times = Float64Array.from([100, 90, 80, 70, 60, 50]);
    const trainOnly = Uint8Array.from([1, 0, 0, 0, 0, 0]);
    const split = temporalSplit(times, [0.6, 0.2, 0.2], trainOnly);
    // unit 0 is the latest but train-only; of the other 5: 1 test (the latest), 1 dev
    expect(Array.from(split)).toEqual([
      SPLIT_TRAIN,
      SPLIT_TEST,
      SPLIT_DEV,
      SPLIT_TRAIN,
      SPLIT_TRAIN,
      SPLIT_TRAIN,
    ]);
  });

  it('designSplits records the cut-off times and refuses units without dates to order by', () => {
    const ids = Array.from({ length: 10 }, (_, i) => `u${i}`);
    const times = Float64Array.from({ length: 10 }, (_, i) => Date.UTC(2020, 0, 1 + i));
    const d = designSplits(
      labelsOf(10),
      ids,
      configWith({ kind: 'temporal', train: 0.6, dev: 0.2, test: 0.2 }),
      1,
      undefined,
      {
        times,
      },
    );
    expect(d.record).toMatchObject({
      kind: 'temporal',
      order_by: 'last_post',
      dev_from: '2020-01-07T00:00:00.000Z',
      test_from: '2020-01-09T00:00:00.000Z',
      parts: { train: 6, dev: 2, test: 2 },
    });
    const same = new Float64Array(10).fill(Date.UTC(2020, 0, 1));
    expect(() =>
      designSplits(labelsOf(10), ids, configWith({ kind: 'temporal' }), 1, undefined, { times: same }),
    ).toThrow(
      /a temporal split needs dated units, but every unit's last post has the same time \(2020-01-01/,
    );
    // 3 units, 10% dev: round(0.3) = 0 dev units
    expect(() =>
      designSplits(labelsOf(3), ids.slice(0, 3), configWith({ kind: 'temporal' }), 1, undefined, {
        times: times.slice(0, 3),
      }),
    ).toThrow(UsageError);
  });
});

describe('given split (pure)', () => {
  const ids = ['a', 'b', 'c', 'd'];
  const codes = Int8Array.from([SPLIT_TRAIN, SPLIT_TRAIN, SPLIT_DEV, SPLIT_TEST]);
  it('uses the codes as given, in every repeat', () => {
    const d = designSplits(
      labelsOf(4),
      ids,
      {
        ...configWith({ kind: 'given', file: 'x' }),
        evaluation: { split: { kind: 'given', file: 'x' }, repeats: 2 },
      },
      1,
      undefined,
      {
        given: { codes, record: { unknown_users: 0 } },
      },
    );
    expect(d.repeats.map((r) => Array.from(r.assignments[0]!))).toEqual([
      Array.from(codes),
      Array.from(codes),
    ]);
    expect(d.record).toMatchObject({ kind: 'given', parts: { train: 2, dev: 1, test: 1 } });
  });
  it('refuses an empty part, and a split that tests on units a --from-run run learned from', () => {
    expect(() =>
      designSplits(labelsOf(4), ids, configWith({ kind: 'given', file: 'x' }), 1, undefined, {
        given: { codes: Int8Array.from([0, 0, 2, 2]), record: {} },
      }),
    ).toThrow(/the given split leaves dev empty \(units per part: train 2, dev 0, test 2\)/);
    expect(() =>
      designSplits(
        labelsOf(4),
        ids,
        configWith({ kind: 'given', file: 'x' }),
        1,
        { runId: 5, units: new Set(['d']) },
        {
          given: { codes, record: {} },
        },
      ),
    ).toThrow(/puts 1 units that the --from-run run trained or early-stopped on in dev or test/);
  });
});

// --- through the CLI: a cohort of 60 users whose last posts are on days 1..60 ---

const USERS = 60;
let dir: string;
let files: { posts: string; labels: string; given: string; noDev: string };

beforeAll(() => {
  dir = makeTempDir('mhmtl-splits-');
  const posts: string[] = [];
  const labels: string[] = [];
  const words = 'apple river stone cloud music garden window paper bread coffee'.split(' ');
  for (let u = 0; u < USERS; u++) {
    for (let k = 0; k < 3; k++) {
      const text = Array.from({ length: 6 }, (_, i) => words[(u * 7 + k * 3 + i * 5) % words.length]).join(
        ' ',
      );
      posts.push(
        JSON.stringify({
          user_id: `user${u}`,
          post_id: `p${u}-${k}`,
          created_at: new Date(Date.UTC(2021, 0, 1 + u, k)).toISOString(),
          text,
        }),
      );
    }
    labels.push(JSON.stringify({ user_id: `user${u}`, task: 'cond', label: u % 2 }));
  }
  const given = ['user_id,split'];
  // 40 train, 10 dev, 9 test, user59 not named, two ids that are no one's
  for (let u = 0; u < USERS - 1; u++) given.push(`user${u},${u < 40 ? 'train' : u < 50 ? 'Dev' : 'test'}`);
  given.push('ghost1,train', 'ghost2,test');
  files = {
    posts: path.join(dir, 'posts.jsonl'),
    labels: path.join(dir, 'labels.jsonl'),
    given: path.join(dir, 'given.csv'),
    noDev: path.join(dir, 'no-dev.csv'),
  };
  writeFileSync(files.posts, `${posts.join('\n')}\n`);
  writeFileSync(files.labels, `${labels.join('\n')}\n`);
  writeFileSync(files.given, `${given.join('\n')}\n`);
  writeFileSync(
    files.noDev,
    `user_id,split\n${Array.from({ length: USERS }, (_, u) => `user${u},${u < 40 ? 'train' : 'test'}`).join('\n')}\n`,
  );
});

function pipeline(name: string, split: Record<string, unknown>, folds?: number): string {
  return writeOneTaskPipeline(dir, name, files, {
    features: { word_ngrams: [1, 1], min_df: 1 },
    model: { hidden: [4] },
    training: { epochs: 1, patience: 1 },
    evaluation: { split, bootstrap: 0, min_positives: 1, ...(folds ? { folds } : {}) },
    baselines: { lr: false, stl: false, mtl_no_aux: false },
  });
}

/** `mhmtl run <pipeline> --workers 1` on a test database. */
const runPipelineCli = (file: string, db: TestDatabase) =>
  runCli(['run', file, '--workers', '1', ...db.cliArgs]);

/** A CLI run trains and writes: on a loaded 2-core machine it takes minutes. */
const CLI_TIMEOUT = 300_000;

for (const name of testBackendNames()) {
  describe(`evaluation.split kinds through mhmtl run [${name}]`, () => {
    let db: TestDatabase;
    const query = <R>(sql: string, params: unknown[] = []) => queryDatabase<R>(db.config, sql, params);

    beforeAll(async () => {
      db = await createTestDatabase(name);
    });
    afterAll(async () => db.cleanup());

    it(
      'temporal: every test unit posted last after every dev unit, and every dev unit after every train unit',
      async () => {
        const r = await runPipelineCli(
          pipeline('temporal', { kind: 'temporal', train: 0.7, dev: 0.1, test: 0.2 }),
          db,
        );
        expect(r.stderr).toContain('temporal split: train 42, dev 6, test 12 units');
        expect(r.code).toBe(0);
        const rows = await query<{ split: string; first: string; last: string }>(
          `SELECT s.split, min(t.last) AS first, max(t.last) AS last FROM mhmtl.splits s
         JOIN (SELECT user_id, max(created_at) AS last FROM mhmtl.posts GROUP BY user_id) t ON t.user_id = s.unit_id
         WHERE s.run_id = (SELECT max(run_id) FROM mhmtl.runs WHERE status = 'succeeded') GROUP BY s.split`,
        );
        const by = Object.fromEntries(rows.map((x) => [x.split, x]));
        expect(new Date(by.dev!.first) > new Date(by.train!.last)).toBe(true);
        expect(new Date(by.test!.first) > new Date(by.dev!.last)).toBe(true);
        const [run] = await query<{ d: Record<string, unknown> }>(
          `SELECT split_design AS d FROM mhmtl.runs WHERE run_id = (SELECT max(run_id) FROM mhmtl.runs WHERE status = 'succeeded')`,
        );
        expect(run!.d).toMatchObject({
          kind: 'temporal',
          order_by: 'last_post',
          test_from: '2021-02-18T02:00:00.000Z',
        });
      },
      CLI_TIMEOUT,
    );

    it(
      'given: units take the file part of their pseudonymized id; unknown and unnamed users are counted',
      async () => {
        const r = await runPipelineCli(pipeline('given', { kind: 'given', file: files.given }), db);
        expect(r.code).toBe(0);
        expect(r.stderr).toContain(
          'given split: 61 users named, 2 of them unknown (not among the labelled units), 1 labelled units not named (left out)',
        );
        const backend = await openBackend(db.config);
        const pseudo = await pseudonymizer(backend).finally(() => backend.close());
        const rows = await query<{ unit_id: string; split: string }>(
          `SELECT unit_id, split FROM mhmtl.splits WHERE run_id = (SELECT max(run_id) FROM mhmtl.runs WHERE status = 'succeeded')`,
        );
        const got = new Map(rows.map((x) => [x.unit_id, x.split]));
        expect(got.size).toBe(59);
        for (let u = 0; u < USERS - 1; u++)
          expect(got.get(pseudo.user(`user${u}`))).toBe(u < 40 ? 'train' : u < 50 ? 'dev' : 'test');
        expect(got.has(pseudo.user('user59'))).toBe(false);
        const [run] = await query<{ d: Record<string, unknown> }>(
          `SELECT split_design AS d FROM mhmtl.runs WHERE run_id = (SELECT max(run_id) FROM mhmtl.runs WHERE status = 'succeeded')`,
        );
        expect(run!.d).toMatchObject({
          kind: 'given',
          rows: 61,
          unknown_users: 2,
          units_not_named: 1,
          parts: { train: 40, dev: 10, test: 9 },
        });
        // the raw ids never reach the database
        const raw = await query<{ n: number }>(
          `SELECT count(*)::int AS n FROM mhmtl.splits WHERE unit_id LIKE 'user%'`,
        );
        expect(raw[0]!.n).toBe(0);
      },
      CLI_TIMEOUT,
    );

    it(
      'bad input: K folds with a temporal split, a bad part name, an empty part: one line, exit 2',
      async () => {
        const before = await query<{ n: number }>('SELECT count(*)::int AS n FROM mhmtl.runs');
        const folds = await runCli(['run', pipeline('folds', { kind: 'temporal' }, 5), ...db.cliArgs]);
        expect(folds.code).toBe(2);
        expect(folds.stderr.trim().split('\n')).toHaveLength(1);
        expect(folds.stderr).toContain('/evaluation/folds: K folds do not apply to a temporal split');
        const badFile = path.join(dir, 'bad.csv');
        writeFileSync(badFile, 'user_id,split\nuser1,validation\n');
        const bad = await runCli(['run', pipeline('bad', { kind: 'given', file: badFile }), ...db.cliArgs]);
        expect(bad.code).toBe(2);
        expect(bad.stderr.trim().split('\n')).toHaveLength(1);
        expect(bad.stderr).toMatch(
          /line 2: 'split' \(evaluation.split.column\) must be train, dev or test, got "validation"/,
        );
        const runs = await query<{ n: number }>('SELECT count(*)::int AS n FROM mhmtl.runs');
        expect(runs[0]!.n).toBe(before[0]!.n);
        const empty = await runPipelineCli(pipeline('empty', { kind: 'given', file: files.noDev }), db);
        expect(empty.code).toBe(2);
        expect(empty.stderr).toMatch(
          /the given split leaves dev empty \(units per part: train 40, dev 0, test 20\)/,
        );
      },
      CLI_TIMEOUT,
    );
  });
}
