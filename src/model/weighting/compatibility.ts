import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import type { Architecture } from '../architectures/architecture.js';
import { getArchitecture } from '../architectures/index.js';
import { gradients } from '../autodiff.js';
import { ForwardContext } from '../layers/forward-context.js';
import { Random } from '../random.js';
import { checkWeightingConfig, getWeightingMethod, type WeightingConfig } from './index.js';

/** What the check needs to know of the model a weighting method would train. */
export interface WeightingModel {
  architecture: string;
  /** The architecture's options (as a pipeline's `model` block gives them, without `architecture`). */
  architectureConfig: Record<string, unknown>;
  tasks: readonly string[];
  auxTasks: readonly string[];
}

/**
 * Whether the tasks of an architecture share part of its representation (the output of `encode`):
 * a small network of it (one input feature, seeded weights) is run on a seeded random first-layer
 * pre-activation `[16, firstWidth]`, and each task's logit is differentiated with respect to the
 * representation; true when some representation column receives a gradient from two tasks or
 * more. False e.g. for separate towers packed side by side with an identity `encode`.
 * @param architecture the architecture (default: the one registered as `model.architecture`).
 * @throws UsageError on an unknown architecture or bad architecture options.
 */
export function tasksShareRepresentation(
  model: WeightingModel,
  architecture: Architecture = getArchitecture(model.architecture),
): boolean {
  if (model.tasks.length < 2) return false;
  const config = architecture.resolveConfig(model.architectureConfig, {
    tasks: model.tasks,
    auxTasks: model.auxTasks,
  });
  const network = architecture.create({
    inputDim: 1,
    tasks: model.tasks,
    auxTasks: model.auxTasks,
    config,
    optimizer: { name: 'adam', learningRate: 0.001 },
    seed: 1,
  });
  try {
    return tf.tidy(() => {
      const rows = 16;
      const random = new Random(7);
      const z = tf.tensor2d(
        Float32Array.from({ length: rows * network.firstWidth }, () => random.normal()),
        [rows, network.firstWidth],
      );
      const ctx = ForwardContext.inference();
      const rep = network.encode(z, ctx);
      const touched = new Uint16Array(rep.shape[1]);
      for (let t = 0; t < model.tasks.length; t++) {
        const g = gradients(() => tf.sum(tf.slice(network.decode(rep, z, ctx), [0, t], [rows, 1])), [rep])
          .grads[0];
        if (!g) continue;
        const column = tf.sum(tf.abs(g), 0).dataSync();
        for (let k = 0; k < column.length; k++) if (column[k]! > 0) touched[k]! += 1;
      }
      return touched.some((c) => c >= 2);
    });
  } finally {
    network.dispose();
  }
}

/**
 * Check that the weighting method of `weighting` can combine with `model`'s architecture: a
 * method that acts on how task gradients at the shared representation relate (PCGrad) needs tasks
 * that share part of it (with none shared it would be the fixed method with weights 1). Single-task
 * models pass (nothing to combine).
 * @param architecture the architecture (default: the one registered as `model.architecture`).
 * @throws UsageError naming `path`/method, one line.
 */
export function checkWeightingArchitecture(
  weighting: WeightingConfig,
  model: WeightingModel,
  path = '/training/weighting',
  architecture?: Architecture,
): void {
  const method = getWeightingMethod(checkWeightingConfig(weighting, path).method);
  if (!method.needsSharedRepresentation || model.tasks.length < 2) return;
  if (!tasksShareRepresentation(model, architecture)) {
    throw new UsageError(
      `${path}/method: ${method.name} cannot combine with architecture ${model.architecture}: its tasks share no part of the representation, so no task gradient could conflict with another (${method.name} would train as fixed weights of 1)`,
    );
  }
}
