import * as tf from '@tensorflow/tfjs';

/**
 * The tfjs parameters of a network (everything but the sparse first layer, which keeps its own in
 * Float32Arrays: layers/sparse-dense.ts), each with a name, a parameter group and its role in
 * regularization. The training loop builds one optimizer per group (a group's learning rate is the
 * training rate times the group's scale, e.g. the larger rate Misra et al. (CVPR 2016) give
 * cross-stitch units), applies the L2 penalty to the parameters marked `decay`, and never updates a
 * parameter marked `trainable: false` (e.g. mixing fixed to the identity).
 */

/** How one parameter takes part in training. */
export interface ParameterOptions {
  /** Parameter group (default 'default'); see {@link ParameterSet.groupScale}. */
  group?: string;
  /** Whether the L2 penalty `training.l2` applies (kernels: yes; biases, mixing, gates: no). Default false. */
  decay?: boolean;
  /** Updated by the optimizer; default true. */
  trainable?: boolean;
}

/** One registered parameter. */
export interface Parameter {
  readonly name: string;
  readonly variable: tf.Variable;
  readonly shape: readonly number[];
  readonly group: string;
  readonly decay: boolean;
  readonly trainable: boolean;
}

/** An ordered registry of named tfjs parameters (order = creation order, stable for snapshots). */
export class ParameterSet {
  private readonly list: Parameter[] = [];
  private readonly scales = new Map<string, number>([['default', 1]]);
  private disposed = false;

  /**
   * Register a parameter initialized to `value` (copied), `shape` its tfjs shape.
   * @throws RangeError when `value` has the wrong length or the name is taken.
   */
  add(
    name: string,
    value: Float32Array,
    shape: readonly number[],
    options: ParameterOptions = {},
  ): tf.Variable {
    const n = shape.reduce((a, b) => a * b, 1);
    if (value.length !== n)
      throw new RangeError(`parameter ${name}: ${value.length} values for shape [${shape}]`);
    if (this.list.some((p) => p.name === name))
      throw new RangeError(`parameter ${name} is already registered`);
    const trainable = options.trainable ?? true;
    const variable = tf.tidy(() => tf.variable(tf.tensor(value, [...shape]), trainable));
    this.list.push({
      name,
      variable,
      shape: [...shape],
      group: options.group ?? 'default',
      decay: options.decay ?? false,
      trainable,
    });
    return variable;
  }

  /** Set the learning-rate scale of a group (default 1 for every group). @throws RangeError unless > 0. */
  setGroupScale(group: string, scale: number): void {
    if (!(scale > 0) || !Number.isFinite(scale)) throw new RangeError(`group ${group}: scale must be > 0`);
    this.scales.set(group, scale);
  }

  /** The learning-rate scale of a group. */
  groupScale(group: string): number {
    return this.scales.get(group) ?? 1;
  }

  /** Every parameter, in registration order. */
  get all(): readonly Parameter[] {
    return this.list;
  }

  /** The variables, in registration order. */
  get variables(): tf.Variable[] {
    return this.list.map((p) => p.variable);
  }

  /** The parameter called `name`. @throws RangeError when there is none. */
  get(name: string): Parameter {
    const p = this.list.find((q) => q.name === name);
    if (!p) throw new RangeError(`no parameter ${name}`);
    return p;
  }

  /** A copy of every parameter's values, in registration order. */
  snapshot(): Float32Array[] {
    return this.list.map((p) => (p.variable.dataSync() as Float32Array).slice());
  }

  /** Set every parameter from a {@link snapshot} (same order and sizes). @throws RangeError on a mismatch. */
  restore(values: readonly Float32Array[]): void {
    if (values.length !== this.list.length)
      throw new RangeError(`restore: ${values.length} arrays for ${this.list.length} parameters`);
    for (const [i, p] of this.list.entries()) this.set(p.name, values[i]!);
  }

  /** Set one parameter's values. @throws RangeError on a size mismatch. */
  set(name: string, value: Float32Array): void {
    const p = this.get(name);
    if (value.length !== p.variable.size)
      throw new RangeError(`parameter ${name}: ${value.length} values, expected ${p.variable.size}`);
    tf.tidy(() => p.variable.assign(tf.tensor(value, p.variable.shape)));
  }

  /** The current values of one parameter (a copy). */
  values(name: string): Float32Array {
    return (this.get(name).variable.dataSync() as Float32Array).slice();
  }

  /** Free the variables. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const p of this.list) p.variable.dispose();
  }
}
