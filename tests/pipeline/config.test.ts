import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { makeTempDir } from '../helpers/tmp.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline, parsePipeline } from '../../src/pipeline/config.js';
import { runCli } from '../helpers/cli.js';

const minimal = {
  name: 'p1',
  inputs: [{ kind: 'posts', files: ['data/posts.jsonl'] }],
  tasks: { main: ['depression'] },
};

describe('pipeline files', () => {
  it('resolves relative input paths against the pipeline folder, or --data-root', () => {
    const dir = makeTempDir('mhmtl-pipe-');
    const file = path.join(dir, 'p.json');
    writeFileSync(
      file,
      JSON.stringify({ ...minimal, inputs: [{ kind: 'reddit', files: ['a.csv'], mapping: 'm.json' }] }),
    );
    const loaded = loadPipeline(file);
    expect(loaded.config.inputs[0]?.files).toEqual([path.join(dir, 'a.csv')]);
    expect(loaded.config.inputs[0]?.mapping).toBe(path.join(dir, 'm.json'));
    const withRoot = loadPipeline(file, { dataRoot: '/data' }).config.inputs[0];
    expect(withRoot?.files).toEqual(['/data/a.csv']);
    expect(withRoot?.mapping).toBe(path.join(dir, 'm.json'));
  });

  it("resolves input paths against the pipeline's data_root, which --data-root overrides", () => {
    const config = parsePipeline({ ...minimal, data_root: '../cohort' }, '/srv/pipelines');
    expect(config.inputs[0]?.files).toEqual(['/srv/cohort/data/posts.jsonl']);
    const overridden = parsePipeline({ ...minimal, data_root: '../cohort' }, '/srv/pipelines', 'p', {
      dataRoot: '/x',
    });
    expect(overridden.inputs[0]?.files).toEqual(['/x/data/posts.jsonl']);
  });

  it('refuses unknown keys inside features, model and training', () => {
    const bad = { ...minimal, features: { min_dff: 2 }, model: { hiden: [8] }, training: { lr: 0.1 } };
    expect(() => parsePipeline(bad, '/')).toThrow(
      "invalid pipeline: /features: unknown property 'min_dff'; /model: hard_sharing has no option 'hiden' (options: hidden, activation, dropout); /training: unknown property 'lr'",
    );
  });

  it('names the JSON path of every schema error', () => {
    const bad = {
      name: 'p 1',
      inputs: [{ kind: 'tweets', files: [] }],
      tasks: { main: ['Depression'] },
      extra: true,
    };
    let message = '';
    try {
      parsePipeline(bad, '/');
    } catch (error) {
      message = (error as Error).message;
      expect((error as { exitCode: number }).exitCode).toBe(2);
    }
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/^invalid pipeline: /);
    expect(message).toContain("/: unknown property 'extra'");
    expect(message).toContain('/name: must match pattern');
    expect(message).toMatch(/\/inputs\/0\/kind: must be one of "posts", "labels", "reddit"/);
    expect(message).toContain('/inputs/0/files: must NOT have fewer than 1 items');
    expect(message).toContain('/tasks/main/0: must match pattern');
  });

  it('refuses a task that is both main and auxiliary', () => {
    expect(() => parsePipeline({ ...minimal, tasks: { main: ['a'], auxiliary: ['a'] } }, '/')).toThrow(
      /\/tasks\/auxiliary: a also listed as main task/,
    );
  });

  it('fails with a one-line reason for a missing file or broken JSON', () => {
    expect(() => loadPipeline('/nonexistent/p.json')).toThrow(
      /cannot read pipeline file \/nonexistent\/p.json: no such file/,
    );
    const dir = makeTempDir('mhmtl-pipe-');
    writeFileSync(path.join(dir, 'b.json'), '{"name": ');
    expect(() => loadPipeline(path.join(dir, 'b.json'))).toThrow(/is not valid JSON/);
  });
});

describe('models, comparisons, repeats and low support in a pipeline file', () => {
  const message = (value: unknown): string => {
    try {
      parsePipeline(value, '/');
    } catch (error) {
      expect((error as { exitCode: number }).exitCode).toBe(2);
      expect((error as Error).message.split('\n')).toHaveLength(1);
      return (error as Error).message;
    }
    return '';
  };
  const withAux = { ...minimal, tasks: { main: ['depression'], auxiliary: ['gender'] } };

  it('names the JSON path of an unknown model, or of one that is not trained, in compare', () => {
    expect(message({ ...withAux, evaluation: { compare: [['mtl', 'svm']] } })).toBe(
      "invalid pipeline: /evaluation/compare/0/1: unknown model 'svm' (models: mtl, mtl_no_aux, stl, lr)",
    );
    expect(
      message({ ...withAux, baselines: { stl: false }, evaluation: { compare: [['mtl', 'stl']] } }),
    ).toBe("invalid pipeline: /evaluation/compare/0/1: model 'stl' is not trained (baselines.stl is false)");
    expect(message({ ...minimal, evaluation: { compare: [['mtl', 'mtl_no_aux']] } })).toBe(
      "invalid pipeline: /evaluation/compare/0/1: model 'mtl_no_aux' is not trained (the pipeline has no auxiliary task)",
    );
    expect(message({ ...minimal, evaluation: { compare: [['lr', 'lr']] } })).toBe(
      'invalid pipeline: /evaluation/compare/0: a model is not compared with itself',
    );
  });

  it('refuses repeats < 1 and min_positives < 1 with their JSON paths', () => {
    expect(message({ ...minimal, evaluation: { repeats: 0 } })).toBe(
      'invalid pipeline: /evaluation/repeats: must be >= 1, got 0',
    );
    expect(message({ ...minimal, evaluation: { min_positives: 0 } })).toBe(
      'invalid pipeline: /evaluation/min_positives: must be >= 1, got 0',
    );
  });

  it('refuses duplicate model names and settings that do not fit a kind', () => {
    const models = [
      { name: 'a', kind: 'mtl' },
      { name: 'a', kind: 'lr', model: { hidden: [8] } },
      { name: 'b', kind: 'stl', auxiliary: ['gender'] },
      { name: 'c', kind: 'mtl', auxiliary: ['age'] },
    ];
    expect(message({ ...withAux, models })).toBe(
      "invalid pipeline: /models/1/name: duplicate model name 'a'; /models/1/model: an lr-kind model has no network (use logistic_regression); /models/2/auxiliary: only an mtl-kind model has auxiliary tasks (this one is stl); /models/3/auxiliary/0: 'age' is not an auxiliary task of the pipeline (tasks.auxiliary)",
    );
    expect(message({ ...minimal, models: [{ name: 'a', kind: 'mtl' }], baselines: { lr: true } })).toBe(
      'invalid pipeline: /baselines: give either models or baselines (its shorthand), not both',
    );
    expect(message({ ...minimal, models: [{ name: 'A b', kind: 'svm' }] })).toMatch(
      /\/models\/0\/name: must match pattern .*; \/models\/0\/kind: must be one of "mtl", "stl", "lr"/,
    );
  });
});

describe('mhmtl run with a broken pipeline file', () => {
  it('prints one line naming the JSON paths and exits 2, before touching any database', async () => {
    const dir = makeTempDir('mhmtl-pipe-');
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...minimal, unit: { unit: 'user' } }));
    const r = await runCli(['run', file, '--data-dir', path.join(dir, 'db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`mhmtl: invalid pipeline file ${file}: /unit: unknown property 'unit'\n`);
    expect(existsSync(path.join(dir, 'db'))).toBe(false);
    writeFileSync(file, JSON.stringify({ ...minimal, evaluation: { compare: [['mtl', 'svm']] } }));
    const compare = await runCli(['run', file, '--data-dir', path.join(dir, 'db')]);
    expect(compare.code).toBe(2);
    expect(compare.stderr).toBe(
      `mhmtl: invalid pipeline file ${file}: /evaluation/compare/0/1: unknown model 'svm' (models: mtl, stl, lr)\n`,
    );
    expect(existsSync(path.join(dir, 'db'))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
