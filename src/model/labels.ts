import { UsageError } from '../errors.js';

/** Columns `columns` of a row-major `[rows x width]` matrix, for rows `rowIds` (all when null). */
export function selectLabels(
  y: Float32Array,
  width: number,
  rowIds: ArrayLike<number> | null,
  columns: readonly number[],
): Float32Array {
  const rows = rowIds ? rowIds.length : y.length / width;
  const out = new Float32Array(rows * columns.length);
  for (let i = 0; i < rows; i++) {
    const r = rowIds ? rowIds[i]! : i;
    for (let c = 0; c < columns.length; c++) out[i * columns.length + c] = y[r * width + columns[c]!]!;
  }
  return out;
}

/** Column indices of `tasks` within `available`. @throws UsageError when one is missing. */
export function taskColumns(available: readonly string[], tasks: readonly string[]): number[] {
  return tasks.map((t) => {
    const i = available.indexOf(t);
    if (i < 0) throw new UsageError(`task '${t}' is not among the labels (${available.join(', ')})`);
    return i;
  });
}
