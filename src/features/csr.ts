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
  return selectStackedRows([m], rowIds);
}

/**
 * {@link selectRows} of the blocks stacked vertically (same `cols`), without building the stack:
 * row r of the stack is row r - (rows of the blocks before) of its block. Shape
 * `[rowIds.length, cols]`; memory: one copy of the selected non-zeros.
 * @throws RangeError when a row id is outside the stack, or the blocks' column counts differ.
 */
export function selectStackedRows(blocks: readonly CsrMatrix[], rowIds: ArrayLike<number>): CsrMatrix {
  const cols = blocks[0]?.cols ?? 0;
  const starts: number[] = [];
  let rows = 0;
  for (const b of blocks) {
    if (b.cols !== cols) throw new RangeError(`a block has ${b.cols} columns, expected ${cols}`);
    starts.push(rows);
    rows += b.rows;
  }
  const blockOf = new Int32Array(rows);
  for (let k = 0; k < blocks.length; k++) blockOf.fill(k, starts[k]!, starts[k]! + blocks[k]!.rows);
  let total = 0;
  for (let k = 0; k < rowIds.length; k++) {
    const r = rowIds[k]!;
    if (r < 0 || r >= rows) throw new RangeError(`row ${r} outside [0, ${rows})`);
    const b = blocks[blockOf[r]!]!;
    const i = r - starts[blockOf[r]!]!;
    total += b.indptr[i + 1]! - b.indptr[i]!;
  }
  const indptr = new Int32Array(rowIds.length + 1);
  const indices = new Int32Array(total);
  const values = new Float32Array(total);
  let at = 0;
  for (let k = 0; k < rowIds.length; k++) {
    const r = rowIds[k]!;
    const b = blocks[blockOf[r]!]!;
    const i = r - starts[blockOf[r]!]!;
    const start = b.indptr[i]!;
    const end = b.indptr[i + 1]!;
    indices.set(b.indices.subarray(start, end), at);
    values.set(b.values.subarray(start, end), at);
    at += end - start;
    indptr[k + 1] = at;
  }
  return { rows: rowIds.length, cols, indptr, indices, values };
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

/**
 * Stack CSR blocks vertically (same `cols`): shape `[sum of rows, cols]`, as scipy.sparse.vstack.
 * Memory: one copy of the blocks' non-zeros.
 * @throws RangeError when the blocks' column counts differ.
 */
export function vstack(blocks: readonly CsrMatrix[], cols = blocks[0]?.cols ?? 0): CsrMatrix {
  let rows = 0;
  let total = 0;
  for (const b of blocks) {
    if (b.cols !== cols) throw new RangeError(`vstack: a block has ${b.cols} columns, expected ${cols}`);
    rows += b.rows;
    total += nnz(b);
  }
  const indptr = new Int32Array(rows + 1);
  const indices = new Int32Array(total);
  const values = new Float32Array(total);
  let r = 0;
  let at = 0;
  for (const b of blocks) {
    const n = nnz(b);
    indices.set(b.indices.subarray(0, n), at);
    values.set(b.values.subarray(0, n), at);
    for (let i = 1; i <= b.rows; i++) indptr[r + i] = at + b.indptr[i]!;
    r += b.rows;
    at += n;
  }
  return { rows, cols, indptr, indices, values };
}

/**
 * Builds a CSR matrix row by row with amortized doubling of its non-zero arrays, so memory
 * follows the non-zeros. Each appended row's column indices must be ascending.
 */
export class CsrBuilder {
  readonly cols: number;
  #indptr: Int32Array = new Int32Array(1025);
  #indices: Int32Array;
  #values: Float32Array;
  #rows = 0;
  #nnz = 0;

  constructor(cols: number, capacity = 4096) {
    this.cols = cols;
    this.#indices = new Int32Array(Math.max(16, capacity));
    this.#values = new Float32Array(Math.max(16, capacity));
  }

  get rows(): number {
    return this.#rows;
  }

  /** Append one row whose entries are `indices[0..length)` and `values[0..length)`. */
  appendRow(indices: ArrayLike<number>, values: ArrayLike<number>, length = indices.length): void {
    if (this.#nnz + length > this.#indices.length) {
      let cap = this.#indices.length * 2;
      while (cap < this.#nnz + length) cap *= 2;
      const idx = new Int32Array(cap);
      idx.set(this.#indices.subarray(0, this.#nnz));
      const val = new Float32Array(cap);
      val.set(this.#values.subarray(0, this.#nnz));
      this.#indices = idx;
      this.#values = val;
    }
    for (let k = 0; k < length; k++) {
      this.#indices[this.#nnz + k] = indices[k]!;
      this.#values[this.#nnz + k] = values[k]!;
    }
    this.#nnz += length;
    if (this.#rows + 2 > this.#indptr.length) {
      const p = new Int32Array(this.#indptr.length * 2);
      p.set(this.#indptr);
      this.#indptr = p;
    }
    this.#rows++;
    this.#indptr[this.#rows] = this.#nnz;
  }

  /** The matrix built so far (arrays trimmed to size; the builder should not be used after). */
  build(): CsrMatrix {
    return {
      rows: this.#rows,
      cols: this.cols,
      indptr: this.#indptr.slice(0, this.#rows + 1),
      indices: this.#indices.slice(0, this.#nnz),
      values: this.#values.slice(0, this.#nnz),
    };
  }
}
