import type { Command } from 'commander';
import { currentSchemaVersion, migrateToLatest } from '../../db/migrate.js';
import { databaseStatus } from '../../db/status.js';
import { withDatabase } from '../context.js';
import { parseFormat, renderRows, TABLE_FORMATS } from '../output.js';

/** `mhmtl db migrate` and `mhmtl db status`. */
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
          process.stdout.write(
            applied.length > 0
              ? `applied ${applied.length} migration(s): ${applied.join(', ')}; schema version ${version}\n`
              : `schema is up to date (version ${version})\n`,
          );
        },
        { migrate: false },
      );
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
