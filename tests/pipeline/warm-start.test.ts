import { writeFileSync } from 'node:fs';
import { makeTempDir } from '../helpers/tmp.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../src/db/open.js';
import { parsePipeline } from '../../src/pipeline/config.js';
import { createLogger } from '../../src/pipeline/log.js';
import { fixtureInputs } from '../../src/pipeline/retrain.js';
import type { WarmStartSource } from '../../src/model/architectures/architecture.js';
import { hardSharing } from '../../src/model/architectures/hard-sharing.js';
import { initTensorflow } from '../../src/model/backend.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { generateCohort } from '../../src/synth/generate.js';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, describeBackends, type TestDatabase } from '../helpers/databases.js';

describe('hard sharing warm start', () => {
  // Source: 3 terms, hidden [2], 1 head; its exported weights by name.
  const source: WarmStartSource = {
    runId: 9,
    architecture: 'hard_sharing',
    config: { hidden: [2] },
    tasks: ['a'],
    vocabulary: ['w:a', 'w:b', 'w:c'],
    weights: new Map([
      ['shared_1/kernel', Float32Array.from([1, 2, 3, 4, 5, 6])],
      ['shared_1/bias', Float32Array.from([7, 8])],
      ['heads/kernel', Float32Array.from([9, 10])],
      ['heads/bias', Float32Array.from([11])],
    ]),
  };
  /** A fresh target network over 4 terms, hidden [2], one head, every weight -1. */
  const target = () => {
    const network = hardSharing.create({
      inputDim: 4,
      tasks: ['a'],
      auxTasks: [],
      config: { hidden: [2] },
      optimizer: { name: 'adam', learningRate: 0.001 },
      seed: 1,
    });
    network.restore(network.snapshot().map((w) => w.fill(-1)));
    return network;
  };

  it('copies the first-layer row of every shared term and the shared bias; heads stay fresh', async () => {
    await initTensorflow();
    const plan = hardSharing.warmStart(source, {
      config: { hidden: [2] },
      tasks: ['a'],
      vocabulary: ['w:c', 'w:new', 'w:a', 'w:b'],
    });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.sharedTerms).toBe(3);
    expect(plan.coverage).toBe(0.75);
    const network = target();
    plan.apply(network);
    const w = network.snapshot();
    expect(Array.from(w[0]!)).toEqual([5, 6, -1, -1, 1, 2, 3, 4]);
    expect(Array.from(w[1]!)).toEqual([7, 8]);
    expect(Array.from(w[2]!)).toEqual([-1, -1]);
    expect(Array.from(w[3]!)).toEqual([-1]);
    network.dispose();
  });

  it('says why not when the vocabulary or the trunk differ', () => {
    const low = hardSharing.warmStart(source, {
      config: { hidden: [2] },
      tasks: ['a'],
      vocabulary: ['w:a', 'w:x', 'w:y'],
    });
    expect(low).toEqual({
      ok: false,
      reason: 'only 33.3% of the vocabulary is shared with run 9 (at least 50% needed)',
    });
    const other = hardSharing.warmStart(source, {
      config: { hidden: [4] },
      tasks: ['a'],
      vocabulary: ['w:a'],
    });
    expect(other).toEqual({ ok: false, reason: 'run 9 has hidden layers [2], this run [4]' });
  });
});

describe('fixtureInputs', () => {
  it('finds posts* then labels* files and refuses a folder with neither', () => {
    const dir = makeTempDir('mhmtl-fx-');
    for (const f of ['labels-2.jsonl', 'posts.csv.gz', 'notes.txt', 'posts-b.jsonl'])
      writeFileSync(path.join(dir, f), '');
    expect(fixtureInputs(dir)).toEqual([
      { kind: 'posts', files: [path.join(dir, 'posts-b.jsonl'), path.join(dir, 'posts.csv.gz')] },
      { kind: 'labels', files: [path.join(dir, 'labels-2.jsonl')] },
    ]);
    const empty = makeTempDir('mhmtl-fx-');
    expect(() => fixtureInputs(empty)).toThrow(/no posts\* or labels\* file/);
  });
});

describe('mhmtl retrain [pglite]', () => {
  let db: TestDatabase;
  let dir: string;
  const pipeline = (hidden: number) => {
    const file = path.join(dir, `p${hidden}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        name: 'retrain-test',
        seed: 3,
        inputs: [
          { kind: 'posts', files: ['first/posts.jsonl'] },
          { kind: 'labels', files: ['first/labels.jsonl'] },
        ],
        tasks: { main: ['neurotypical', 'anxiety', 'depression'], auxiliary: ['gender'] },
        features: { word_ngrams: [1, 1], min_df: 2, max_features: 1500 },
        model: { hidden: [hidden] },
        training: { epochs: 2, patience: 1 },
        evaluation: { bootstrap: 20 },
        baselines: { stl: false, lr: false, mtl_no_aux: false },
      }),
    );
    return file;
  };

  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    dir = makeTempDir('mhmtl-retrain-');
    await generateCohort({ users: 60, seed: 21, out: path.join(dir, 'first'), minPosts: 5, maxPosts: 10 });
    await generateCohort({ users: 30, seed: 22, out: path.join(dir, 'second'), minPosts: 5, maxPosts: 10 });
  });
  afterAll(async () => db.cleanup());

  it('ingests the new files, warm-starts from the earlier run, and says why not when it cannot', async () => {
    const first = await runCli(['run', pipeline(12), '--workers', '0', ...db.cliArgs]);
    expect(first.code).toBe(0);
    const second = await runCli([
      'retrain',
      '--fixtures',
      path.join(dir, 'second'),
      '--pipeline',
      pipeline(12),
      '--from-run',
      '1',
      '--workers',
      '0',
      ...db.cliArgs,
    ]);
    expect(second.stderr).toMatch(
      /warm-started the shared layers of mtl from run 1 \(\d+ terms, [\d.]+% of the vocabulary, shared\)/,
    );
    expect(second.code).toBe(0);
    const third = await runCli([
      'retrain',
      '--fixtures',
      path.join(dir, 'second'),
      '--pipeline',
      pipeline(8),
      '--from-run',
      '1',
      '--workers',
      '0',
      ...db.cliArgs,
    ]);
    expect(third.code).toBe(0);
    expect(third.stderr).toContain(
      'no warm start from run 1: run 1 has hidden layers [12], this run [8]; trained from scratch',
    );
    const backend = await openBackend(db.config);
    try {
      const runs = await backend.db
        .selectFrom('mhmtl.runs')
        .select(['run_id', 'status', 'note'])
        .orderBy('run_id')
        .execute();
      expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
      expect(runs[1]?.note).toMatch(/^warm-started/);
      expect(runs[2]?.note).toMatch(/^no warm start/);
      const users = await backend.db
        .selectFrom('mhmtl.users')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(users.n)).toBe(90);
    } finally {
      await backend.close();
    }
  });

  it('refuses a folder without fixtures with one line and exit 1', async () => {
    const r = await runCli([
      'retrain',
      '--fixtures',
      path.join(dir, 'nowhere'),
      '--pipeline',
      pipeline(12),
      ...db.cliArgs,
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^mhmtl: cannot read fixtures folder .*nowhere: no such file\n$/);
  });
});

// Issue 13: a warm-started run re-split every unit, and most of its test users had been training
// users of the run it started from (52 of 90), which alone lifted MTL's macro AUC from 0.937 to
// 0.983. A run with --from-run N keeps run N's train and dev units out of its test split.
describeBackends('a run that starts from another run’s weights', (ctx) => {
  it('never tests on a unit the source run trained or early-stopped on; they train', async () => {
    const dir = makeTempDir('mhmtl-leak-');
    const first = await generateCohort({
      users: 60,
      seed: 21,
      out: path.join(dir, 'first'),
      minPosts: 4,
      maxPosts: 8,
    });
    await generateCohort({ users: 30, seed: 22, out: path.join(dir, 'second'), minPosts: 4, maxPosts: 8 });
    const config = parsePipeline(
      {
        name: 'leak',
        seed: 3,
        inputs: [
          { kind: 'posts', files: [first.postsFile] },
          { kind: 'labels', files: [first.labelsFile] },
        ],
        tasks: { main: ['neurotypical', 'anxiety', 'depression'], auxiliary: ['gender'] },
        features: { word_ngrams: [1, 1], min_df: 2, max_features: 1500 },
        model: { hidden: [12] },
        training: { epochs: 2, patience: 1 },
        evaluation: { bootstrap: 20 },
        baselines: { stl: false, lr: false, mtl_no_aux: false },
      },
      dir,
    );
    const log = createLogger('json', { quiet: true });
    const source = await runPipeline(ctx.backend, { file: null, config }, { log, workers: 0 });
    const warm = await runPipeline(
      ctx.backend,
      { file: null, config },
      {
        log,
        workers: 0,
        skipIngest: true,
        extraInputs: fixtureInputs(path.join(dir, 'second')),
        fromRun: source.runId,
      },
    );
    expect(warm.status).toBe('succeeded');
    const units = async (run: number, splits: ('train' | 'dev' | 'test')[]) =>
      (
        await ctx.backend.db
          .selectFrom('mhmtl.splits')
          .select('unit_id')
          .where('run_id', '=', run)
          .where('fold', '=', 0)
          .where('split', 'in', splits)
          .execute()
      ).map((r) => r.unit_id);
    const learned = new Set(await units(source.runId, ['train', 'dev']));
    expect(learned.size).toBeGreaterThan(30);
    const test = await units(warm.runId, ['test']);
    expect(test.length).toBeGreaterThan(0);
    expect(test.filter((u) => learned.has(u))).toEqual([]);
    const train = new Set(await units(warm.runId, ['train']));
    expect([...learned].every((u) => train.has(u))).toBe(true);
    const row = await ctx.backend.db
      .selectFrom('mhmtl.runs')
      .select(['split_design', 'note'])
      .where('run_id', '=', warm.runId)
      .executeTakeFirstOrThrow();
    const design = (
      typeof row.split_design === 'string' ? JSON.parse(row.split_design) : row.split_design
    ) as {
      transfer: unknown;
    };
    expect(design.transfer).toEqual({
      from_run: source.runId,
      source_units: learned.size,
      units_kept_out_of_test: learned.size,
    });
    expect(row.note).toMatch(/^warm-started the shared layers of mtl/);
  });
});
