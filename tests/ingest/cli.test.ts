import { writeFileSync } from 'node:fs';
import { makeTempDir } from '../helpers/tmp.js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { createTestDatabase, type TestDatabase, testBackendNames } from '../helpers/databases.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BAD = path.join(ROOT, 'fixtures/bad');

for (const name of testBackendNames()) {
  describe(`mhmtl ingest CLI [${name}]`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(name);
    });
    afterAll(async () => db.cleanup());

    it('prints a per-file summary and a warning count, exit 0', async () => {
      const r = await runCli([
        'ingest',
        'posts',
        path.join(BAD, 'bad-date.jsonl'),
        path.join(BAD, 'posts.jsonl.gz'),
        ...db.cliArgs,
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/bad-date\.jsonl \(source \d+, jsonl, posts\): 5 records/);
      expect(r.stdout).toContain('posts 2 inserted, 0 duplicates');
      expect(r.stdout).toContain('rejected 3 (bad_date 3)');
      expect(r.stdout).toMatch(/posts\.jsonl\.gz \(source \d+, jsonl\.gz, posts\): 3 records/);
      expect(r.stdout).toMatch(/\d+ rows\/s/);
      expect(r.stderr).toContain('warning: 3 row(s) rejected');
    });

    it('--strict exits 1 and loads nothing from the file', async () => {
      const r = await runCli([
        'ingest',
        'posts',
        '--strict',
        path.join(BAD, 'empty-text.jsonl'),
        ...db.cliArgs,
      ]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('--strict and 3 rejected (empty_text 3): nothing loaded');
      const q = await runCli([
        'sql',
        "select count(*) as n from mhmtl.posts p join mhmtl.sources s using (source_id) where s.file_name = 'empty-text.jsonl'",
        '--format',
        'csv',
        ...db.cliArgs,
      ]);
      expect(q.stdout).toBe('n\n0\n');
    });

    it('a missing file: one line, exit 1', async () => {
      const r = await runCli(['ingest', 'labels', path.join(BAD, 'nope.jsonl'), ...db.cliArgs]);
      expect(r.code).toBe(1);
      expect(r.stderr.trim().split('\n')).toEqual([
        `mhmtl: cannot read ${path.join(BAD, 'nope.jsonl')}: no such file`,
      ]);
    });

    it('reddit with --map FILE and CSV column options; --quiet prints nothing', async () => {
      const r = await runCli([
        'ingest',
        'reddit',
        path.join(BAD, 'reddit.csv'),
        '--map',
        path.join(BAD, 'reddit.mapping.json'),
        ...db.cliArgs,
      ]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('labels 6 inserted');
      expect(r.stdout).toContain('skipped: distinguished 1');
      const c = await runCli([
        'ingest',
        'posts',
        '--quiet',
        '--column',
        'user_id=author',
        '--column',
        'text=body',
        path.join(BAD, 'quoted-newlines.csv'),
        ...db.cliArgs,
      ]);
      expect([c.code, c.stdout, c.stderr]).toEqual([0, '', '']);
      const bad = await runCli([
        'ingest',
        'posts',
        '--column',
        'nonsense',
        path.join(BAD, 'reddit.csv'),
        ...db.cliArgs,
      ]);
      expect(bad.code).toBe(2);
    });
  });
}

describe('mhmtl fixtures generate', () => {
  it('writes the same bytes for the same seed', async () => {
    const dir = makeTempDir('mhmtl-fx-');
    const a = await runCli([
      'fixtures',
      'generate',
      '--users',
      '20',
      '--seed',
      '3',
      '--out',
      path.join(dir, 'a'),
    ]);
    const b = await runCli([
      'fixtures',
      'generate',
      '--users',
      '20',
      '--seed',
      '3',
      '--out',
      path.join(dir, 'b'),
      '--quiet',
    ]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/wrote 20 users, \d+ posts/);
    expect(b.stdout).toBe('');
    const { readFileSync } = await import('node:fs');
    expect(
      readFileSync(path.join(dir, 'a/posts.jsonl')).equals(readFileSync(path.join(dir, 'b/posts.jsonl'))),
    ).toBe(true);
    writeFileSync(path.join(dir, 'x'), '');
  });
});
