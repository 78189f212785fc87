import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBackend } from '../../src/db/open.js';
import { UsageError } from '../../src/errors.js';
import { ingestFile } from '../../src/ingest/load.js';
import { loadPipeline } from '../../src/pipeline/config.js';
import { trainPipeline } from '../../src/pipeline/train.js';
import { type CohortResult, generateCohort } from '../../src/synth/generate.js';
import { runCli } from '../helpers/cli.js';
import {
  createTestDatabase,
  describeBackends,
  type TestDatabase,
  testBackendNames,
} from '../helpers/databases.js';

const CONDITIONS = [
  'anxiety',
  'bipolar',
  'depression',
  'eating_disorder',
  'neurotypical',
  'panic',
  'ptsd',
  'schizophrenia',
  'suicide_attempt',
];

let dir: string;
let cohort: CohortResult;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-train-'));
  cohort = await generateCohort({
    users: 60,
    seed: 21,
    out: path.join(dir, 'cohort'),
    minPosts: 3,
    maxPosts: 8,
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeBackends('trainPipeline: the pipeline of mhmtl train', (ctx) => {
  beforeAll(async () => {
    await ingestFile(ctx.backend, cohort.labelsFile, { kind: 'labels' });
  });

  it('defaults to every labelled task as main task, gender as auxiliary, no inputs, hard sharing', async () => {
    const { file, config } = await trainPipeline(ctx.backend, null, {});
    expect(file).toBeNull();
    expect(config.name).toBe('train');
    expect(config.inputs).toEqual([]);
    expect(config.tasks).toEqual({ main: CONDITIONS, auxiliary: ['gender'] });
    expect(config.model).toBeUndefined();
  });

  it('applies the command-line overrides', async () => {
    const { config } = await trainPipeline(ctx.backend, null, {
      tasks: ['anxiety', 'panic'],
      hidden: [32, 8],
      dropout: 0.5,
      epochs: 4,
      batchSize: 16,
      learningRate: 0.01,
      optimizer: 'adagrad',
      seed: 9,
      folds: 3,
    });
    expect(config.tasks).toEqual({ main: ['anxiety', 'panic'], auxiliary: ['gender'] });
    expect(config.model).toEqual({ hidden: [32, 8], dropout: 0.5 });
    expect(config.training).toEqual({ epochs: 4, batch_size: 16, learning_rate: 0.01, optimizer: 'adagrad' });
    expect(config.seed).toBe(9);
    expect(config.evaluation).toEqual({ folds: 3 });
    const noAux = await trainPipeline(ctx.backend, null, { tasks: ['gender'], auxTasks: [] });
    expect(noAux.config.tasks).toEqual({ main: ['gender'], auxiliary: [] });
  });

  it('keeps a pipeline file and overrides parts of it', async () => {
    const base = loadPipeline(path.resolve('pipelines/benton2017.json'));
    const { file, config } = await trainPipeline(ctx.backend, base, { tasks: ['depression'], epochs: 2 });
    expect(file).toBe(base.file);
    expect(config.name).toBe('benton2017');
    expect(config.tasks.main).toEqual(['depression']);
    expect(config.tasks.auxiliary).toEqual(['gender']);
    expect(config.training).toEqual({ ...base.config.training, epochs: 2 });
    expect(config.features).toEqual(base.config.features);
  });

  it('rejects bad values with the JSON path or the option, before any run', async () => {
    await expect(trainPipeline(ctx.backend, null, { tasks: ['Anxiety'] })).rejects.toThrow(
      /\/tasks\/main\/0/,
    );
    await expect(trainPipeline(ctx.backend, null, { folds: 50 })).rejects.toThrow(/\/evaluation\/folds/);
    await expect(
      trainPipeline(ctx.backend, null, { tasks: ['gender'], auxTasks: ['gender'] }),
    ).rejects.toThrow(/\/tasks\/auxiliary: gender also listed as main task/);
    await expect(trainPipeline(ctx.backend, null, { hidden: [0] })).rejects.toThrow(UsageError);
    await expect(trainPipeline(ctx.backend, null, { architecture: 'no_such_net' })).rejects.toThrow(
      /\/model\/architecture: must be one of "hard_sharing".*, got "no_such_net"/,
    );
    const runs = await ctx.backend.db.selectFrom('mhmtl.runs').select('run_id').execute();
    expect(runs).toEqual([]);
  });
});

for (const name of testBackendNames()) {
  describe(`mhmtl train CLI [${name}]`, () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase(name);
      const backend = await openBackend(database.config);
      try {
        await ingestFile(backend, cohort.postsFile, { kind: 'posts' });
        await ingestFile(backend, cohort.labelsFile, { kind: 'labels' });
      } finally {
        await backend.close();
      }
    });
    afterAll(async () => database?.cleanup());

    it('trains from the database: a succeeded run with task reports, dev and test AUC per task', async () => {
      const pipeline = path.join(dir, `small-${name}.json`);
      writeFileSync(
        pipeline,
        JSON.stringify({
          name: 'small',
          inputs: [{ kind: 'posts', files: ['does-not-exist.jsonl'] }],
          tasks: { main: ['neurotypical'] },
          features: { word_ngrams: [1, 1], min_df: 2 },
          evaluation: { bootstrap: 0 },
          baselines: { stl: false, lr: true, mtl_no_aux: false },
        }),
      );
      const r = await runCli([
        ...database.cliArgs,
        'train',
        '--pipeline',
        pipeline,
        '--tasks',
        'anxiety,depression',
        '--epochs',
        '2',
        '--hidden',
        '16',
        '--workers',
        '0',
      ]);
      expect(r.stderr).toContain('succeeded');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/run \d+ \(small, succeeded\)/);
      expect(r.stdout).toContain('per-task AUC, dev / test:');
      expect(r.stdout).toMatch(/anxiety\s+\| \d\.\d{3} \/ \d\.\d{3}/);

      const backend = await openBackend(database.config);
      try {
        const runs = await backend.db.selectFrom('mhmtl.runs').selectAll().execute();
        expect(runs.map((x) => [x.pipeline, x.status])).toEqual([['small', 'succeeded']]);
        const config = (
          typeof runs[0]!.config === 'string' ? JSON.parse(runs[0]!.config) : runs[0]!.config
        ) as {
          tasks: unknown;
          training: unknown;
          model: unknown;
        };
        expect(config.tasks).toEqual({ main: ['anxiety', 'depression'], auxiliary: [] });
        expect(config.training).toEqual({ epochs: 2 });
        expect(config.model).toEqual({ hidden: [16] });
        const reports = await backend.db
          .selectFrom('mhmtl.task_reports')
          .select(['model', 'task', 'split'])
          .where('run_id', '=', runs[0]!.run_id)
          .orderBy('model')
          .orderBy('task')
          .orderBy('split')
          .execute();
        const keys = reports.map((x) => `${x.model} ${x.task} ${x.split}`);
        expect(keys).toEqual([
          'lr anxiety dev',
          'lr anxiety test',
          'lr depression dev',
          'lr depression test',
          'mtl anxiety dev',
          'mtl anxiety test',
          'mtl depression dev',
          'mtl depression test',
        ]);
        const models = await backend.db.selectFrom('mhmtl.models').select('model').orderBy('model').execute();
        expect(models.map((m) => m.model)).toEqual(['lr:anxiety', 'lr:depression', 'mtl']);
        const sources = await backend.db.selectFrom('mhmtl.sources').select('file_name').execute();
        expect(sources.length).toBe(2);
      } finally {
        await backend.close();
      }
    });
  });
}

describe('mhmtl train CLI: option values', () => {
  it('exits 2 with one line for a bad option value, before opening a database', async () => {
    for (const args of [
      ['--epochs', 'two'],
      ['--dropout', '1.5'],
    ]) {
      const r = await runCli(['--data-dir', path.join(dir, 'never-opened'), 'train', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr).toContain(args[0]);
    }
    expect(existsSync(path.join(dir, 'never-opened'))).toBe(false);
  });
});
