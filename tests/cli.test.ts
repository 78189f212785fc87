import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../src/version.js';
import { CLI, runCli } from './helpers/cli.js';
import { createTestDatabase, type TestDatabase, testBackendNames } from './helpers/databases.js';

/** Run an ES module snippet in a fresh Node process; its stdout, trimmed. */
async function execNode(code: string): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', code]);
  return stdout.trim();
}

describe('mhmtl CLI basics', () => {
  it('prints its version and help, exit 0', async () => {
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = await runCli(['db', 'status', '--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('Usage: mhmtl db status');
  });

  it('loads TensorFlow.js and wink-nlp only for the commands that use them', async () => {
    // tfjs-core keeps its engine in globalThis._tfengine from the moment it is imported; wink-nlp
    // is a CommonJS module, so it shows in require.cache.
    const probe = (extra: string) =>
      `const { createRequire } = await import('node:module');
       const require = createRequire(${JSON.stringify(`${PACKAGE_ROOT}/`)});
       (await import(${JSON.stringify(pathToFileURL(path.join(PACKAGE_ROOT, 'dist/cli/program.js')).href)})).buildProgram();
       ${extra}
       const wink = Object.keys(require.cache).some((k) => k.includes('wink-nlp'));
       console.log(typeof globalThis._tfengine, wink);`;
    const light = await execNode(probe(''));
    expect(light).toBe('undefined false');
    const heavy = await execNode(
      probe(
        `await import(${JSON.stringify(pathToFileURL(path.join(PACKAGE_ROOT, 'dist/pipeline/run.js')).href)});`,
      ),
    );
    expect(heavy).toBe('object true');
  });

  it('exits 2 with a usage line on an unknown command or option', async () => {
    const r = await runCli(['nonsense']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'nonsense'");
    expect(r.stderr).toMatch(/usage: mhmtl/);
    const o = await runCli(['db', 'status', '--no-such-option']);
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(/usage: mhmtl db status/);
  });

  it('finishes quietly with exit 0 when its reader stops early (mhmtl sql ... | head)', async () => {
    const child = spawn(
      process.execPath,
      [CLI, 'sql', 'select g from generate_series(1, 300000) g', '--data-dir', ':memory:', '--format', 'csv'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    // Like `head -1`: read the first chunk (the output is ~2 MB, far more than a pipe holds), then close.
    const first = await new Promise<string>((resolve) => {
      child.stdout.once('data', (d: Buffer) => {
        child.stdout.destroy();
        resolve(d.toString('utf8'));
      });
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(first.split('\n')[0]).toBe('g');
    expect(stderr).toBe('');
    expect(code).toBe(0);
  });

  it('rejects a bad --format with exit 2', async () => {
    const r = await runCli(['sql', 'select 1', '--data-dir', ':memory:', '--format', 'xml']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--format must be one of table, csv, json');
  });
});

for (const name of testBackendNames()) {
  describe(`mhmtl db and sql [${name}]`, () => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(name);
    });
    afterAll(async () => db.cleanup());

    it('db status creates the database and prints backend and schema version', async () => {
      const r = await runCli(['db', 'status', ...db.cliArgs]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`backend:        ${name}`);
      expect(r.stdout).toMatch(/schema version: \d{4}_\w+ \(latest\)/);
      expect(r.stdout).toMatch(/ posts +\| +0/);
    });

    it('db migrate twice is a no-op the second time', async () => {
      const r = await runCli(['db', 'migrate', ...db.cliArgs]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('schema is up to date');
    });

    it('sql prints an aligned table, CSV and JSON', async () => {
      const q = "select 1 as n, 'a|b' as s union all select 22, null order by n";
      const t = await runCli(['sql', q, ...db.cliArgs]);
      expect(t.code).toBe(0);
      expect(t.stdout.split('\n').slice(0, 4)).toEqual([
        ' n  | s   ',
        '----+-----',
        '  1 | a|b ',
        ' 22 |     ',
      ]);
      const c = await runCli(['sql', q, '--format', 'csv', ...db.cliArgs]);
      expect(c.stdout).toBe('n,s\n1,a|b\n22,\n');
      const j = await runCli(['sql', q, '--format', 'json', ...db.cliArgs]);
      expect(JSON.parse(j.stdout)).toEqual([
        { n: 1, s: 'a|b' },
        { n: 22, s: null },
      ]);
    });

    it('sql refuses a write with the read-only error and exit 1, one line, no stack', async () => {
      const r = await runCli(['sql', 'delete from mhmtl.posts', ...db.cliArgs]);
      expect(r.code).toBe(1);
      expect(r.stderr).toBe('mhmtl: cannot execute DELETE in a read-only transaction\n');
      const v = await runCli(['sql', 'delete from mhmtl.posts', '--verbose', ...db.cliArgs]);
      expect(v.code).toBe(1);
      expect(v.stderr.split('\n').length).toBeGreaterThan(3);
    });
  });
}

describe('server configuration errors', () => {
  it('fails with one line and exit 1 when the server does not answer, password masked', async () => {
    const r = await runCli(['db', 'status', '--database-url', 'postgres://u:secret@127.0.0.1:1/none']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^mhmtl: cannot connect to postgres:\/\/u:\*\*\*\*@127\.0\.0\.1:1\/none/);
    expect(r.stderr).not.toContain('secret');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
