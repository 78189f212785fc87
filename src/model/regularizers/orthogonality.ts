import * as tf from '@tensorflow/tfjs';

/**
 * Subspace orthogonality, the penalty of sluice networks (Ruder, Bingel, Augenstein & Søgaard,
 * "Latent Multi-task Architecture Learning", AAAI 2019, arXiv 1705.08142, Section 3; after the
 * difference loss of Bousmalis et al., "Domain Separation Networks", NIPS 2016): a layer's units
 * are split into M subspaces of equal width, and
 *
 *   L_c = sum_{m < m'} ||G_m^T G_m'||_F^2
 *
 * where `G_m [fanIn, units / M]` holds the kernel columns of subspace m. It is 0 when every unit of
 * one subspace reads the input along directions orthogonal to every unit of another, and grows
 * as they align, and it does not depend on the basis chosen within a subspace (G_m -> G_m Q, Q
 * orthogonal, leaves it unchanged). Ruder et al. apply it to the weight matrices of each task's
 * layers with two subspaces (their DyNet code multiplies the `[units, fanIn]` halves the other way
 * round, `W_1^T W_2 [fanIn, fanIn]`, which pairs unit u of one subspace with unit u of the other);
 * here the paper's formula on the subspaces' kernel columns, and for M > 2 every pair counts.
 *
 * Gradient: `dL_c/dG_m = 2 sum_{m' != m} G_m' (G_m^T G_m')^T`. Row f of the kernel therefore gets
 * `2 w_f A`, `A = G^T G` (`[units, units]`) with its within-subspace diagonal blocks zeroed: a
 * linear map of the row, the form the sparse first layer's `blockTransform` applies per tower.
 */

/** `sum_{m<m'} ||G_m^T G_m'||_F^2` of a kernel `[fanIn, units]` split into `subspaces` column blocks. Inside tf.tidy / a tape. */
export function subspaceOrthogonalityPenalty(kernel: tf.Tensor2D, subspaces: number): tf.Scalar {
  const [fanIn, units] = kernel.shape;
  const width = units / subspaces;
  const blocks = Array.from({ length: subspaces }, (_, m) =>
    tf.slice(kernel, [0, m * width], [fanIn, width]),
  );
  const terms: tf.Tensor[] = [];
  for (let m = 0; m < subspaces; m++)
    for (let n = m + 1; n < subspaces; n++)
      terms.push(tf.sum(tf.square(tf.matMul(tf.transpose(blocks[m]!), blocks[n]!))));
  return (terms.length === 0 ? tf.scalar(0) : tf.addN(terms)) as tf.Scalar;
}

/**
 * The cross-subspace Gram matrix `A [width, width]` (row-major, float32) of the column block
 * `[from, from + width)` of a row-major matrix `[rows, cols]`: `A = G^T G` of that block with its
 * `subspaces` within-subspace diagonal blocks zeroed. `sum` of its squared entries / 2 is L_c; row
 * f's gradient of L_c is `2 w_f A`. Cost O(rows x width^2 / subspaces) (float64 sums).
 */
export function crossSubspaceGram(
  weights: Float32Array,
  cols: number,
  from: number,
  width: number,
  subspaces: number,
): Float32Array {
  const rows = weights.length / cols;
  const sw = width / subspaces;
  const acc = new Float64Array(width * width);
  for (let r = 0; r < rows; r++) {
    const base = r * cols + from;
    for (let a = 0; a < width; a++) {
      const wa = weights[base + a]!;
      if (wa === 0) continue;
      const start = (Math.floor(a / sw) + 1) * sw;
      const out = a * width;
      // upper triangle only, across subspaces
      for (let b = start; b < width; b++) acc[out + b]! += wa * weights[base + b]!;
    }
  }
  const out = new Float32Array(width * width);
  for (let a = 0; a < width; a++)
    for (let b = 0; b < width; b++) {
      const v = a < b ? acc[a * width + b]! : acc[b * width + a]!;
      if (Math.floor(a / sw) !== Math.floor(b / sw)) out[a * width + b] = v;
    }
  return out;
}

/** L_c from a {@link crossSubspaceGram}: half the sum of its squared entries. */
export function orthogonalityFromCrossGram(cross: Float32Array): number {
  let s = 0;
  for (const v of cross) s += v * v;
  return s / 2;
}
