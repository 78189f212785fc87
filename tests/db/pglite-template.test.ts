import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, expect, it } from 'vitest';
import { migrateToLatest } from '../../src/db/migrate.js';
import { PGliteBackend } from '../../src/db/pglite-backend.js';
import { holdsDatabase, installedPGliteVersion, pgliteTemplate } from '../../src/db/pglite-template.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'mhmtl-template-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const CATALOG = `SELECT current_setting('server_encoding') AS encoding, (SELECT datcollate FROM pg_database WHERE datname = current_database()) AS collate,
  current_setting('server_version') AS version, (SELECT count(*)::int FROM pg_class) AS relations,
  (SELECT count(*)::int FROM pg_proc) AS functions, (SELECT array_agg(datname ORDER BY datname) FROM pg_database) AS databases`;

it('the build wrote a template for the installed PGlite', () => {
  expect(installedPGliteVersion()).toMatch(/^\d+\.\d+\.\d+/);
  const template = pgliteTemplate();
  expect(template).not.toBeNull();
  expect(template!.size).toBeGreaterThan(1_000_000); // a gzipped data directory, not an empty file
});

it('a database unpacked from the template has the catalog initdb makes, persists, and migrates', async () => {
  const fresh = await PGlite.create(); // initdb in this process, no template
  const expected = (await fresh.query(CATALOG)).rows[0];
  await fresh.close();

  const dir = path.join(tmp, 'db');
  expect(holdsDatabase(dir)).toBe(false);
  const backend = await PGliteBackend.open(dir);
  try {
    expect(holdsDatabase(dir)).toBe(true);
    const [got] = await backend.transaction((s) => s.query(CATALOG));
    expect(got).toEqual(expected);
    await migrateToLatest(backend.db);
    await backend.transaction((s) =>
      s.query(`INSERT INTO mhmtl.runs (pipeline, config, status, seed, code_version, backend)
      VALUES ('t', '{}', 'running', 1, 'test', 'pglite')`),
    );
  } finally {
    await backend.close();
  }
  // reopened: the existing directory is used, not the template
  const again = await PGliteBackend.open(dir);
  try {
    const [row] = await again.transaction((s) =>
      s.query<{ n: number }>('SELECT count(*)::int AS n FROM mhmtl.runs'),
    );
    expect(row!.n).toBe(1);
  } finally {
    await again.close();
  }
});
