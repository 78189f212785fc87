import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { countRows, createTestDatabase, type TestDatabase, testBackendNames } from '../helpers/databases.js';
import { makeTempDir } from '../helpers/tmp.js';

// A column mapping that does not fit the file's header is a usage error: one line naming the
// column and the header's columns, exit 2, nothing loaded and nothing quarantined. (Today the
// rows were each quarantined as `schema: user_id: is required` and the command exited 0.)

const TABLES = ['sources', 'users', 'posts', 'labels', 'quarantine', 'runs'] as const;
const NOTHING = Object.fromEntries(TABLES.map((t) => [t, 0]));

for (const name of testBackendNames()) {
  describe(`CSV/TSV headers against the column mapping [${name}]`, () => {
    let db: TestDatabase;
    let dir: string;
    const counts = () => countRows(db.config, TABLES);

    beforeAll(async () => {
      db = await createTestDatabase(name);
      dir = makeTempDir('mhmtl-columns-');
    });
    afterAll(async () => db.cleanup());

    it('a mapped column absent from the header: exit 2 naming it and the header, nothing loaded', async () => {
      const r = await runCli([
        'ingest',
        'posts',
        'fixtures/bad/invalid-utf8.csv',
        '--column',
        'user_id=author',
        '--column',
        'text=body',
        ...db.cliArgs,
      ]);
      expect(r.stderr).toBe(
        "mhmtl: column mapping user_id=author: fixtures/bad/invalid-utf8.csv has no column 'author' (its columns: post_id, user_id, created_at, text)\n",
      );
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(await counts()).toEqual(NOTHING);
    });

    it('a required column absent (no mapping): exit 2 with the fix; a good file before it is not loaded either', async () => {
      const r = await runCli([
        'ingest',
        'posts',
        'fixtures/bad/invalid-utf8.csv',
        'fixtures/bad/quoted-newlines.csv',
        ...db.cliArgs,
      ]);
      expect(r.stderr).toBe(
        "mhmtl: fixtures/bad/quoted-newlines.csv has no column 'user_id' for user_id, which posts need (its columns: post_id, author, created_at, body); map one with --column user_id=COLUMN\n",
      );
      expect(r.code).toBe(2);
      expect(await counts()).toEqual(NOTHING);
    });

    it('TSV long-form labels without a label column; mapped with --column label=value they load', async () => {
      const bad = path.join(dir, 'labels.tsv');
      writeFileSync(bad, 'user_id\ttask\tvalue\nu1\tdepression\t1\n');
      const r = await runCli(['ingest', 'labels', bad, ...db.cliArgs]);
      expect(r.stderr).toBe(
        `mhmtl: ${bad} has no column 'label' for label, which labels need (its columns: user_id, task, value); map one with --column label=COLUMN\n`,
      );
      expect(r.code).toBe(2);
      expect(await counts()).toEqual(NOTHING);
      const ok = await runCli(['ingest', 'labels', bad, '--column', 'label=value', ...db.cliArgs]);
      expect(ok.code).toBe(0);
      expect((await counts()).labels).toBe(1);
    });

    it('a pipeline input whose columns do not fit: exit 2 before a run is recorded', async () => {
      const before = await counts();
      const pipeline = path.join(dir, 'p.json');
      writeFileSync(
        pipeline,
        JSON.stringify({
          name: 'columns',
          inputs: [
            {
              kind: 'posts',
              files: [path.resolve('fixtures/bad/quoted-newlines.csv')],
              columns: { user_id: 'author', text: 'text' },
            },
          ],
          tasks: { main: ['depression'] },
        }),
      );
      const r = await runCli(['run', pipeline, ...db.cliArgs]);
      expect(r.stderr).toMatch(
        /^mhmtl: column mapping text=text: \S+quoted-newlines\.csv has no column 'text' \(its columns: post_id, author, created_at, body\)\n$/,
      );
      expect(r.code).toBe(2);
      expect(await counts()).toEqual(before);
    });
  });
}
