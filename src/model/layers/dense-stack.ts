import * as tf from '@tensorflow/tfjs';
import type { ParameterOptions, ParameterSet } from '../parameters.js';
import { glorotUniform, type Random } from '../random.js';
import { type Activation, activate } from './activations.js';
import type { ForwardContext } from './forward-context.js';

/**
 * Dense layers in tfjs for the architectures: registering a layer's kernel and bias in a
 * {@link ParameterSet} with Glorot-uniform initial weights, applying one, and applying a stack of
 * them with an activation and dropout after each. Names follow the tfjs layers export
 * (`<layer>/kernel`, `<layer>/bias`) so a network's parameters and its export line up.
 */

/** A dense layer's parameters. */
export interface DenseLayer {
  readonly name: string;
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly fanIn: number;
  readonly units: number;
}

/**
 * Register Dense(units) over `fanIn` inputs as `name/kernel` `[fanIn, units]` (Glorot uniform from
 * `random`, L2 decay on) and `name/bias` `[units]` (zeros, no decay), both in `group`.
 * `kernel`/`bias` give initial values instead (e.g. stored weights).
 */
export function addDenseLayer(
  params: ParameterSet,
  name: string,
  fanIn: number,
  units: number,
  init: { random: Random } | { kernel: Float32Array; bias: Float32Array },
  options: Pick<ParameterOptions, 'group' | 'trainable'> = {},
): DenseLayer {
  const kernelValue = 'random' in init ? glorotUniform(fanIn, units, init.random) : init.kernel;
  const biasValue = 'random' in init ? new Float32Array(units) : init.bias;
  const kernel = params.add(`${name}/kernel`, kernelValue, [fanIn, units], { ...options, decay: true });
  const bias = params.add(`${name}/bias`, biasValue, [units], { ...options, decay: false });
  return { name, kernel, bias, fanIn, units };
}

/** `a kernel + bias`: `[batch, fanIn] -> [batch, units]`. Inside tf.tidy. */
export function applyDense(a: tf.Tensor2D, layer: DenseLayer): tf.Tensor2D {
  return tf.add(tf.matMul(a, layer.kernel), layer.bias) as tf.Tensor2D;
}

/** `dropout(activation(z))` at `rate`. Inside tf.tidy. */
export function activateAndDrop(
  z: tf.Tensor2D,
  activation: Activation,
  rate: number,
  ctx: ForwardContext,
): tf.Tensor2D {
  return ctx.dropout(activate(z, activation) as tf.Tensor2D, rate);
}

/**
 * A stack of hidden layers over `a`: for each layer, `dropout(activation(a W + b))`. Returns the
 * last activation `[batch, units of the last layer]` (`a` itself for an empty stack). Inside tf.tidy.
 */
export function applyHiddenStack(
  a: tf.Tensor2D,
  layers: readonly DenseLayer[],
  activation: Activation,
  dropout: number,
  ctx: ForwardContext,
): tf.Tensor2D {
  let h = a;
  for (const layer of layers) h = activateAndDrop(applyDense(h, layer), activation, dropout, ctx);
  return h;
}

/** Columns `[from, from + width)` of a row-major `[rows, cols]` matrix, as a new `[rows, width]` one. */
export function columnBlock(matrix: Float32Array, cols: number, from: number, width: number): Float32Array {
  const rows = matrix.length / cols;
  const out = new Float32Array(rows * width);
  for (let r = 0; r < rows; r++)
    out.set(matrix.subarray(r * cols + from, r * cols + from + width), r * width);
  return out;
}

/** Side-by-side concatenation of row-major blocks `[rows, widths[i]]` into `[rows, sum(widths)]`. */
export function packColumns(blocks: readonly Float32Array[], rows: number): Float32Array {
  const widths = blocks.map((b) => b.length / rows);
  const cols = widths.reduce((a, b) => a + b, 0);
  const out = new Float32Array(rows * cols);
  let offset = 0;
  blocks.forEach((b, i) => {
    const w = widths[i]!;
    for (let r = 0; r < rows; r++) out.set(b.subarray(r * w, (r + 1) * w), r * cols + offset);
    offset += w;
  });
  return out;
}
