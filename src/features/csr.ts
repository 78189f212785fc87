/**
 * A sparse matrix in compressed sparse row (CSR) form, as scipy.sparse.csr_matrix: row `i` holds
 * the entries `indices[indptr[i] .. indptr[i+1])` (column indices, ascending within a row) with
 * `values` at the same positions. Memory is O(rows + non-zeros); nothing here allocates
 * `rows x cols`.
 */
export interface CsrMatrix {
  /** Number of rows (units of analysis). */
  readonly rows: number;
  /** Number of columns (features, the vocabulary size). */
  readonly cols: number;
  /** Row pointers, length `rows + 1`, `indptr[0] = 0`, `indptr[rows] = nnz`. */
  readonly indptr: Int32Array;
  /** Column index of each stored entry, length nnz. */
  readonly indices: Int32Array;
  /** Value of each stored entry, length nnz. */
  readonly values: Float32Array;
}

/** Number of stored (non-zero) entries. */
export function nnz(m: CsrMatrix): number {
  return m.indptr[m.rows] ?? 0;
}

/**
 * The sub-matrix made of the given rows, in the given order: shape `[rowIds.length, cols]`.
 * @throws RangeError when a row id is outside `[0, rows)`.
 */
export function selectRows(m: CsrMatrix, rowIds: ArrayLike<number>): CsrMatrix {
  let total = 0;
  for (let k = 0; k < rowIds.length; k++) {
    const r = rowIds[k]!;
    if (r < 0 || r >= m.rows) throw new RangeError(`row ${r} outside [0, ${m.rows})`);
    total += m.indptr[r + 1]! - m.indptr[r]!;
  }
  const indptr = new Int32Array(rowIds.length + 1);
  const indices = new Int32Array(total);
  const values = new Float32Array(total);
  let at = 0;
  for (let k = 0; k < rowIds.length; k++) {
    const r = rowIds[k]!;
    const start = m.indptr[r]!;
    const end = m.indptr[r + 1]!;
    indices.set(m.indices.subarray(start, end), at);
    values.set(m.values.subarray(start, end), at);
    at += end - start;
    indptr[k + 1] = at;
  }
  return { rows: rowIds.length, cols: m.cols, indptr, indices, values };
}

/**
 * Build a CSR matrix from per-row sparse entries (column indices need not be sorted; duplicates
 * are summed). Intended for tests and small inputs.
 */
export function csrFromRows(rows: readonly (readonly [number, number][])[], cols: number): CsrMatrix {
  const indptr = new Int32Array(rows.length + 1);
  const idx: number[] = [];
  const val: number[] = [];
  rows.forEach((entries, i) => {
    const merged = new Map<number, number>();
    for (const [c, v] of entries) {
      if (c < 0 || c >= cols) throw new RangeError(`column ${c} outside [0, ${cols})`);
      merged.set(c, (merged.get(c) ?? 0) + v);
    }
    for (const c of [...merged.keys()].sort((a, b) => a - b)) {
      idx.push(c);
      val.push(merged.get(c)!);
    }
    indptr[i + 1] = idx.length;
  });
  return { rows: rows.length, cols, indptr, indices: Int32Array.from(idx), values: Float32Array.from(val) };
}
