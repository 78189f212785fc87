import { stringify } from 'csv-stringify/sync';
import Table from 'cli-table3';
import { UsageError } from '../errors.js';

/** Output formats every tabular command offers. */
export const TABLE_FORMATS = ['table', 'csv', 'json'] as const;
export type TableFormat = (typeof TABLE_FORMATS)[number];

/** Check a `--format` value (or of the option named `option`). @throws UsageError naming the allowed values. */
export function parseFormat<F extends string>(value: string, allowed: readonly F[], option = '--format'): F {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${option} must be one of ${allowed.join(', ')} (got '${value}')`);
  }
  return value as F;
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number')
    return Number.isInteger(value) ? String(value) : String(Number(value.toPrecision(6)));
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Render rows (objects with the same keys) as an aligned text table, CSV with a header, or a JSON
 * array. `columns` defaults to the keys of the first row. Numbers in the table are shown with six
 * significant digits; CSV and JSON keep full precision.
 */
export function renderRows(
  rows: readonly Record<string, unknown>[],
  format: TableFormat,
  columns: readonly string[] = rows[0] ? Object.keys(rows[0]) : [],
): string {
  if (format === 'json') return `${JSON.stringify(rows, null, 2)}\n`;
  return renderArrays(
    columns,
    rows.map((r) => columns.map((c) => r[c])),
    format,
  );
}

/**
 * Render rows given as arrays under `columns` (names may repeat, as in a query's result): a text
 * table or CSV keeps every column; JSON objects cannot hold a name twice, so a repeated name is a
 * usage error naming it.
 * @throws UsageError for JSON with a repeated column name.
 */
export function renderArrays(
  columns: readonly string[],
  rows: readonly (readonly unknown[])[],
  format: TableFormat,
): string {
  if (format === 'json') {
    const repeated = columns.find((c, i) => columns.indexOf(c) !== i);
    if (repeated !== undefined) {
      throw new UsageError(
        `--format json: the column name '${repeated}' appears twice; give the columns distinct names (AS ...)`,
      );
    }
    return renderRows(
      rows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))),
      'json',
    );
  }
  if (format === 'csv') {
    return stringify(
      rows.map((r) => r.map((v) => (v instanceof Date ? v.toISOString() : v))),
      { header: true, columns: [...columns], cast: { object: (v) => JSON.stringify(v) } },
    );
  }
  const table = new Table({
    head: [...columns],
    style: { head: [], border: [], compact: true, 'padding-left': 1, 'padding-right': 1 },
    chars: {
      top: '',
      'top-mid': '',
      'top-left': '',
      'top-right': '',
      bottom: '',
      'bottom-mid': '',
      'bottom-left': '',
      'bottom-right': '',
      left: '',
      'left-mid': '',
      mid: '-',
      'mid-mid': '+',
      right: '',
      'right-mid': '',
      middle: '|',
    },
  });
  for (const r of rows) {
    table.push(
      r.map((v) => (typeof v === 'number' ? { content: cell(v), hAlign: 'right' as const } : cell(v))),
    );
  }
  const n = rows.length;
  return `${table.toString()}\n(${n} row${n === 1 ? '' : 's'})\n`;
}
