import type { Command } from 'commander';
import { currentSchemaVersion, migrateToLatest } from '../../db/migrate.js';
import { applyReaderAccess, readerRole, setReaderRole } from '../../db/reader-access.js';
import { databaseStatus } from '../../db/status.js';
import { withDatabase } from '../context.js';
import { parseFormat, renderRows, TABLE_FORMATS } from '../output.js';

/** `mhmtl db migrate`, `mhmtl db reader-role` and `mhmtl db status`. */
export function registerDbCommands(program: Command): void {
  const db = program.command('db').description('create, migrate and inspect the database');

  db.command('migrate')
    .description('apply pending schema migrations (a no-op when up to date)')
    .action(async (_opts, cmd: Command) => {
      await withDatabase(
        cmd,
        async (backend) => {
          const kdb = backend.db;
          const applied = await migrateToLatest(kdb);
          const version = await currentSchemaVersion(kdb);
          // Up to date: the reader's grants are re-applied anyway (a repair for an administrator).
          if (applied.length === 0) await applyReaderAccess(kdb);
          process.stdout.write(
            applied.length > 0
              ? `applied ${applied.length} migration(s): ${applied.join(', ')}; schema version ${version}\n`
              : `schema is up to date (version ${version})\n`,
          );
        },
        { migrate: false },
      );
    });

  db.command('reader-role')
    .description(
      "print this database's read-only reader role, or name another (per database: a person granted it reads this database only)",
    )
    .argument('[name]', 'the new role name, e.g. mhmtl_reader_cohort_a (created NOLOGIN when missing)')
    .action(async (name: string | undefined, _opts, cmd: Command) => {
      await withDatabase(cmd, async (backend) => {
        const kdb = backend.db;
        if (name === undefined) {
          process.stdout.write(`${await readerRole(kdb)}\n`);
          return;
        }
        const { previous } = await setReaderRole(kdb, name);
        process.stdout.write(
          previous === name
            ? `reader role ${name}: grants re-applied\n`
            : `reader role ${name} (was ${previous}, which no longer reads this database)\n`,
        );
      });
    });

  db.command('status')
    .description('backend, location, server version, buffer pool, schema version and row count per table')
    .option('--format <format>', `output format: ${TABLE_FORMATS.join(', ')}`, 'table')
    .action(async (opts: { format: string }, cmd: Command) => {
      const format = parseFormat(opts.format, TABLE_FORMATS);
      await withDatabase(cmd, async (backend) => {
        const status = await databaseStatus(backend);
        if (format === 'json') {
          process.stdout.write(`${JSON.stringify(status, null, 2)}\n`);
          return;
        }
        if (format === 'table') {
          process.stdout.write(
            [
              `backend:        ${status.backend}${status.backend === 'pglite' ? ' (embedded)' : ' (server)'}`,
              `location:       ${status.location}`,
              `server version: PostgreSQL ${status.serverVersion}`,
              `shared buffers: ${status.sharedBuffers}${status.backend === 'pglite' ? ' (embedded; set with MHMTL_PGLITE_SETTINGS)' : ''}`,
              `schema version: ${status.schemaVersion ?? 'none'}${
                status.schemaVersion === status.latestSchemaVersion
                  ? ' (latest)'
                  : ` (latest: ${status.latestSchemaVersion})`
              }`,
              '',
            ].join('\n'),
          );
        }
        process.stdout.write(renderRows(status.tables, format, ['table', 'rows']));
      });
    });
}
