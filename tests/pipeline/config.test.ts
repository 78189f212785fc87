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

describe('mhmtl run with a broken pipeline file', () => {
  it('prints one line naming the JSON paths and exits 2, before touching any database', async () => {
    const dir = makeTempDir('mhmtl-pipe-');
    const file = path.join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ ...minimal, unit: { unit: 'user' } }));
    const r = await runCli(['run', file, '--data-dir', path.join(dir, 'db')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`mhmtl: invalid pipeline file ${file}: /unit: unknown property 'unit'\n`);
    expect(existsSync(path.join(dir, 'db'))).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });
});
