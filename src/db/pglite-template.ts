import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { PACKAGE_ROOT } from '../version.js';

/**
 * The initialized-database template of the embedded backend: `npm run build`
 * (scripts/build-pglite-template.mjs) writes the data directory of a fresh PGlite database, right
 * after PGlite's initdb, to dist/db/pglite-template.tar.gz with the PGlite version that made it.
 * A new embedded database is unpacked from it (PGlite's `loadDataDir`) instead of running initdb
 * in this process, which starts a second PostgreSQL instance and copies its WebAssembly heap:
 * about 730 MB peak RSS and 35 s at load 20, against 300 MB and 10 s from the template (issue 19).
 */

const TEMPLATE = path.join(PACKAGE_ROOT, 'dist', 'db', 'pglite-template.tar.gz');
const TEMPLATE_META = path.join(PACKAGE_ROOT, 'dist', 'db', 'pglite-template.json');

/** The installed PGlite's version (its package.json, found from its entry point), or null. */
export function installedPGliteVersion(): string | null {
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    for (;;) {
      const file = path.join(dir, 'package.json');
      if (existsSync(file)) {
        const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
        if (pkg.name === '@electric-sql/pglite') return pkg.version ?? null;
      }
      const up = path.dirname(dir);
      if (up === dir) return null;
      dir = up;
    }
  } catch {
    return null;
  }
}

/**
 * The template to create a new database from (gzipped tar of a data directory), or null when
 * there is none or it was made by another PGlite version than the installed one (then PGlite runs
 * initdb as usual).
 */
export function pgliteTemplate(): Blob | null {
  if (!existsSync(TEMPLATE) || !existsSync(TEMPLATE_META)) return null;
  try {
    const meta = JSON.parse(readFileSync(TEMPLATE_META, 'utf8')) as { pglite?: string };
    if (!meta.pglite || meta.pglite !== installedPGliteVersion()) return null;
    return new Blob([readFileSync(TEMPLATE)]);
  } catch {
    return null;
  }
}

/** Whether `dataDir` already holds a database (PostgreSQL's PG_VERSION file); false for in-memory. */
export function holdsDatabase(dataDir: string | undefined): boolean {
  return dataDir !== undefined && existsSync(path.join(dataDir, 'PG_VERSION'));
}
