// Writes dist/db/pglite-template.tar.gz: the data directory of a freshly initialized embedded
// database (PGlite's initdb, nothing of mhmtl's schema), with dist/db/pglite-template.json naming
// the PGlite version that made it. A new embedded database is then unpacked from it instead of
// running initdb in the user's process: initdb runs a second PostgreSQL instance and copies its
// WebAssembly heap, about 730 MB peak RSS against 300 MB from the template (issue 19).
// Part of `npm run build`; skipped (nothing written) when the file is already there for this version.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
// compiled by the tsc step of `npm run build`, which runs first
import { installedPGliteVersion } from '../dist/db/pglite-template.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'dist', 'db');
const tarball = path.join(dir, 'pglite-template.tar.gz');
const meta = path.join(dir, 'pglite-template.json');
const version = installedPGliteVersion();
if (!version) throw new Error('cannot find the version of the installed @electric-sql/pglite');

const current =
  existsSync(tarball) && existsSync(meta) && JSON.parse(readFileSync(meta, 'utf8')).pglite === version;
if (!current) {
  const pglite = await PGlite.create();
  try {
    const blob = await pglite.dumpDataDir('gzip');
    mkdirSync(dir, { recursive: true });
    writeFileSync(tarball, Buffer.from(await blob.arrayBuffer()));
    writeFileSync(meta, `${JSON.stringify({ pglite: version }, null, 2)}\n`);
  } finally {
    await pglite.close();
  }
}
