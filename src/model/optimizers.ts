import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../errors.js';

/** Optimizer settings shared by the sparse (Float32Array) and dense (tfjs) parameters. */
export interface OptimizerConfig {
  /** 'adam' (Kingma & Ba, ICLR 2015) or 'adagrad' (Duchi, Hazan & Singer, JMLR 2011). */
  name: 'adam' | 'adagrad';
  learningRate: number;
  /** Adam: decay of the first moment; default 0.9. */
  beta1?: number;
  /** Adam: decay of the second moment; default 0.999. */
  beta2?: number;
  /** Adam: denominator epsilon; default 1e-7 (tfjs's). */
  epsilon?: number;
  /** Adagrad: initial accumulator value; default 0.1 (tfjs's). */
  initialAccumulator?: number;
}

/** Check an optimizer configuration. @throws UsageError on an unknown name or a bad learning rate. */
export function validateOptimizer(config: OptimizerConfig): void {
  if (config.name !== 'adam' && config.name !== 'adagrad') {
    throw new UsageError(`unknown optimizer '${String(config.name)}' (known: adam, adagrad)`);
  }
  if (!(config.learningRate > 0) || !Number.isFinite(config.learningRate)) {
    throw new UsageError(`learning rate must be a positive number, got ${config.learningRate}`);
  }
}

/** The tfjs optimizer for the dense parameters, with the same formulas as {@link RowOptimizer}. */
export function tfOptimizer(config: OptimizerConfig): tf.Optimizer {
  validateOptimizer(config);
  if (config.name === 'adagrad')
    return tf.train.adagrad(config.learningRate, config.initialAccumulator ?? 0.1);
  return tf.train.adam(
    config.learningRate,
    config.beta1 ?? 0.9,
    config.beta2 ?? 0.999,
    config.epsilon ?? 1e-7,
  );
}

/**
 * Lazy ("sparse") Adam or Adagrad over a parameter matrix `[rows, width]` kept in a Float32Array:
 * a step updates the optimizer state of the rows that received a gradient and nothing else
 * (as TensorFlow's LazyAdamOptimizer), so its cost is O(touched rows x width), never
 * O(rows x width). Adam's bias correction uses the global step count. Formulas as tfjs's
 * AdamOptimizer / AdagradOptimizer, so dense and sparse parameters follow the same rule.
 */
export class RowOptimizer {
  private readonly first: Float32Array;
  private readonly second: Float32Array;
  private t = 0;
  private stepSize = 0;
  private c1 = 1;
  private c2 = 1;
  private readonly lr: number;
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly adam: boolean;
  private readonly initialAccumulator: number;

  constructor(
    config: OptimizerConfig,
    readonly rows: number,
    readonly width: number,
  ) {
    validateOptimizer(config);
    this.adam = config.name === 'adam';
    this.lr = config.learningRate;
    this.beta1 = config.beta1 ?? 0.9;
    this.beta2 = config.beta2 ?? 0.999;
    this.epsilon = config.epsilon ?? 1e-7;
    this.initialAccumulator = config.initialAccumulator ?? 0.1;
    this.second = new Float32Array(rows * width);
    if (this.adam) this.first = new Float32Array(rows * width);
    else {
      this.first = new Float32Array(0);
      this.second.fill(this.initialAccumulator);
    }
  }

  /**
   * An optimizer that keeps no per-row state (`rows` 0): it only advances the step schedule, for a
   * kernel that keeps the state elsewhere (src/model/layers/wasm/wasm-first-layer.ts) and reads
   * {@link stepConstants}.
   */
  static scheduleOnly(config: OptimizerConfig, width: number): RowOptimizer {
    return new RowOptimizer(config, 0, width);
  }

  /**
   * The constants of the current step (after {@link beginStep}): the learning rate, Adam's
   * `lr / (1 - beta1^t)` and `1 / (1 - beta2^t)`, the betas, epsilon, and Adagrad's initial
   * accumulator value.
   */
  get stepConstants(): {
    adam: boolean;
    lr: number;
    lrC1: number;
    c2: number;
    beta1: number;
    beta2: number;
    epsilon: number;
    initialAccumulator: number;
  } {
    return {
      adam: this.adam,
      lr: this.stepSize,
      lrC1: this.stepSize * this.c1,
      c2: this.c2,
      beta1: this.beta1,
      beta2: this.beta2,
      epsilon: this.epsilon,
      initialAccumulator: this.initialAccumulator,
    };
  }

  /** Start a new training step (advances Adam's bias correction). */
  beginStep(): void {
    this.t += 1;
    this.stepSize = this.lr;
    if (this.adam) {
      this.c1 = 1 / (1 - this.beta1 ** this.t);
      this.c2 = 1 / (1 - this.beta2 ** this.t);
    }
  }

  /**
   * Update row `row` of `param` (`[rows, width]`) with the gradient `scale * grad[gradOffset ..
   * gradOffset + width)` (scale default 1) plus `decay * param[row, :]` (the gradient of an L2
   * penalty `decay / 2 * |row|^2`; default 0), in one pass over the row.
   */
  updateRow(
    param: Float32Array,
    row: number,
    grad: Float32Array,
    gradOffset: number,
    decay = 0,
    scale = 1,
  ): void {
    const w = this.width;
    const base = row * w;
    const lr = this.stepSize;
    const s = this.second;
    if (this.adam) {
      const m = this.first;
      const b1 = this.beta1;
      const b2 = this.beta2;
      const ob1 = 1 - b1;
      const ob2 = 1 - b2;
      const lrC1 = lr * this.c1;
      const c2 = this.c2;
      const eps = this.epsilon;
      for (let h = 0; h < w; h++) {
        const i = base + h;
        const p = param[i]!;
        const g = scale * grad[gradOffset + h]! + decay * p;
        const mi = b1 * m[i]! + ob1 * g;
        const si = b2 * s[i]! + ob2 * g * g;
        m[i] = mi;
        s[i] = si;
        param[i] = p - (lrC1 * mi) / (Math.sqrt(si * c2) + eps);
      }
    } else {
      for (let h = 0; h < w; h++) {
        const i = base + h;
        const p = param[i]!;
        const g = scale * grad[gradOffset + h]! + decay * p;
        const si = s[i]! + g * g;
        s[i] = si;
        param[i] = p - (lr * g) / Math.sqrt(si + 1e-7);
      }
    }
  }
}
