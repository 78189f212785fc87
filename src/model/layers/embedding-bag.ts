import type { CsrMatrix } from '../../features/csr.js';

/**
 * The sparse first layer of a network as an embedding-bag, on Float32Arrays outside tfjs:
 * `z = x W + b`, where `x` is a CSR batch `[batch, features]`, `W` `[features, width]` and `b`
 * `[width]`. Row i of z is b plus the sum over the stored entries (f, v) of row i of x of
 * v * W[f, :]; mathematically a Dense layer over the dense TF-IDF vector, at a cost of
 * O(nnz x width) instead of O(batch x features x width). No tf.gather, so no UnsortedSegmentSum
 * in any gradient (that kernel is missing on the wasm backend).
 *
 * Speed (measured, see src/bench/train.ts): the loops run over the hidden dimension innermost on
 * Float32Arrays, eight stored entries at a time in the forward pass and four in the backward (one
 * load and store of the output row per eight or four weight rows), with no allocation per row.
 * Sums of products are formed in double precision
 * and rounded once, so results differ from a one-entry-at-a-time float32 loop by float32 rounding
 * only; the order is fixed, so results are deterministic.
 */

/**
 * Forward: `z = x W + b`, `[x.rows, width]` row-major, written into `out` when given.
 * @throws RangeError when `out` is too small or `bias` is not `[width]`.
 */
export function embeddingBagForward(
  x: CsrMatrix,
  weights: Float32Array,
  bias: Float32Array,
  width: number,
  out?: Float32Array,
): Float32Array {
  const z = out ?? new Float32Array(x.rows * width);
  if (z.length < x.rows * width) throw new RangeError(`output buffer ${z.length} < ${x.rows * width}`);
  if (bias.length !== width) throw new RangeError(`bias has ${bias.length} values, width ${width}`);
  const { indptr, indices, values } = x;
  const w = weights;
  for (let i = 0; i < x.rows; i++) {
    const zi = i * width;
    z.set(bias, zi);
    const end = indptr[i + 1]!;
    let k = indptr[i]!;
    for (; k + 8 <= end; k += 8) {
      const v0 = values[k]!;
      const v1 = values[k + 1]!;
      const v2 = values[k + 2]!;
      const v3 = values[k + 3]!;
      const v4 = values[k + 4]!;
      const v5 = values[k + 5]!;
      const v6 = values[k + 6]!;
      const v7 = values[k + 7]!;
      const a0 = indices[k]! * width;
      const a1 = indices[k + 1]! * width;
      const a2 = indices[k + 2]! * width;
      const a3 = indices[k + 3]! * width;
      const a4 = indices[k + 4]! * width;
      const a5 = indices[k + 5]! * width;
      const a6 = indices[k + 6]! * width;
      const a7 = indices[k + 7]! * width;
      for (let h = 0; h < width; h++) {
        z[zi + h]! +=
          v0 * w[a0 + h]! +
          v1 * w[a1 + h]! +
          v2 * w[a2 + h]! +
          v3 * w[a3 + h]! +
          v4 * w[a4 + h]! +
          v5 * w[a5 + h]! +
          v6 * w[a6 + h]! +
          v7 * w[a7 + h]!;
      }
    }
    for (; k < end; k++) {
      const v = values[k]!;
      const a = indices[k]! * width;
      for (let h = 0; h < width; h++) z[zi + h]! += v * w[a + h]!;
    }
  }
  return z;
}

/**
 * The backward pass of the embedding-bag, by rows of W: {@link compute} transposes a batch (a
 * stable counting sort of its stored entries by feature, O(nnz)), so that the gradient of each
 * touched row of W can then be formed on its own in a `[width]` scratch row ({@link row}) and
 * handed straight to the optimizer while it is in cache, instead of materializing a
 * `[touched, width]` gradient matrix. Buffers are reused across steps; `slotOf` maps a feature to
 * its position in {@link features} (-1 when absent) and is reset after every use.
 */
export class EmbeddingBagGradient {
  private readonly slotOf: Int32Array;
  /** The features present in the last batch, `[touched]`, ascending. */
  features: Int32Array = new Int32Array(0);
  /** Entries of feature `features[t]` are `[start[t], start[t + 1])` of `entryRow`/`entryValue`. */
  private start: Int32Array = new Int32Array(1);
  /** Offset `i * width` of the batch row of each entry, grouped by feature, rows ascending. */
  private entryRow: Int32Array = new Int32Array(0);
  private entryValue: Float32Array = new Float32Array(0);
  private dz: Float32Array = new Float32Array(0);
  /** Gradient of the bias, `[width]`. */
  readonly bias: Float32Array;
  /** Number of valid entries in {@link features}. */
  touched = 0;

  constructor(
    readonly inputDim: number,
    readonly width: number,
  ) {
    this.slotOf = new Int32Array(inputDim).fill(-1);
    this.bias = new Float32Array(width);
  }

  /**
   * Prepare dL/dW for the rows present in `x`, from `dz` = dL/dz `[x.rows, width]` (kept by
   * reference until the next call): the row of feature f is the sum over entries (i, f, v) of
   * v * dz[i, :] (read it with {@link row}); dL/db, the column sum of dz, is in {@link bias}.
   * Results: {@link features} and {@link touched}.
   */
  compute(x: CsrMatrix, dz: Float32Array): void {
    const w = this.width;
    const { indptr, indices, values } = x;
    const nnz = indptr[x.rows]!;
    if (this.features.length < nnz) {
      const n = Math.max(nnz, 2 * this.features.length);
      this.features = new Int32Array(n);
      this.start = new Int32Array(n + 1);
      this.entryRow = new Int32Array(n);
      this.entryValue = new Float32Array(n);
    }
    const slotOf = this.slotOf;
    const features = this.features;
    const start = this.start;
    let touched = 0;
    // count the entries of each feature in slotOf (absent: -1)
    for (let k = 0; k < nnz; k++) {
      const f = indices[k]!;
      if (slotOf[f]! < 0) {
        features[touched++] = f;
        slotOf[f] = 1;
      } else slotOf[f]!++;
    }
    // features ascending, so that the update walks W (and the optimizer's state) in memory order
    features.subarray(0, touched).sort();
    start[0] = 0;
    for (let t = 0; t < touched; t++) {
      const f = features[t]!;
      start[t + 1] = start[t]! + slotOf[f]!;
      slotOf[f] = t;
    }
    // fill by stable counting sort: start[t] advances to the end of group t, then is shifted back
    const entryRow = this.entryRow;
    const entryValue = this.entryValue;
    for (let i = 0; i < x.rows; i++) {
      const offset = i * w;
      for (let k = indptr[i]!; k < indptr[i + 1]!; k++) {
        const p = start[slotOf[indices[k]!]!]!++;
        entryRow[p] = offset;
        entryValue[p] = values[k]!;
      }
    }
    for (let t = touched; t > 0; t--) start[t] = start[t - 1]!;
    start[0] = 0;
    for (let t = 0; t < touched; t++) slotOf[features[t]!] = -1;
    const b = this.bias;
    b.fill(0);
    for (let i = 0; i < x.rows; i++) {
      const di = i * w;
      for (let h = 0; h < w; h++) b[h]! += dz[di + h]!;
    }
    this.dz = dz;
    this.touched = touched;
  }

  /**
   * The grouping of the last {@link compute}, as views of its buffers: the touched features
   * `[touched]`, group starts `[touched + 1]`, and per entry (grouped by feature) the offset
   * `i * width` of its batch row and its value, `[nnz]` each.
   */
  grouping(): { features: Int32Array; start: Int32Array; entryRow: Int32Array; entryValue: Float32Array } {
    const nnz = this.start[this.touched]!;
    return {
      features: this.features.subarray(0, this.touched),
      start: this.start.subarray(0, this.touched + 1),
      entryRow: this.entryRow.subarray(0, nnz),
      entryValue: this.entryValue.subarray(0, nnz),
    };
  }

  /** How many entries of the batch hold `features[t]`. */
  count(t: number): number {
    return this.start[t + 1]! - this.start[t]!;
  }

  /**
   * The first entry (i, v) of `features[t]`: `i * width` and `v`. When {@link count} is 1 the
   * gradient row is `v * dz[i, :]`, usable without a copy.
   */
  firstOffset(t: number): number {
    return this.entryRow[this.start[t]!]!;
  }

  /** See {@link firstOffset}. */
  firstValue(t: number): number {
    return this.entryValue[this.start[t]!]!;
  }

  /** The `dz` of the last {@link compute}, `[batch, width]`. */
  get outputGradient(): Float32Array {
    return this.dz;
  }

  /** Write the gradient row of `features[t]` (`[width]`) into `out[0, width)`. */
  row(t: number, out: Float32Array): void {
    const w = this.width;
    const dz = this.dz;
    const rows = this.entryRow;
    const vals = this.entryValue;
    const end = this.start[t + 1]!;
    let k = this.start[t]!;
    if (end - k === 1) {
      const v = vals[k]!;
      const a = rows[k]!;
      for (let h = 0; h < w; h++) out[h] = v * dz[a + h]!;
      return;
    }
    out.fill(0, 0, w);
    for (; k + 4 <= end; k += 4) {
      const v0 = vals[k]!;
      const v1 = vals[k + 1]!;
      const v2 = vals[k + 2]!;
      const v3 = vals[k + 3]!;
      const a0 = rows[k]!;
      const a1 = rows[k + 1]!;
      const a2 = rows[k + 2]!;
      const a3 = rows[k + 3]!;
      for (let h = 0; h < w; h++) {
        out[h]! += v0 * dz[a0 + h]! + v1 * dz[a1 + h]! + v2 * dz[a2 + h]! + v3 * dz[a3 + h]!;
      }
    }
    for (; k < end; k++) {
      const v = vals[k]!;
      const a = rows[k]!;
      for (let h = 0; h < w; h++) out[h]! += v * dz[a + h]!;
    }
  }
}
