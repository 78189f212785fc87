import * as tf from '@tensorflow/tfjs';
import type { CsrMatrix } from '../features/csr.js';
import { type Network, sliceRows } from './architectures/architecture.js';
import { gradients } from './autodiff.js';
import { ForwardContext } from './layers/forward-context.js';

/**
 * What each head of a model relies on: a weight per input feature (n-gram) and task, positive
 * when the feature pushes the task's logit toward the condition, negative when away from it.
 * Pure computation; the pipeline maps features to vocabulary terms and stores the top ones
 * (mhmtl.task_features).
 */

/** How a model's feature weights were computed. */
export type AttributionMethod = 'coefficient' | 'gradient_x_input';

/** A model's weight per feature for each of its tasks. */
export interface FeatureAttribution {
  method: AttributionMethod;
  /** Per task, in the model's task order: `[inputDim]` weights (0 where a feature never contributes). */
  weights: Float64Array[];
  /** Per task: the units averaged over (gradient x input), or null (coefficients need none). */
  units: (number | null)[];
}

/** Units per gradient batch: `[chunk, firstWidth]` floats are held at once. */
const CHUNK = 256;

/**
 * Gradient x input (Simonyan, Vedaldi & Zisserman, "Deep Inside Convolutional Networks", ICLR
 * workshop 2014, for the gradient of a class score w.r.t. the input; Shrikumar et al., "Learning
 * Important Features Through Propagating Activation Differences", ICML 2017, section 2, for its
 * product with the input), computed exactly for a network of any architecture through the
 * {@link Network} contract, and averaged over a stated set of units per task.
 *
 * For unit i, feature f and task k: `a[i, f, k] = x[i, f] * d logit_k(x_i) / d x[i, f]`. The first
 * layer is `z1 = x W + b`, so `d logit_k / d x[i, f] = sum_h g[i, k, h] W[f, h]` with
 * `g[i, k, :] = d logit_k / d z1[i, :]` (`[firstWidth]`), which tfjs's automatic differentiation
 * gives for the rest of the network (encode + decode, dropout off). Only features present in unit
 * i have `x[i, f] != 0`, so a unit costs O(nnz_i x firstWidth) per task, never O(inputDim x
 * firstWidth); no approximation is made. Why gradient x input: it is exact and cheap on a sparse
 * input, defined for every architecture (towers, experts, gates alike), and for a linear network
 * it equals each feature's exact contribution `x_f * (W V)[f, k]` to the logit; averaged over a
 * task's test positives it says which present n-grams moved those units toward (> 0) or away from
 * (< 0) the condition. The logit, not the probability, is attributed (the sigmoid's saturation
 * would shrink confident units' attributions).
 *
 * @param network a trained network (its parameters are read, not changed).
 * @param x the units' features `[units, inputDim]` (CSR).
 * @param unitsByTask per task of `network.tasks` (in that order), the row ids of `x` to average
 *   over (e.g. that task's test positives); an empty set gives all-zero weights.
 * @returns per task, `[inputDim]` mean attributions: `sum_{i in units} a[i, f, k] / |units|`.
 * @throws Error when `x` does not have the network's feature count, or `unitsByTask` does not have
 *   one entry per task; RangeError on a row id outside `x`.
 */
export function gradientTimesInput(
  network: Network,
  x: CsrMatrix,
  unitsByTask: readonly ArrayLike<number>[],
): Float64Array[] {
  if (x.cols !== network.inputDim)
    throw new Error(`input has ${x.cols} features, network ${network.inputDim}`);
  const T = network.tasks.length;
  if (unitsByTask.length !== T)
    throw new Error(`gradientTimesInput: ${unitsByTask.length} unit sets for ${T} tasks`);
  const width = network.firstWidth;
  const out: Float64Array[] = [];
  for (let k = 0; k < T; k++) {
    const sums = new Float64Array(network.inputDim);
    const units = unitsByTask[k]!;
    for (let start = 0; start < units.length; start += CHUNK) {
      const end = Math.min(units.length, start + CHUNK);
      const batch = gatherRows(x, units, start, end);
      const g = logitGradient(network, batch, k);
      // W is a live view: read it after the layer's forward call.
      const w = network.first.weights;
      for (let i = 0; i < batch.rows; i++) {
        const gi = i * width;
        for (let q = batch.indptr[i]!; q < batch.indptr[i + 1]!; q++) {
          const f = batch.indices[q]!;
          const wf = f * width;
          let dot = 0;
          for (let h = 0; h < width; h++) dot += g[gi + h]! * w[wf + h]!;
          sums[f]! += batch.values[q]! * dot;
        }
      }
    }
    if (units.length > 0) for (let f = 0; f < sums.length; f++) sums[f]! /= units.length;
    out.push(sums);
  }
  return out;
}

/** `d logit_k / d z1`, `[batch.rows * firstWidth]` row-major, for every unit of `batch` (no dropout). */
function logitGradient(network: Network, batch: CsrMatrix, k: number): Float32Array {
  const rows = batch.rows;
  const z1 = network.first.forward(batch);
  const T = network.tasks.length;
  const pick = new Float32Array(rows * T);
  for (let i = 0; i < rows; i++) pick[i * T + k] = 1;
  const grad = tf.tidy(() => {
    const input = tf.tensor2d(z1, [rows, network.firstWidth]);
    // Units do not interact in a forward pass at inference, so the gradient of sum_i logit_k(i)
    // w.r.t. row i of z1 is unit i's own gradient.
    const { grads } = gradients(
      () => network.forward(input, ForwardContext.inference()),
      [input],
      tf.tensor2d(pick, [rows, T]),
    );
    return grads[0] ?? tf.zeros([rows, network.firstWidth]);
  });
  const values = grad.dataSync() as Float32Array;
  grad.dispose();
  return values;
}

/** Rows `ids[start..end)` of `x` as one CSR batch (contiguous ids share buffers). */
function gatherRows(x: CsrMatrix, ids: ArrayLike<number>, start: number, end: number): CsrMatrix {
  const n = end - start;
  let contiguous = true;
  for (let i = start + 1; i < end && contiguous; i++) contiguous = ids[i] === ids[i - 1]! + 1;
  for (let i = start; i < end; i++)
    if (!(ids[i]! >= 0 && ids[i]! < x.rows)) throw new RangeError(`row ${ids[i]} is outside [0, ${x.rows})`);
  if (contiguous && n > 0) return sliceRows(x, ids[start]!, ids[start]! + n);
  const indptr = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) {
    const r = ids[start + i]!;
    indptr[i + 1] = indptr[i]! + x.indptr[r + 1]! - x.indptr[r]!;
  }
  const indices = new Int32Array(indptr[n]!);
  const values = new Float32Array(indptr[n]!);
  for (let i = 0; i < n; i++) {
    const r = ids[start + i]!;
    indices.set(x.indices.subarray(x.indptr[r]!, x.indptr[r + 1]!), indptr[i]!);
    values.set(x.values.subarray(x.indptr[r]!, x.indptr[r + 1]!), indptr[i]!);
  }
  return { rows: n, cols: x.cols, indptr, indices, values };
}

/** One feature among the strongest of a task, in one direction. */
export interface RankedFeature {
  /** Column of the feature (its vocabulary index). */
  feature: number;
  /** 1-based rank within its direction (1 = the largest |weight|). */
  rank: number;
  /** The signed weight: > 0 toward the condition, < 0 away from it. */
  weight: number;
}

/**
 * The `n` features with the largest positive weights (toward) and the `n` with the most negative
 * (away), each ordered by |weight| descending (ties: lower feature index first). Zero weights are
 * in neither list, so a list may be shorter than `n`. O(inputDim log inputDim).
 * @throws RangeError when `n` is not a non-negative integer.
 */
export function topFeatures(
  weights: ArrayLike<number>,
  n: number,
): { toward: RankedFeature[]; away: RankedFeature[] } {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
  const pick = (sign: 1 | -1): RankedFeature[] => {
    const ids: number[] = [];
    for (let f = 0; f < weights.length; f++) if (sign * weights[f]! > 0) ids.push(f);
    ids.sort((a, b) => sign * weights[b]! - sign * weights[a]! || a - b);
    return ids.slice(0, n).map((feature, i) => ({ feature, rank: i + 1, weight: weights[feature]! }));
  };
  return { toward: pick(1), away: pick(-1) };
}
