import * as tf from '@tensorflow/tfjs';
import type { LayersGraph } from '../io/layers-graph.js';
import type { ParameterSet } from '../parameters.js';
import type { Random } from '../random.js';
import { addDenseLayer, applyDense, type DenseLayer } from './dense-stack.js';

/**
 * Task heads at any depth of a network: each task has a linear head (one logit) on the
 * representation of the layer it reads (Søgaard & Goldberg, "Deep multi-task learning with low
 * level tasks supervised at lower layers", ACL 2016: a low-level task supervised at a lower layer).
 * The heads that read the same layer form one group, registered as one Dense layer
 * `heads_<layer>` (`kernel [width of the layer, tasks of the group]`, `bias`; each column is
 * one task's head, independent of the others); the groups come in ascending layer order, and in
 * each group the tasks come in task order. The groups' logits are concatenated and, when that
 * order is not the task order, multiplied by a fixed permutation matrix `[tasks, tasks]` so that
 * the result is `[batch, tasks]` in task order (a permutation by matMul, not tf.gather, whose
 * gradient is missing on the wasm backend; exact in float32: every output is one input times 1
 * plus zeros). The export mirrors it: one Dense per group, Concatenate, a bias-free Dense
 * `task_order` with the permutation as kernel, and a sigmoid.
 *
 * With every task on one layer this is a Dense(tasks) over that layer, e.g. hard sharing's
 * `heads` (same initial weights from the same generator).
 */

/** The heads reading one layer. */
export interface HeadGroup {
  /** The layer (1-based) whose representation the group reads. */
  readonly layer: number;
  /** Indices of its tasks in the network's task order, ascending. */
  readonly tasks: readonly number[];
  /** Its Dense layer `heads_<layer>`: `[width, tasks.length]`. */
  readonly dense: DenseLayer;
}

/** Initial weights of the heads: Glorot-uniform from a generator, or given by weight name. */
export type HeadsInit = { random: Random } | { weight: (name: string, length: number) => Float32Array };

/** The name of the Dense layer of the heads reading `layer`. */
export function headsLayerName(layer: number): string {
  return `heads_${layer}`;
}

/** The layers that carry heads, ascending, and the tasks of each (task indices, ascending). */
export function headGroups(layerOf: readonly number[]): { layer: number; tasks: number[] }[] {
  const layers = [...new Set(layerOf)].sort((a, b) => a - b);
  return layers.map((layer) => ({
    layer,
    tasks: layerOf.flatMap((l, t) => (l === layer ? [t] : [])),
  }));
}

/**
 * The weights of the heads, in registration order, as `[name, number of values]`.
 * @param layerOf the layer each task reads, in task order (1-based);
 * @param widthOf the width of a layer's representation.
 */
export function headWeightShapes(
  layerOf: readonly number[],
  widthOf: (layer: number) => number,
): [string, number][] {
  return headGroups(layerOf).flatMap(({ layer, tasks }) => {
    const name = headsLayerName(layer);
    return [
      [`${name}/kernel`, widthOf(layer) * tasks.length],
      [`${name}/bias`, tasks.length],
    ] as [string, number][];
  });
}

/** Task heads attached at chosen layers (see the module comment). */
export class TaskHeads {
  readonly groups: readonly HeadGroup[];
  /** `[tasks, tasks]` row-major: row i (grouped column i) has a 1 at its task; null when the grouped order is the task order. */
  private readonly permutation: Float32Array | null;
  private readonly taskCount: number;

  /**
   * Register the heads' parameters in `params` (group 'default', kernels with L2 decay), the
   * groups in ascending layer order.
   * @param layerOf the layer each task reads, in task order (1-based);
   * @param widthOf the width of a layer's representation;
   * @throws RangeError when a layer is not a positive integer or a given weight has the wrong size.
   */
  constructor(
    params: ParameterSet,
    layerOf: readonly number[],
    widthOf: (layer: number) => number,
    init: HeadsInit,
  ) {
    for (const l of layerOf)
      if (!Number.isInteger(l) || l < 1) throw new RangeError(`a head cannot read layer ${l}`);
    this.taskCount = layerOf.length;
    this.groups = headGroups(layerOf).map(({ layer, tasks }) => {
      const name = headsLayerName(layer);
      const width = widthOf(layer);
      const weights =
        'random' in init
          ? { random: init.random }
          : {
              kernel: init.weight(`${name}/kernel`, width * tasks.length),
              bias: init.weight(`${name}/bias`, tasks.length),
            };
      return { layer, tasks, dense: addDenseLayer(params, name, width, tasks.length, weights) };
    });
    const order = this.groups.flatMap((g) => g.tasks);
    const T = this.taskCount;
    if (order.every((t, i) => t === i)) {
      this.permutation = null;
    } else {
      this.permutation = new Float32Array(T * T);
      order.forEach((t, i) => {
        this.permutation![i * T + t] = 1;
      });
    }
  }

  /** The layers that carry heads, ascending (the order of {@link apply}'s representations). */
  get layers(): number[] {
    return this.groups.map((g) => g.layer);
  }

  /**
   * Logits `[batch, tasks]` in task order from the representations of the layers that carry heads,
   * `reps[g]` `[batch, width]` the representation of `groups[g].layer`. Inside tf.tidy.
   * @throws RangeError when the number of representations is not the number of groups.
   */
  apply(reps: readonly tf.Tensor2D[]): tf.Tensor2D {
    if (reps.length !== this.groups.length)
      throw new RangeError(`${reps.length} representations for heads on ${this.groups.length} layers`);
    const logits = this.groups.map((g, i) => applyDense(reps[i]!, g.dense));
    const grouped = logits.length === 1 ? logits[0]! : (tf.concat(logits, 1) as tf.Tensor2D);
    if (!this.permutation) return grouped;
    return tf.matMul(grouped, tf.tensor2d(this.permutation, [this.taskCount, this.taskCount]));
  }

  /**
   * The heads in a {@link LayersGraph}: one Dense per group over `reps[g]` (the symbolic
   * representation of `groups[g].layer`), Concatenate `heads`, the permutation as a bias-free Dense
   * `task_order` when needed, and a sigmoid `probabilities`: `[batch, tasks]` probabilities in task
   * order.
   */
  exportTo(graph: LayersGraph, reps: readonly tf.SymbolicTensor[]): tf.SymbolicTensor {
    const logits = this.groups.map((g, i) =>
      graph.dense(reps[i]!, {
        name: g.dense.name,
        kernel: (g.dense.kernel.dataSync() as Float32Array).slice(),
        bias: (g.dense.bias.dataSync() as Float32Array).slice(),
      }),
    );
    let out = graph.concatenate('heads', logits);
    if (this.permutation)
      out = graph.dense(out, { name: 'task_order', kernel: this.permutation, bias: null });
    return graph.activation('probabilities', out, 'sigmoid');
  }
}
