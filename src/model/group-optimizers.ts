import * as tf from '@tensorflow/tfjs';
import { type OptimizerConfig, tfOptimizer } from './optimizers.js';
import type { ParameterSet } from './parameters.js';

/**
 * Parameter groups (as torch.optim's): one tfjs optimizer per group of a {@link ParameterSet},
 * each with the training learning rate times the group's scale, so that e.g. mixing weights can
 * learn faster than the layers they mix. Only trainable parameters are updated; the order in which
 * a group's gradients are applied is the registration order, every step, so an optimizer's state
 * lines up with its variables and results are deterministic.
 */
export class GroupOptimizers {
  private readonly groups = new Map<string, { optimizer: tf.Optimizer; indices: number[] }>();

  /** @throws UsageError on a bad optimizer configuration (see tfOptimizer). */
  constructor(
    private readonly params: ParameterSet,
    config: OptimizerConfig,
  ) {
    params.all.forEach((p, i) => {
      if (!p.trainable) return;
      let g = this.groups.get(p.group);
      if (!g) {
        const scale = params.groupScale(p.group);
        g = { optimizer: tfOptimizer({ ...config, learningRate: config.learningRate * scale }), indices: [] };
        this.groups.set(p.group, g);
      }
      g.indices.push(i);
    });
  }

  /** Indices (in the parameter set) of the trainable parameters, in registration order. */
  get trainableIndices(): number[] {
    return this.params.all.flatMap((p, i) => (p.trainable ? [i] : []));
  }

  /**
   * One optimizer step. `gradients[i]` is the gradient of trainable parameter
   * `trainableIndices[i]` (same shape), or null for no gradient this step (a zero gradient: tfjs's
   * optimizers keep their state by the position of a variable in the list, so every variable of a
   * group is passed every step). Inside tf.tidy.
   */
  apply(gradients: readonly (tf.Tensor | null)[]): void {
    const indices = this.trainableIndices;
    const gradOf = new Map(indices.map((p, i) => [p, gradients[i] ?? null]));
    for (const g of this.groups.values()) {
      const named: { name: string; tensor: tf.Tensor }[] = [];
      for (const i of g.indices) {
        const variable = this.params.all[i]!.variable;
        named.push({ name: variable.name, tensor: gradOf.get(i) ?? tf.zerosLike(variable) });
      }
      g.optimizer.applyGradients(named);
    }
  }

  /** Free the optimizers' state. */
  dispose(): void {
    for (const g of this.groups.values()) g.optimizer.dispose();
    this.groups.clear();
  }
}
