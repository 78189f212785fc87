import * as tf from '@tensorflow/tfjs';

/**
 * Masked, weighted multi-task binary cross-entropy (the loss of Benton et al. 2017, Section 4,
 * with label masking for users whose label is unknown for a task).
 *
 * For task t over a batch: L_t = sum_i m_it * w_it * BCE(z_it, y_it) / max(sum_i m_it, 1), where
 * m_it = 1 when the label is known (0 or 1) and 0 when it is NaN, w_it = posWeight_t for positives
 * and 1 for negatives, and BCE on the logit z is the numerically stable
 * max(z, 0) - z y + log(1 + exp(-|z|)). A task without labels in the batch contributes exactly 0.
 * The total is sum_t taskWeight_t * L_t (plus the L2 term, added by the network).
 */
export interface MaskedBatchLabels {
  /** Labels with unknown ones set to 0, `[batch, tasks]`. */
  y: Float32Array;
  /** 1 where the label is known, 0 where unknown, `[batch, tasks]`. */
  mask: Float32Array;
  /** Known labels per task in this batch, `[tasks]`. */
  counts: Float32Array;
}

/** Split labels `[batch, tasks]` (NaN = unknown) into values, mask and counts. */
export function maskLabels(labels: Float32Array, tasks: number): MaskedBatchLabels {
  const y = new Float32Array(labels.length);
  const mask = new Float32Array(labels.length);
  const counts = new Float32Array(tasks);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v === 0 || v === 1) {
      y[i] = v;
      mask[i] = 1;
      counts[i % tasks]! += 1;
    }
  }
  return { y, mask, counts };
}

/**
 * Per-task masked BCE on logits. `logits` `[batch, tasks]`; `posWeight` and the result `[tasks]`.
 * Must be called inside tf.tidy (or the caller disposes the result).
 */
export function maskedBinaryCrossEntropy(
  logits: tf.Tensor2D,
  labels: MaskedBatchLabels,
  posWeight: Float32Array,
): tf.Tensor1D {
  const [batch, tasks] = logits.shape;
  const y = tf.tensor2d(labels.y, [batch, tasks]);
  const mask = tf.tensor2d(labels.mask, [batch, tasks]);
  const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, y)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
  // weight = 1 + (posWeight - 1) * y
  const weight = tf.add(1, tf.mul(tf.sub(tf.tensor1d(posWeight), 1), y));
  // where() rather than a product: a masked entry contributes 0 even if its logit is not finite.
  const perEntry = tf.where(tf.greater(mask, 0), tf.mul(bce, weight), tf.zerosLike(bce));
  const denominators = tf.tensor1d(labels.counts.map((c) => Math.max(c, 1)));
  return tf.div(tf.sum(perEntry, 0), denominators) as tf.Tensor1D;
}

/** How to weight positives of each task against class imbalance. */
export type PosWeightSetting = 'balanced' | 'none' | number | Record<string, number>;

/** Default cap on the 'balanced' positive weight (negatives / positives), so a task with 3 positives
 * in 2,000 units does not dominate the gradient with a weight of 600. */
export const DEFAULT_POS_WEIGHT_CAP = 10;

/**
 * Positive-class weight per task, `[tasks]`, from the training labels `[units x tasks]` (NaN =
 * unknown). 'balanced': negatives / positives on the training units, clipped to [1, cap] (a task
 * without positives gets 1); 'none': 1; a number: that weight for every task; a record: per task
 * (missing tasks 1).
 */
export function positiveWeights(
  setting: PosWeightSetting,
  tasks: readonly string[],
  labels: Float32Array,
  cap = DEFAULT_POS_WEIGHT_CAP,
): Float32Array {
  const t = tasks.length;
  const out = new Float32Array(t).fill(1);
  if (setting === 'none') return out;
  if (typeof setting === 'number') return out.fill(setting);
  if (typeof setting === 'object') {
    tasks.forEach((name, k) => {
      out[k] = setting[name] ?? 1;
    });
    return out;
  }
  const pos = new Float64Array(t);
  const neg = new Float64Array(t);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    if (v === 1) pos[i % t]! += 1;
    else if (v === 0) neg[i % t]! += 1;
  }
  for (let k = 0; k < t; k++) {
    out[k] = pos[k]! > 0 ? Math.min(cap, Math.max(1, neg[k]! / pos[k]!)) : 1;
  }
  return out;
}
