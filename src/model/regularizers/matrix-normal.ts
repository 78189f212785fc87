import * as tf from '@tensorflow/tfjs';
import { symmetricEigen } from '../linalg.js';

/**
 * A matrix-variate normal prior over the stacked parameters of T tasks, with a learned task
 * covariance (multi-task relationship learning: Zhang & Yeung, "A Convex Formulation for Learning
 * Task Relationships in Multi-Task Learning", UAI 2010; in deep networks, Long & Wang, "Learning
 * Multiple Tasks with Deep Relationship Networks", arXiv 1506.02117, 2015, and its NIPS 2017
 * version, Long, Cao, Wang & Yu, "Learning Multiple Tasks with Multilinear Relationship Networks").
 *
 * One layer's parameters of the T tasks, each flattened to D values, are the columns of
 * `W [D, T]`, with the prior `W ~ MN(0, I_D, Omega)`: rows independent, columns (tasks)
 * correlated by the task covariance `Omega [T, T]`, whose negative log-density is, up to constants,
 * `1/2 tr(W Omega^-1 W^T) + D/2 log|Omega|`. Training alternates:
 * - with Omega fixed, the network's loss plus `strength * tr(W Omega^-1 W^T)`
 *   ({@link matrixNormalPenalty}; with Omega = I it is `strength * |W|^2`, a plain L2 penalty);
 * - with W fixed, Omega in closed form ({@link taskCovariance}): as in multi-task relationship
 *   learning (Zhang & Yeung), Omega is constrained to trace 1 instead of carrying the log-determinant,
 *   `Omega = (W^T W)^(1/2) / tr((W^T W)^(1/2))`, with `epsilon I` added to `W^T W` to keep it
 *   invertible. The log-determinant version (`Omega = W^T W / D`) is degenerate: W and Omega can
 *   shrink together without bound, and with Adam's scale-free steps they did (measured: the
 *   task-specific layers collapsed to zero at strength 1e-2 within 5 epochs); the trace-1 version
 *   is homogeneous of degree 2 in W like L2 (at the update, the penalty is the squared trace norm of
 *   W, which favours tasks whose parameters span few directions).
 *
 * Everything here is on T x T matrices (row-major Float64Array) except the penalty (tfjs).
 */

/** The identity `[n, n]`. */
export function identity(n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) out[i * n + i] = 1;
  return out;
}

/**
 * `W^T W [T, T]` of the column blocks of a row-major `[rows, T * width]` matrix (task t's D =
 * rows x width values are columns `[t width, (t+1) width)`), e.g. a packed first layer whose
 * column blocks are the tasks' towers. Float64 sums.
 */
export function blockGram(matrix: Float32Array, rows: number, tasks: number, width: number): Float64Array {
  const gram = new Float64Array(tasks * tasks);
  const cols = tasks * width;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    for (let s = 0; s < tasks; s++) {
      for (let t = s; t < tasks; t++) {
        let acc = 0;
        for (let h = 0; h < width; h++) acc += matrix[base + s * width + h]! * matrix[base + t * width + h]!;
        gram[s * tasks + t]! += acc;
      }
    }
  }
  for (let s = 0; s < tasks; s++) for (let t = 0; t < s; t++) gram[s * tasks + t] = gram[t * tasks + s]!;
  return gram;
}

/** `W^T W [T, T]` of T flattened parameter arrays of the same length D (task t's is `params[t]`). */
export function gramOf(params: readonly Float32Array[]): Float64Array {
  const T = params.length;
  const gram = new Float64Array(T * T);
  for (let s = 0; s < T; s++) {
    for (let t = s; t < T; t++) {
      const a = params[s]!;
      const b = params[t]!;
      if (a.length !== b.length)
        throw new RangeError(`task parameters of ${a.length} and ${b.length} values`);
      let acc = 0;
      for (let i = 0; i < a.length; i++) acc += a[i]! * b[i]!;
      gram[s * T + t] = acc;
      gram[t * T + s] = acc;
    }
  }
  return gram;
}

/**
 * The closed-form task covariance from the Gram matrix `G = W^T W` `[T, T]`:
 * `Omega = (G + epsilon I)^(1/2) / tr((G + epsilon I)^(1/2))`, the minimizer of
 * `tr(W Omega^-1 W^T)` over covariances of trace 1 (Zhang & Yeung, UAI 2010, Section 3; with
 * epsilon = 0 the minimum is the squared trace norm of W). epsilon keeps Omega invertible.
 * @throws RangeError when epsilon < 0.
 */
export function taskCovariance(gram: Float64Array, tasks: number, epsilon: number): Float64Array {
  if (!(epsilon >= 0)) throw new RangeError(`taskCovariance: epsilon must be >= 0, got ${epsilon}`);
  const g = Float64Array.from(gram);
  for (let t = 0; t < tasks; t++) g[t * tasks + t]! += epsilon;
  const { values, vectors } = symmetricEigen(g, tasks);
  const roots = values.map((v) => Math.sqrt(Math.max(v, 0)));
  const trace = roots.reduce((a, b) => a + b, 0);
  if (!(trace > 0)) return Float64Array.from(identity(tasks), (v) => v / tasks);
  const omega = new Float64Array(tasks * tasks);
  for (let j = 0; j < tasks; j++) {
    const w = roots[j]! / trace;
    for (let r = 0; r < tasks; r++)
      for (let c = 0; c < tasks; c++)
        omega[r * tasks + c]! += w * vectors[r * tasks + j]! * vectors[c * tasks + j]!;
  }
  return omega;
}

/**
 * The inverse of a symmetric positive semi-definite `[n, n]` matrix through its eigenvalues; the
 * eigenvalues below `1e-12` times the largest are left out (the Moore-Penrose pseudo-inverse), so
 * a singular covariance (epsilon 0 and tasks with linearly dependent parameters) gives no infinity.
 */
export function symmetricPseudoInverse(a: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(a, n);
  const largest = Math.max(0, ...values);
  const out = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const lambda = values[j]!;
    if (!(lambda > 1e-12 * largest)) continue;
    for (let r = 0; r < n; r++) {
      const vr = vectors[r * n + j]! / lambda;
      if (vr === 0) continue;
      for (let c = 0; c < n; c++) out[r * n + c]! += vr * vectors[c * n + j]!;
    }
  }
  return out;
}

/** The correlation matrix of a covariance `[n, n]` (0 where a variance is 0). */
export function correlation(cov: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = Math.sqrt(cov[i * n + i]! * cov[j * n + j]!);
      out[i * n + j] = d > 0 ? cov[i * n + j]! / d : 0;
    }
  }
  return out;
}

/**
 * `strength * tr(W Omega^-1 W^T) = strength * sum_st (Omega^-1)_st <w_s, w_t>` for the tasks'
 * parameters `kernels` (task t's any shape, all of D values), a scalar. Inside a gradient tape.
 */
export function matrixNormalPenalty(
  kernels: readonly tf.Tensor[],
  omegaInverse: Float64Array,
  strength: number,
): tf.Scalar {
  const T = kernels.length;
  const stacked = tf.stack(kernels.map((k) => tf.reshape(k, [-1]))) as tf.Tensor2D;
  // an explicit transpose: BatchMatMul with transposeB is many times slower on the wasm backend
  const gram = tf.matMul(stacked, tf.transpose(stacked));
  const inverse = tf.tensor2d(Float32Array.from(omegaInverse), [T, T]);
  return tf.mul(strength, tf.sum(tf.mul(gram, inverse))) as tf.Scalar;
}
