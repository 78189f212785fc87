import type { Command } from 'commander';
import { currentSchemaVersion, migrateToLatest } from '../../db/migrate.js';
import { MAX_PARTITIONS, partitionUserTables } from '../../db/partition.js';
import { applyReaderAccess, readerRole, setReaderRole } from '../../db/reader-access.js';
import { databaseStatus } from '../../db/status.js';
import { BusyError, UsageError } from '../../errors.js';
import { RUN_LOCK_KEY } from '../../pipeline/runs.js';
import { databaseConfig, withDatabase } from '../context.js';
import { parseFormat, renderRows, TABLE_FORMATS } from '../output.js';

/** `mhmtl db migrate`, `mhmtl db reader-role`, `mhmtl db status` and `mhmtl db partition`. */
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
              `per-user tables: ${describeLayout(status.userTables)}`,
              '',
            ].join('\n'),
          );
        }
        process.stdout.write(renderRows(status.tables, format, ['table', 'rows']));
      });
    });

  db.command('partition')
    .description(
      'server only: hash-partition the per-user tables (users, posts, labels, post_tokens, predictions, splits) by user, co-located (see SCALE.md)',
    )
    .requiredOption('--partitions <n>', `partitions per table, 1-${MAX_PARTITIONS}`)
    .action(async (opts: { partitions: string }, cmd: Command) => {
      const n = Number(opts.partitions);
      if (!Number.isInteger(n) || n < 1 || n > MAX_PARTITIONS) {
        throw new UsageError(
          `--partitions must be an integer from 1 to ${MAX_PARTITIONS} (got '${opts.partitions}')`,
        );
      }
      if (databaseConfig(cmd).kind !== 'server') {
        throw new UsageError(
          'db partition needs a PostgreSQL server (--database-url or DATABASE_URL): an embedded database is one process on one machine, it has nothing to distribute',
        );
      }
      await withDatabase(cmd, async (backend) => {
        // A run reads and writes these tables across many transactions: not while one is going on.
        const lock = await backend.advisoryLock(RUN_LOCK_KEY);
        if (!lock) throw new BusyError('another run is in progress: partition the tables when it is done');
        try {
          const summary = await partitionUserTables(backend, n);
          const tables = summary.tables.map((t) => `${t.table} (${t.rows} rows, by ${t.key})`).join(', ');
          process.stdout.write(
            summary.changed
              ? `hash-partitioned by user into ${n} partitions each in ${summary.seconds.toFixed(1)} s: ${tables}\n`
              : `already hash-partitioned by user into ${n} partitions each: ${tables}\n`,
          );
        } finally {
          await lock.release();
        }
      });
    });
}

function describeLayout(tables: readonly { table: string; partitions: number }[]): string {
  const counts = new Set(tables.map((t) => t.partitions));
  if (counts.size === 1 && counts.has(0)) return 'plain';
  if (counts.size === 1) return `hash-partitioned by user, ${tables[0]?.partitions} partitions each`;
  return tables
    .map((t) => `${t.table} ${t.partitions === 0 ? 'plain' : `${t.partitions} partitions`}`)
    .join(', ');
}
