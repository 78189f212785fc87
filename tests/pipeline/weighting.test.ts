import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTrainOverrides } from '../../src/cli/commands/train.js';
import { UsageError } from '../../src/errors.js';
import { ingestFile } from '../../src/ingest/load.js';
import type { EpochRecord } from '../../src/model/types.js';
import { weightingMethods } from '../../src/model/weighting/index.js';
import { loadPipeline, type PipelineConfig, parsePipeline } from '../../src/pipeline/config.js';
import { createLogger } from '../../src/pipeline/log.js';
import { runPipeline } from '../../src/pipeline/run.js';
import { trainPipeline } from '../../src/pipeline/train.js';
import { pipelineWeighting } from '../../src/pipeline/weighting.js';
import { type CohortResult, generateCohort } from '../../src/synth/generate.js';
import { runCli } from '../helpers/cli.js';
import { describeBackends } from '../helpers/databases.js';

/**
 * Task weighting in pipelines: `training.weighting` kept (the fixed method from `tasks.*` without
 * it), `--weighting` / `--weighting-option` on `mhmtl train`, bad input refused with the JSON path
 * before a run is recorded, and every method trained end to end on both databases.
 */

const log = createLogger('text', { quiet: true });
const base = (extra: Partial<PipelineConfig> = {}): PipelineConfig => ({
  name: 'w',
  inputs: [],
  tasks: { main: ['anxiety', 'depression'], auxiliary: ['gender'] },
  ...extra,
});

let dir: string;
let cohort: CohortResult;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-weighting-'));
  cohort = await generateCohort({
    users: 60,
    seed: 23,
    out: path.join(dir, 'cohort'),
    minPosts: 3,
    maxPosts: 8,
  });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the weighting of a pipeline', () => {
  it('is training.weighting as given; without it, the fixed method with the tasks section weights', () => {
    expect(pipelineWeighting(base())).toEqual({ method: 'fixed' });
    expect(
      pipelineWeighting(base({ tasks: { main: ['anxiety'], auxiliary: ['gender'], aux_weight: 0.5 } })),
    ).toEqual({
      method: 'fixed',
      aux_weight: 0.5,
    });
    expect(pipelineWeighting(base({ training: { weighting: { method: 'dwa', temperature: 3 } } }))).toEqual({
      method: 'dwa',
      temperature: 3,
    });
    expect(
      pipelineWeighting(
        base({
          tasks: { main: ['anxiety'], auxiliary: ['gender'], weights: { gender: 0.25 } },
          training: { weighting: { method: 'fixed', main_weight: 2 } },
        }),
      ),
    ).toEqual({ method: 'fixed', main_weight: 2, weights: { gender: 0.25 } });
  });

  it('refuses bad input with one line naming the JSON path', () => {
    const bad: [Partial<PipelineConfig>, string][] = [
      [
        {
          tasks: { main: ['anxiety'], auxiliary: ['gender'], aux_weight: 0.5 },
          training: { weighting: { method: 'dwa' } },
        },
        "/tasks/aux_weight: an option of the fixed task weighting, but /training/weighting/method is 'dwa'",
      ],
      [
        {
          tasks: { main: ['anxiety'], main_weight: 2 },
          training: { weighting: { method: 'fixed', main_weight: 1 } },
        },
        '/tasks/main_weight: also given as /training/weighting/main_weight; give it once',
      ],
      [
        { tasks: { main: ['anxiety'], weights: { anxeity: 2 } } },
        '/tasks/weights/anxeity: not a task of the pipeline',
      ],
      [
        { training: { weighting: { method: 'dwa', temperature: -1 } } },
        '/training/weighting/temperature: must be > 0, got -1',
      ],
      [
        { training: { weighting: { method: 'gradnorm', alpha: -1 } } },
        '/training/weighting/alpha: must be >= 0, got -1',
      ],
      [
        { training: { weighting: { method: 'pcgrad', alpha: 1 } } },
        "/training/weighting: pcgrad has no option 'alpha' (options: none)",
      ],
    ];
    for (const [extra, message] of bad) {
      const value = base(extra);
      expect(() => pipelineWeighting(value), message).toThrow(message);
      expect(() => parsePipeline(value, dir), message).toThrow(UsageError);
      expect(() => parsePipeline(value, dir), message).toThrow(`invalid pipeline: ${message}`);
    }
    // an unknown method is the schema's: its enum lists every registered method
    expect(() => parsePipeline(base({ training: { weighting: { method: 'equal' } } }), dir)).toThrow(
      `invalid pipeline: /training/weighting/method: must be one of ${weightingMethods()
        .map((m) => JSON.stringify(m))
        .join(', ')}`,
    );
  });

  it('the pipeline schema lists exactly the registered methods', () => {
    const schema = JSON.parse(readFileSync(path.resolve('schemas/pipeline.schema.json'), 'utf8'));
    expect(schema.definitions.weighting.properties.method.enum).toEqual(weightingMethods());
  });
});

describe('mhmtl train --weighting: bad input on the command line', () => {
  it('refuses an unknown method or option, a value out of range, a malformed pair, naming the option', () => {
    type Options = Parameters<typeof parseTrainOverrides>[0];
    const cases: [Partial<Options>, string][] = [
      [{ weighting: 'equal' }, "--weighting: unknown task weighting 'equal'"],
      [
        { weighting: 'dwa', weightingOption: ['temperature=-1'] },
        '--weighting-option temperature: must be > 0, got -1',
      ],
      [
        { weighting: 'gradnorm', weightingOption: ['alpha=-0.5'] },
        '--weighting-option alpha: must be >= 0, got -0.5',
      ],
      [
        { weighting: 'rlw', weightingOption: ['seed=3'] },
        "--weighting-option: rlw has no option 'seed' (options: none)",
      ],
      [
        { weighting: 'dwa', weightingOption: ['temperature'] },
        "--weighting-option must be key=value, got 'temperature'",
      ],
      [
        { weighting: 'dwa', weightingOption: ['temperature=1', 'temperature=2'] },
        '--weighting-option temperature given twice',
      ],
    ];
    for (const [opts, message] of cases) {
      expect(() => parseTrainOverrides(opts as Options), message).toThrow(UsageError);
      expect(() => parseTrainOverrides(opts as Options), message).toThrow(message);
    }
    expect(
      parseTrainOverrides({
        weighting: 'fixed',
        weightingOption: ['weights={"gender":0.5}', 'main_weight=2'],
      } as Options),
    ).toEqual({ weighting: 'fixed', weightingOptions: { weights: { gender: 0.5 }, main_weight: 2 } });
  });

  it('exits 2 with one line, before opening a database', async () => {
    for (const args of [
      ['--weighting', 'equal'],
      ['--weighting', 'dwa', '--weighting-option', 'temperature=-1'],
    ]) {
      const r = await runCli(['--data-dir', path.join(dir, 'never-opened'), 'train', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toContain(args[0]);
    }
    expect(existsSync(path.join(dir, 'never-opened'))).toBe(false);
  });

  it('lists the methods and their options in --help', async () => {
    const r = await runCli(['train', '--help']);
    expect(r.code).toBe(0);
    for (const m of weightingMethods()) expect(r.stdout).toMatch(new RegExp(`\\b${m}: `));
    expect(r.stdout).toContain('alpha (number, default 1.5)');
    expect(r.stdout).toContain('--weighting-option <key=value>');
  });
});

describeBackends(
  'task weighting on a database: mhmtl train --weighting, then every method trained',
  (ctx) => {
    beforeAll(async () => {
      await ingestFile(ctx.backend, cohort.postsFile, { kind: 'posts' });
      await ingestFile(ctx.backend, cohort.labelsFile, { kind: 'labels' });
    });

    it('sets training.weighting; another method drops the fixed options of the tasks section', async () => {
      const benton = loadPipeline(path.resolve('pipelines/benton2017.json'));
      expect(benton.config.tasks.aux_weight).toBe(0.5);
      const dwa = await trainPipeline(ctx.backend, benton, {
        weighting: 'dwa',
        weightingOptions: { temperature: 1.5 },
      });
      expect(dwa.config.training?.weighting).toEqual({ method: 'dwa', temperature: 1.5 });
      expect(dwa.config.tasks).toEqual({ main: benton.config.tasks.main, auxiliary: ['gender'] });
      // options alone apply to the pipeline's method (fixed, with the tasks section's weights moved in)
      const fixed = await trainPipeline(ctx.backend, benton, { weightingOptions: { aux_weight: 0.25 } });
      expect(fixed.config.training?.weighting).toEqual({ method: 'fixed', main_weight: 1, aux_weight: 0.25 });
      expect(fixed.config.tasks.aux_weight).toBeUndefined();
      const gradnorm = await trainPipeline(ctx.backend, null, {
        weighting: 'gradnorm',
        weightingOptions: { alpha: 0.5 },
      });
      expect(gradnorm.config.training).toEqual({ weighting: { method: 'gradnorm', alpha: 0.5 } });
    });

    it('refuses a bad option with the JSON path, before any run', async () => {
      await expect(
        trainPipeline(ctx.backend, null, { weighting: 'dwa', weightingOptions: { temperature: -2 } }),
      ).rejects.toThrow('/training/weighting/temperature: must be > 0, got -2');
      await expect(
        trainPipeline(ctx.backend, null, { weightingOptions: { temperature: 2 } }),
      ).rejects.toThrow("/training/weighting: fixed has no option 'temperature'");
      const runs = await ctx.backend.db.selectFrom('mhmtl.runs').select('run_id').execute();
      expect(runs).toEqual([]);
    });

    it('a succeeded run per method, its per-epoch task weights in the stored model history', async () => {
      for (const method of weightingMethods()) {
        const result = await runPipeline(
          ctx.backend,
          {
            file: null,
            config: parsePipeline(
              base({
                name: `w-${method}`,
                seed: 3,
                features: { word_ngrams: [1, 1], min_df: 2 },
                model: { hidden: [8], dropout: 0.1 },
                training: { epochs: 3, patience: 3, batch_size: 16, weighting: { method } },
                evaluation: { bootstrap: 0 },
                baselines: { stl: false, lr: false, mtl_no_aux: false },
              }),
              dir,
            ),
          },
          { log, skipIngest: true, workers: 0 },
        );
        expect(result.status, method).toBe('succeeded');
        const row = await ctx.backend.db
          .selectFrom('mhmtl.models')
          .select(['history'])
          .where('run_id', '=', result.runId)
          .where('model', '=', 'mtl')
          .executeTakeFirstOrThrow();
        const history = (
          typeof row.history === 'string' ? JSON.parse(row.history) : row.history
        ) as EpochRecord[];
        expect(history.length, method).toBe(3);
        for (const r of history) {
          expect(Object.keys(r.weights!).sort(), method).toEqual(['anxiety', 'depression', 'gender']);
          expect(
            Object.values(r.weights!).every((w) => Number.isFinite(w) && w >= 0),
            method,
          ).toBe(true);
        }
        const weights = history.map((r) => r.weights!);
        if (method === 'fixed')
          expect(weights.every((w) => Object.values(w).every((v) => v === 1))).toBe(true);
        // dwa is 1 in epochs 1 and 2, then moves; rlw and uncertainty move from the first epoch
        if (method === 'dwa')
          expect(
            Object.values(weights[2]!).some((v) => v !== 1),
            method,
          ).toBe(true);
        if (method === 'rlw' || method === 'uncertainty')
          expect(
            Object.values(weights[0]!).some((v) => v !== 1),
            method,
          ).toBe(true);
        const stored = await ctx.backend.db
          .selectFrom('mhmtl.runs')
          .select('config')
          .where('run_id', '=', result.runId)
          .executeTakeFirstOrThrow();
        const config = (
          typeof stored.config === 'string' ? JSON.parse(stored.config) : stored.config
        ) as PipelineConfig;
        expect(config.training?.weighting, method).toEqual({ method });
      }
    });
  },
);
