import * as tf from '@tensorflow/tfjs';
import { symmetricEigen } from '../linalg.js';

/**
 * The trace norm (nuclear norm: the sum of singular values) of a layer's parameters stacked across
 * tasks, the soft-sharing coupling of Yang & Hospedales, "Trace Norm Regularised Deep Multi-Task
 * Learning", ICLR 2017 workshop (arXiv 1606.04038): task t's parameters of one layer, flattened,
 * are row t of `M [T, D]` (their "last axis flattening" of the `[d1, d2, T]` parameter tensor), and
 * the penalty is `||M||_* = tr((M M^T)^{1/2})`. Pushing `M` toward low rank makes the tasks'
 * layers linear combinations of a few shared ones.
 *
 * Everything is computed from the `T x T` Gram matrix `G = M M^T` (T is small: the tasks), never
 * from an SVD of `M`: `||M||_* = sum_i sqrt(lambda_i(G))`. The norm is not differentiable where
 * `M` loses rank, so the penalty is the smoothed `tr((G + eps I)^{1/2})` (eps constant), whose
 * gradient is `P M` with `P = (G + eps I)^{-1/2}` (`U V^T` of the SVD when eps = 0 and M has full
 * row rank). The same `P` gives the gradient of a packed first layer row by row: the row's tower
 * block t gets `sum_j P[t, j] w_j`, a block mixing of the sparse layer's update.
 */

/** Relative smoothing of the trace norm: eps = TRACE_NORM_SMOOTHING x tr(G) / T. */
export const TRACE_NORM_SMOOTHING = 1e-6;

/** The Gram matrix `M M^T` `[T, T]` (row-major, float64) of the rows `M[t] = rows[t]` (equal lengths). */
export function gramOfRows(rows: readonly ArrayLike<number>[]): Float64Array {
  const T = rows.length;
  const g = new Float64Array(T * T);
  for (let a = 0; a < T; a++)
    for (let b = a; b < T; b++) {
      const ra = rows[a]!;
      const rb = rows[b]!;
      let s = 0;
      for (let i = 0; i < ra.length; i++) s += ra[i]! * rb[i]!;
      g[a * T + b] = s;
      g[b * T + a] = s;
    }
  return g;
}

/** The smoothing eps of {@link TRACE_NORM_SMOOTHING} for a Gram matrix `[n, n]`. */
export function traceNormSmoothing(gram: ArrayLike<number>, n: number): number {
  let trace = 0;
  for (let i = 0; i < n; i++) trace += gram[i * n + i]!;
  return (TRACE_NORM_SMOOTHING * trace) / Math.max(1, n) + 1e-30;
}

/** `tr((G + eps I)^{1/2}) = sum_i sqrt(lambda_i + eps)` of a Gram matrix `[n, n]`: the trace norm of M when eps = 0. */
export function traceNormFromGram(gram: ArrayLike<number>, n: number, eps = 0): number {
  const { values } = symmetricEigen(gram, n);
  let s = 0;
  for (const l of values) s += Math.sqrt(Math.max(l, 0) + eps);
  return s;
}

/**
 * `P = (G + eps I)^{-1/2}` `[n, n]` (row-major, float32): the gradient of the smoothed trace norm
 * with respect to M is `P M`. @throws RangeError when eps <= 0 and G is singular.
 */
export function traceNormGradientMatrix(gram: ArrayLike<number>, n: number, eps: number): Float32Array {
  const { values, vectors } = symmetricEigen(gram, n);
  const p = new Float32Array(n * n);
  for (let k = 0; k < n; k++) {
    const d = Math.max(values[k]!, 0) + eps;
    if (!(d > 0)) throw new RangeError('traceNormGradientMatrix: singular Gram matrix and eps <= 0');
    const f = 1 / Math.sqrt(d);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) p[i * n + j]! += f * vectors[i * n + k]! * vectors[j * n + k]!;
  }
  return p;
}

/**
 * The smoothed trace norm of the matrix whose row t is `tensors[t]` flattened (same sizes): a
 * scalar whose gradient is `P M` (tf.customGrad), eps = {@link traceNormSmoothing} of the current
 * G (held constant). Reads the values (dataSync): for the small tfjs layers of a network. Inside a
 * gradient tape / tf.tidy.
 */
export function traceNormPenalty(tensors: readonly tf.Tensor[]): tf.Scalar {
  const T = tensors.length;
  const m = tf.stack(tensors.map((t) => tf.reshape(t, [-1]))) as tf.Tensor2D;
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const D = x.shape[1]!;
    const values = x.dataSync() as Float32Array;
    const rows = Array.from({ length: T }, (_, t) => values.subarray(t * D, (t + 1) * D));
    const gram = gramOfRows(rows);
    const eps = traceNormSmoothing(gram, T);
    const p = tf.tensor2d(traceNormGradientMatrix(gram, T, eps), [T, T]);
    save([x, p]);
    return {
      value: tf.scalar(traceNormFromGram(gram, T, eps)),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.matMul(saved[1]!, saved[0]!)),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(m) as tf.Scalar;
}
