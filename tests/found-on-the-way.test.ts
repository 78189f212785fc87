import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateCohort } from '../src/synth/generate.js';
import { CLI, runCli, runScript } from './helpers/cli.js';
import { countRows, createTestDatabase, type TestDatabase } from './helpers/databases.js';
import { writeTestPipeline } from './helpers/pipeline-file.js';
import { makeTempDir } from './helpers/tmp.js';

// Smaller things a new user met (issue 17, item 7), each as the user met it: through the CLI.

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

describe('smaller things found on the way', () => {
  let db: TestDatabase;
  let dir: string;

  beforeAll(async () => {
    db = await createTestDatabase('pglite');
    dir = makeTempDir('mhmtl-found-');
  });
  afterAll(async () => db.cleanup());

  it('mhmtl sql keeps two columns of the same name (table, CSV); JSON refuses them naming the fix', async () => {
    const q = 'select 1 as a, 2 as a';
    const t = await runCli(['sql', q, ...db.cliArgs]);
    expect(t.stdout).toBe(' a | a \n---+---\n 1 | 2 \n(1 row)\n');
    expect(t.code).toBe(0);
    const c = await runCli(['sql', q, '--format', 'csv', ...db.cliArgs]);
    expect(c.stdout).toBe('a,a\n1,2\n');
    const j = await runCli(['sql', q, '--format', 'json', ...db.cliArgs]);
    expect(j.stderr).toBe(
      "mhmtl: --format json: the column name 'a' appears twice; give the columns distinct names (AS ...)\n",
    );
    expect(j.code).toBe(2);
    const e = await runCli(['sql', 'select 1 as a where false', ...db.cliArgs]);
    expect(e.stdout).toBe(' a \n(0 rows)\n'); // the header, even without rows
  });

  it('tokenize --quiet prints nothing, and tokenizes', async () => {
    const posts = path.join(dir, 'posts.jsonl');
    writeFileSync(
      posts,
      '{"post_id":"p1","user_id":"u1","created_at":"2015-06-01T12:00:00Z","text":"Hello there, quiet world"}\n',
    );
    expect((await runCli(['ingest', 'posts', posts, '--quiet', ...db.cliArgs])).code).toBe(0);
    const r = await runCli(['tokenize', '--quiet', '--workers', '0', ...db.cliArgs]);
    expect({ code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await countRows(db.config, ['post_tokens'])).post_tokens).toBe(1);
  });

  it('--log-format json: stderr is JSON lines only, the SIGTERM that stops a run included', async () => {
    const cohort = await generateCohort({
      users: 40,
      seed: 5,
      out: path.join(dir, 'cohort'),
      minPosts: 5,
      maxPosts: 8,
    });
    const slow = writeTestPipeline(dir, 'slow', cohort, {
      training: { epochs: 2000, patience: 2000, batch_size: 8 },
      baselines: { stl: false, lr: false, mtl_no_aux: false },
    });
    const child = spawn(
      process.execPath,
      [CLI, 'run', slow, '--workers', '1', '--log-format', 'json', '--data-dir', path.join(dir, 'json-data')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const done = new Promise<number | null>((resolve) => child.on('close', resolve));
    const deadline = Date.now() + 90_000;
    while (!stderr.includes('stage train: started') && Date.now() < deadline) await sleep(200);
    child.kill('SIGTERM');
    expect(await done).toBe(143);
    const lines = stderr.trimEnd().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { level: number; msg: string; exit_code?: number });
    expect(parsed.at(-1)).toMatchObject({ level: 50, exit_code: 143 });
    expect(parsed.at(-1)!.msg).toMatch(/^interrupted by SIGTERM; stopped (before|during) stage '[^']+'$/);
    expect(stderr).not.toMatch(/^mhmtl: /m);
  });

  it('a pipeline whose data is not here: exit 2 naming the file, its JSON path and --data-root; nothing recorded', async () => {
    const empty = makeTempDir('mhmtl-no-data-');
    for (const extra of [[], ['--log-format', 'json']]) {
      const r = await runCli([
        'run',
        path.join(ROOT, 'pipelines/reddit-top-2013.json'),
        '--data-root',
        empty,
        ...extra,
        ...db.cliArgs,
      ]);
      const message = `pipeline file ${path.relative(process.cwd(), path.join(ROOT, 'pipelines/reddit-top-2013.json'))}: /inputs/0/files/0: no such file ${empty}/ADHD.csv; the inputs are read from ${empty} (the pipeline's data_root, or --data-root DIR): put the files there or name their folder with --data-root`;
      if (extra.length === 0) expect(r.stderr).toBe(`mhmtl: ${message}\n`);
      else expect(JSON.parse(r.stderr)).toMatchObject({ level: 50, msg: message, exit_code: 2 });
      expect(r.code).toBe(2);
    }
    expect((await countRows(db.config, ['runs'])).runs).toBe(0);
    // README says where that data comes from.
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toMatch(/reddit-top-2013 data is \*\*not in this repository\*\*/);
    expect(readme).toContain('`umbrae/reddit-top-2.5-million`');
  });

  it('npm run bench says when it measures the embedded database only', async () => {
    const r = await runScript(path.join(ROOT, 'dist/bench/main.js'), [
      '--sizes',
      '30',
      '--stages',
      'features',
      '--data',
      path.join(dir, 'bench-data'),
      '--out',
      path.join(dir, 'bench.json'),
    ]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(
      /^bench: embedded database \(PGlite\) only; --backend both --database-url URL \(or DATABASE_URL\) measures a PostgreSQL server too$/m,
    );
    expect(r.stdout).toContain('database pglite,');
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('npm run bench -- --quick      # 500 and 2,000 users, embedded database only');
  });
});
