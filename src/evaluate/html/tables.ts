import { esc } from './style.js';

/** HTML tables of the report: every cell is escaped text. */

/** A cell: text, or text with a class for its td (e.g. 'num'). */
export type Cell = string | { text: string; className?: string };

/** A row with an optional class for its tr (e.g. 'low' for a low-support row, 'macro'). */
export interface Row {
  cells: readonly Cell[];
  className?: string;
}

/** A table with a header row; rows are plain cell arrays or {@link Row}s. */
export function table(
  head: readonly string[],
  rows: readonly (readonly Cell[] | Row)[],
  className = '',
): string {
  const td = (c: Cell) =>
    typeof c === 'string'
      ? `<td>${esc(c)}</td>`
      : `<td${c.className ? ` class="${esc(c.className)}"` : ''}>${esc(c.text)}</td>`;
  const tr = (r: readonly Cell[] | Row) => {
    const row = Array.isArray(r) ? { cells: r as readonly Cell[] } : (r as Row);
    return `<tr${row.className ? ` class="${esc(row.className)}"` : ''}>${row.cells.map(td).join('')}</tr>`;
  };
  return `<div class="wide"><table${className ? ` class="${esc(className)}"` : ''}><thead><tr>${head
    .map((h) => `<th>${esc(h)}</th>`)
    .join('')}</tr></thead><tbody>${rows.map(tr).join('')}</tbody></table></div>`;
}

/** A two-column key/value table (th, td). */
export function keyValueTable(rows: readonly (readonly [string, string])[]): string {
  return `<table><tbody>${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('')}</tbody></table>`;
}

/** A table of string records (the console's rows): the keys of the first row are the header. */
export function recordTable(rows: readonly Record<string, string>[]): string {
  const head = rows[0] ? Object.keys(rows[0]) : [];
  return table(
    head,
    rows.map((r) => head.map((h) => r[h] ?? '')),
  );
}

/** `{a: 1, b: [2, 3], c: {d: true}}` as `a: 1, b: [2, 3], c: {d: true}` (options for people). */
export function optionsText(value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return 'none';
  if (Array.isArray(value)) return `[${value.map(optionsText).join(', ')}]`;
  if (typeof value === 'object')
    return Object.entries(value as Record<string, unknown>)
      .map(
        ([k, v]) =>
          `${k}: ${typeof v === 'object' && v !== null && !Array.isArray(v) ? `{${optionsText(v)}}` : optionsText(v)}`,
      )
      .join(', ');
  return String(value);
}
