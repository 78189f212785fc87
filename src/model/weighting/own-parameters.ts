/**
 * Adam (Kingma & Ba, ICLR 2015) over a weighting method's own per-task parameters (log-variances,
 * loss weights), one scalar per task, kept in a Float64Array. A step moves only the tasks it is
 * given (those with a label in the batch), so a task without labels keeps its value and its
 * moments, as a lazy optimizer's untouched row does; bias correction counts each task's own steps.
 * Written here rather than reusing optimizers.ts's RowOptimizer, which imports TensorFlow.js: the
 * weighting registry is read by the pipeline-file check, which must not load it.
 */
export class TaskParameterAdam {
  private readonly m: Float64Array;
  private readonly v: Float64Array;
  private readonly steps: Float64Array;

  /**
   * @param tasks number of parameters (one per task).
   * @param learningRate step size (> 0).
   */
  constructor(
    tasks: number,
    private readonly learningRate: number,
    private readonly beta1 = 0.9,
    private readonly beta2 = 0.999,
    private readonly epsilon = 1e-7,
  ) {
    this.m = new Float64Array(tasks);
    this.v = new Float64Array(tasks);
    this.steps = new Float64Array(tasks);
  }

  /**
   * One step: `param[t] -= lr * mHat / (sqrt(vHat) + eps)` for every task `t` with `active[t]`,
   * `grad[t]` its gradient; other tasks untouched. `param`, `grad`, `active` are `[tasks]`.
   */
  step(param: Float64Array, grad: ArrayLike<number>, active: ArrayLike<boolean>): void {
    for (let t = 0; t < param.length; t++) {
      if (!active[t]) continue;
      const g = grad[t]!;
      const k = ++this.steps[t]!;
      this.m[t] = this.beta1 * this.m[t]! + (1 - this.beta1) * g;
      this.v[t] = this.beta2 * this.v[t]! + (1 - this.beta2) * g * g;
      const mHat = this.m[t]! / (1 - this.beta1 ** k);
      const vHat = this.v[t]! / (1 - this.beta2 ** k);
      param[t] = param[t]! - (this.learningRate * mHat) / (Math.sqrt(vHat) + this.epsilon);
    }
  }
}

/** JSON Schema of the `learning_rate` option of a method with own parameters. */
export const OWN_LEARNING_RATE_SCHEMA = {
  type: 'number',
  exclusiveMinimum: 0,
  description: "learning rate of the method's own parameters (Adam); default: the training learning rate",
} as const;
