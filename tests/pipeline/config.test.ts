import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPipeline, parsePipeline } from '../../src/pipeline/config.js';

const minimal = {
  name: 'p1',
  inputs: [{ kind: 'posts', files: ['data/posts.jsonl'] }],
  tasks: { main: ['depression'] },
};

describe('pipeline files', () => {
  it('resolves relative input paths against the pipeline folder, or --data-root', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-pipe-'));
    const file = path.join(dir, 'p.json');
    writeFileSync(
      file,
      JSON.stringify({ ...minimal, inputs: [{ kind: 'reddit', files: ['a.csv'], mapping: 'm.json' }] }),
    );
    const loaded = loadPipeline(file);
    expect(loaded.config.inputs[0]?.files).toEqual([path.join(dir, 'a.csv')]);
    expect(loaded.config.inputs[0]?.mapping).toBe(path.join(dir, 'm.json'));
    expect(loadPipeline(file, { dataRoot: '/data' }).config.inputs[0]?.files).toEqual(['/data/a.csv']);
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
      /cannot read pipeline file \/nonexistent\/p.json: ENOENT/,
    );
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-pipe-'));
    writeFileSync(path.join(dir, 'b.json'), '{"name": ');
    expect(() => loadPipeline(path.join(dir, 'b.json'))).toThrow(/is not valid JSON/);
  });
});
