import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultComparisons } from '../../src/evaluate/comparisons.js';
import { readRunReport } from '../../src/evaluate/store.js';
import { ingestFile } from '../../src/ingest/load.js';
import { type PipelineConfig, parsePipeline } from '../../src/pipeline/config.js';
import { createLogger } from '../../src/pipeline/log.js';
import { modelSpecs } from '../../src/pipeline/model-specs.js';
import { planModels } from '../../src/pipeline/models.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { generateCohort } from '../../src/synth/generate.js';
import { describeBackends } from '../helpers/databases.js';
import { makeTempDir } from '../helpers/tmp.js';

const base = {
  name: 'named',
  inputs: [],
  tasks: { main: ['anxiety', 'depression'], auxiliary: ['gender'], aux_weight: 0.5 },
  model: { hidden: [16], dropout: 0.2 },
  training: { epochs: 3, learning_rate: 0.002, logistic_regression: { epochs: 4 } },
};

describe('modelSpecs: a pipeline’s models', () => {
  it('expands the baselines shorthand to mtl, mtl_no_aux, stl and lr', () => {
    const specs = modelSpecs(parsePipeline(base, '/'));
    expect(specs.map((s) => [s.name, s.kind, s.auxiliary])).toEqual([
      ['mtl', 'mtl', ['gender']],
      ['mtl_no_aux', 'mtl', []],
      ['stl', 'stl', []],
      ['lr', 'lr', []],
    ]);
    expect(specs[0]).toMatchObject({
      architecture: 'hard_sharing',
      architectureConfig: { hidden: [16], dropout: 0.2 },
      training: { epochs: 3, learningRate: 0.002, weighting: { method: 'fixed', aux_weight: 0.5 } },
    });
    expect(specs[3]!.logisticRegression).toEqual({ epochs: 4 });
    const noAux = modelSpecs(
      parsePipeline({ ...base, tasks: { main: ['anxiety'] }, baselines: { lr: false } }, '/'),
    );
    expect(noAux.map((s) => s.name)).toEqual(['mtl', 'stl']);
  });

  it('merges each named model’s settings over the top-level ones', () => {
    const config = parsePipeline(
      {
        ...base,
        models: [
          { name: 'wide', kind: 'mtl', model: { hidden: [64] }, training: { epochs: 5 } },
          {
            name: 'plain',
            kind: 'mtl',
            auxiliary: [],
            training: { weighting: { method: 'fixed', main_weight: 2 } },
          },
          { name: 'single', kind: 'stl', model: { dropout: 0 } },
          { name: 'logit', kind: 'lr', logistic_regression: { c_grid: [0.1, 1], min_epochs: 2 } },
        ],
      },
      '/',
    );
    const [wide, plain, single, logit] = modelSpecs(config);
    expect(wide).toMatchObject({
      auxiliary: ['gender'],
      architectureConfig: { hidden: [64], dropout: 0.2 },
      training: { epochs: 5, learningRate: 0.002 },
    });
    expect(plain!.auxiliary).toEqual([]);
    expect(plain!.training.weighting).toEqual({ method: 'fixed', aux_weight: 0.5, main_weight: 2 });
    expect(single!.architectureConfig).toEqual({ hidden: [16], dropout: 0 });
    expect(logit!.logisticRegression).toEqual({ epochs: 4, cGrid: [0.1, 1], minEpochs: 2 });
    const plans = planModels(modelSpecs(config), { main: ['anxiety', 'depression'], auxiliary: ['gender'] });
    expect(plans.map((p) => [p.stored, p.model, p.kind])).toEqual([
      ['wide', 'wide', 'mtl'],
      ['plain', 'plain', 'mtl'],
      ['single:anxiety', 'single', 'stl'],
      ['single:depression', 'single', 'stl'],
      ['logit:anxiety', 'logit', 'lr'],
      ['logit:depression', 'logit', 'lr'],
    ]);
    const models = modelSpecs(config).map((s) => ({ name: s.name, kind: s.kind, auxiliary: s.auxiliary }));
    expect(defaultComparisons(models)).toEqual([
      ['wide', 'logit'],
      ['wide', 'single'],
      ['wide', 'plain'],
      ['plain', 'logit'],
      ['plain', 'single'],
    ]);
  });
});

describeBackends('a run of named models with repeats', (ctx) => {
  let config: PipelineConfig;
  beforeAll(async () => {
    const dir = makeTempDir('mhmtl-named-');
    const cohort = await generateCohort({
      users: 70,
      seed: 5,
      out: path.join(dir, 'c'),
      minPosts: 4,
      maxPosts: 8,
    });
    await ingestFile(ctx.backend, cohort.postsFile, { kind: 'posts' });
    await ingestFile(ctx.backend, cohort.labelsFile, { kind: 'labels' });
    config = parsePipeline(
      {
        ...base,
        seed: 9,
        tasks: { main: ['neurotypical', 'anxiety'], auxiliary: ['gender'] },
        features: { word_ngrams: [1, 1], min_df: 2, max_features: 1000 },
        models: [
          { name: 'deep', kind: 'mtl', model: { hidden: [16, 8] } },
          { name: 'shallow', kind: 'mtl', auxiliary: [] },
          { name: 'logit', kind: 'lr' },
        ],
        evaluation: { bootstrap: 30, repeats: 2, min_positives: 3 },
      },
      '/',
    );
  });
  afterAll(async () => {});

  it('trains every named model in every repeat, stores the first repeat’s models and compares them', async () => {
    const log = createLogger('json', { quiet: true, verbose: false });
    const result = await runPipeline(
      ctx.backend,
      { file: null, config },
      { log, skipIngest: true, workers: 0 },
    );
    expect(result.status).toBe('succeeded');
    const report = await readRunReport(ctx.backend, result.runId);
    expect(report.models).toEqual([
      { name: 'deep', kind: 'mtl' },
      { name: 'shallow', kind: 'mtl' },
      { name: 'logit', kind: 'lr' },
    ]);
    expect(report.repeats).toBe(2);
    for (const repeat of [0, 1]) {
      const rows = report.reports.filter((r) => r.repeat === repeat && r.split === 'test');
      expect(rows.map((r) => `${r.model}/${r.task}`).sort()).toEqual([
        'deep/anxiety',
        'deep/gender',
        'deep/neurotypical',
        'logit/anxiety',
        'logit/neurotypical',
        'shallow/anxiety',
        'shallow/neurotypical',
      ]);
    }
    const stored = await ctx.backend.db
      .selectFrom('mhmtl.models')
      .select(['model', 'family', 'kind'])
      .where('run_id', '=', result.runId)
      .orderBy('model')
      .execute();
    expect(stored).toEqual([
      { model: 'deep', family: 'deep', kind: 'mtl' },
      { model: 'logit:anxiety', family: 'logit', kind: 'lr' },
      { model: 'logit:neurotypical', family: 'logit', kind: 'lr' },
      { model: 'shallow', family: 'shallow', kind: 'mtl' },
    ]);
    const pairs = [...new Set(report.comparisons.map((c) => `${c.model}-${c.reference}`))];
    expect(pairs).toEqual(['deep-shallow', 'deep-logit', 'shallow-logit']);
    const across = report.comparisons.filter((c) => c.repeat === null);
    expect(across.length).toBe(3 * 3); // 3 pairs x (2 main tasks + macro)
    expect(across.every((c) => c.method === 'corrected_resampled_t')).toBe(true);
    expect(report.run.splitDesign).toMatchObject({ kind: 'holdout', repeats: 2, min_positives: 3 });
    expect((report.run.splitDesign!.seeds as number[])[0]).toBe(9);
    // The first repeat's splits, predictions and history are there, and the second's.
    for (const table of ['splits', 'predictions', 'training_history'] as const) {
      const repeats = await ctx.backend.db
        .selectFrom(`mhmtl.${table}`)
        .select('repeat')
        .distinct()
        .where('run_id', '=', result.runId)
        .orderBy('repeat')
        .execute();
      expect(
        repeats.map((r) => r.repeat),
        table,
      ).toEqual([0, 1]);
    }
  });
});
