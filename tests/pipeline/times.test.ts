import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createdAtProblem, parseCreatedAt } from '../../src/ingest/repair.js';
import { parsePipeline } from '../../src/pipeline/config.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/tmp.js';

// One rule for times: a pipeline's unit.time_window is refused without a UTC offset, in the words
// a post's created_at is quarantined with (today both values below were silently taken as UTC).

const pipeline = (time_window: Record<string, string | null>) => ({
  name: 'p',
  inputs: [{ kind: 'posts', files: ['posts.jsonl'] }],
  tasks: { main: ['depression'] },
  unit: { of_analysis: 'user', time_window },
});

describe('unit.time_window follows the rule of post times', () => {
  it('refuses a local time and a bare date, naming the JSON path and the fix', () => {
    expect(() => parsePipeline(pipeline({ from: '2015-06-01T00:00:00' }), '/x')).toThrow(
      'invalid pipeline: /unit/time_window/from: no UTC offset in "2015-06-01T00:00:00" (add Z or +hh:mm: a time without one is in an unknown zone)',
    );
    expect(() => parsePipeline(pipeline({ from: '2015-01-01T00:00:00Z', to: '2015-06-01' }), '/x')).toThrow(
      'invalid pipeline: /unit/time_window/to: no UTC offset in "2015-06-01" (write 2015-06-01T00:00:00Z, or with +hh:mm: a date without a time and offset is in an unknown zone)',
    );
    expect(() => parsePipeline(pipeline({ from: '2015-02-30T00:00:00Z' }), '/x')).toThrow(
      'invalid pipeline: /unit/time_window/from: unparseable date "2015-02-30T00:00:00Z"',
    );
  });

  it('accepts Z and offsets, as posts do', () => {
    for (const t of ['2015-06-01T00:00:00Z', '2015-06-01T02:00:00+02:00', '2015-06-01 00:00+0000']) {
      expect(parsePipeline(pipeline({ from: t, to: null }), '/x').unit?.time_window?.from).toBe(t);
      expect(parseCreatedAt(t)).toBe('2015-06-01T00:00:00.000Z');
    }
  });

  it('a post without an offset is refused in the same words', () => {
    expect(createdAtProblem('2015-06-01T00:00:00')).toBe(
      'no UTC offset in "2015-06-01T00:00:00" (add Z or +hh:mm: a time without one is in an unknown zone)',
    );
    expect(parseCreatedAt('2015-06-01')).toBeNull();
    expect(createdAtProblem('2015-06-01')).toMatch(
      /^no UTC offset in "2015-06-01" \(write 2015-06-01T00:00:00Z/,
    );
  });

  it('mhmtl run refuses such a pipeline with exit 2 before opening the database', async () => {
    const dir = makeTempDir('mhmtl-times-');
    const file = path.join(dir, 'p.json');
    writeFileSync(file, JSON.stringify(pipeline({ from: '2015-06-01' })));
    const r = await runCli(['run', file, '--data-dir', path.join(dir, 'data')]);
    expect(r.stderr).toMatch(
      /^mhmtl: invalid pipeline file \S+p\.json: \/unit\/time_window\/from: no UTC offset in "2015-06-01"/,
    );
    expect(r.stderr.split('\n')).toHaveLength(2);
    expect(r.code).toBe(2);
  });
});
