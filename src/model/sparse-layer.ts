import type { CsrMatrix } from '../features/csr.js';

/**
 * The sparse first layer of a network as an embedding-bag, on Float32Arrays outside tfjs:
 * `z = x W + b`, where `x` is a CSR batch `[batch, features]`, `W` `[features, width]` and `b`
 * `[width]`. Row i of z is b plus the sum over the stored entries (f, v) of row i of x of
 * v * W[f, :]; mathematically a Dense layer over the dense TF-IDF vector, at a cost of
 * O(nnz x width) instead of O(batch x features x width). No tf.gather, so no UnsortedSegmentSum
 * in any gradient (that kernel is missing on the wasm backend).
 */

/**
 * Forward: `z = x W + b`, `[x.rows, width]` row-major, written into `out` when given.
 * @throws RangeError when `out` is too small.
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
  const { indptr, indices, values } = x;
  for (let i = 0; i < x.rows; i++) {
    const zi = i * width;
    for (let h = 0; h < width; h++) z[zi + h] = bias[h]!;
    for (let k = indptr[i]!; k < indptr[i + 1]!; k++) {
      const v = values[k]!;
      const wf = indices[k]! * width;
      for (let h = 0; h < width; h++) z[zi + h]! += v * weights[wf + h]!;
    }
  }
  return z;
}

/**
 * Scratch space for {@link EmbeddingBagGradient.compute}, reused across steps: `slotOf` maps a
 * feature to its row in `rows` (-1 when absent) and is reset after every use.
 */
export class EmbeddingBagGradient {
  private readonly slotOf: Int32Array;
  /** The features present in the last batch, `[touched]`, in first-seen order. */
  features: Int32Array = new Int32Array(0);
  /** Gradient rows of the features in {@link features}, `[touched, width]`. */
  rows: Float32Array = new Float32Array(0);
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
   * dL/dW for the rows present in `x`, from `dz` = dL/dz `[x.rows, width]`: row of feature f is
   * the sum over entries (i, f, v) of v * dz[i, :]; dL/db is the column sum of dz. Cost O(nnz x
   * width). Results in {@link features}, {@link rows}, {@link bias}.
   */
  compute(x: CsrMatrix, dz: Float32Array): void {
    const w = this.width;
    const { indptr, indices, values } = x;
    const nnz = indptr[x.rows]!;
    if (this.features.length < nnz) this.features = new Int32Array(Math.max(nnz, 2 * this.features.length));
    let touched = 0;
    const slotOf = this.slotOf;
    const features = this.features;
    for (let k = 0; k < nnz; k++) {
      const f = indices[k]!;
      if (slotOf[f]! < 0) {
        slotOf[f] = touched;
        features[touched++] = f;
      }
    }
    if (this.rows.length < touched * w)
      this.rows = new Float32Array(Math.max(touched * w, 2 * this.rows.length));
    const rows = this.rows;
    rows.fill(0, 0, touched * w);
    const b = this.bias;
    b.fill(0);
    for (let i = 0; i < x.rows; i++) {
      const di = i * w;
      for (let h = 0; h < w; h++) b[h]! += dz[di + h]!;
      for (let k = indptr[i]!; k < indptr[i + 1]!; k++) {
        const v = values[k]!;
        const s = slotOf[indices[k]!]! * w;
        for (let h = 0; h < w; h++) rows[s + h]! += v * dz[di + h]!;
      }
    }
    for (let t = 0; t < touched; t++) slotOf[features[t]!] = -1;
    this.touched = touched;
  }
}
