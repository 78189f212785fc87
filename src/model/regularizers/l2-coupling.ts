import * as tf from '@tensorflow/tfjs';

/**
 * L2 coupling of task-specific parameters, the soft parameter sharing of Duong, Cohn, Bird & Cook,
 * "Low Resource Dependency Parsing: Cross-lingual Parameter Sharing in a Neural Network Parser",
 * ACL 2015 (two parsers' parameters tied by `lambda ||W_1 - W_2||_F^2`), for T tasks as the
 * squared distance of each task's parameters to the tasks' mean:
 *
 *   Omega(W_1..W_T) = sum_t ||W_t - mean_s W_s||_F^2        (= sum_{a<b} ||W_a - W_b||^2 / T)
 *
 * Its gradient with respect to W_k is `2 (W_k - mean)` (the terms through the mean sum to zero),
 * i.e. `2 sum_j (I - 11^T / T)[k, j] W_j`: for towers packed side by side in the sparse first
 * layer, a block mixing of each touched row by `I - 11^T / T` at strength `2 lambda`.
 */

/** `sum_t ||W_t - mean||^2` of same-shaped tensors (one per task). Inside tf.tidy / a gradient tape. */
export function l2CouplingPenalty(params: readonly tf.Tensor[]): tf.Scalar {
  const mean = tf.div(tf.addN([...params]), params.length);
  return tf.addN(params.map((p) => tf.sum(tf.square(tf.sub(p, mean))))) as tf.Scalar;
}

/** The same in JavaScript, for parameters given as arrays of equal length (float64 sums). */
export function l2CouplingValue(params: readonly ArrayLike<number>[]): number {
  const T = params.length;
  const n = params[0]?.length ?? 0;
  let total = 0;
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (const p of params) mean += p[i]!;
    mean /= T;
    for (const p of params) total += (p[i]! - mean) ** 2;
  }
  return total;
}

/** `I - 11^T / T` `[T, T]` row-major: the block-mixing matrix of the coupling's gradient (strength 2 lambda). */
export function l2CouplingMatrix(T: number): Float32Array {
  return Float32Array.from({ length: T * T }, (_, i) => (Math.floor(i / T) === i % T ? 1 : 0) - 1 / T);
}
