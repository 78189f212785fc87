import * as tf from '@tensorflow/tfjs';

/**
 * Gradients of `f()` with respect to `xs` (tensors or variables that `f` uses), with `dy` the
 * upstream gradient (default ones, for a scalar `f`). Unlike tf.grads / tf.valueAndGrads, an input
 * that `f` does not depend on gets null instead of an error (tfjs's `allowNoGradients`), so one
 * routine serves every architecture whatever parameters a part of its forward pass uses.
 * Call inside tf.tidy (the results are tracked).
 */
export function gradients(
  f: () => tf.Tensor,
  xs: readonly tf.Tensor[],
  dy?: tf.Tensor,
): { value: tf.Tensor; grads: (tf.Tensor | null)[] } {
  const r = tf.engine().gradients(f, [...xs], dy, true);
  return { value: r.value, grads: r.grads.map((g) => g ?? null) };
}
