import type { Command } from 'commander';
import { withDatabase } from '../context.js';
import { parseFormat, renderArrays, TABLE_FORMATS } from '../output.js';

/** `mhmtl sql "<query>"`: one read-only query, printed as a table, CSV or JSON. */
export function registerSqlCommand(program: Command): void {
  program
    .command('sql')
    .description('run one query in a READ ONLY transaction and print its rows')
    .argument('<query>', 'one SQL statement, e.g. "select * from mhmtl.runs"')
    .option('--format <format>', `output format: ${TABLE_FORMATS.join(', ')}`, 'table')
    .action(async (query: string, opts: { format: string }, cmd: Command) => {
      const format = parseFormat(opts.format, TABLE_FORMATS);
      await withDatabase(cmd, async (backend) => {
        const result = await backend.transaction((session) => session.queryArrays(query), {
          readOnly: true,
        });
        process.stdout.write(renderArrays(result.columns, result.rows, format));
      });
    });
}
