import {
  AbstractWeighting,
  scaledSoftmax,
  type WeightingContext,
  type WeightingEpochState,
  type WeightingMethod,
} from './abstract-weighting.js';

/** Options of {@link DynamicWeightAverage}. */
export interface DwaOptions {
  /** Softmax temperature T (> 0); default 2, the paper's. Larger: weights closer to 1. */
  temperature?: number;
}

/** The paper's temperature. */
export const DWA_DEFAULT_TEMPERATURE = 2;

/**
 * Dynamic weight average (Liu, Johns & Davison, "End-to-End Multi-Task Learning with Attention",
 * CVPR 2019, Section 3.3, eq. 7; LibMTL's `DWA`): a task whose training loss fell less over the
 * last epoch gets more weight in the next one. For epoch t >= 3, with L_k(e) the mean training
 * loss of task k over epoch e and K the number of tasks,
 *
 *   r_k = L_k(t-1) / L_k(t-2),      w_k(t) = K exp(r_k / T) / sum_i exp(r_i / T);
 *
 * w_k = 1 in epochs 1 and 2. The weights are constant within an epoch and sum to K. A task with
 * no label in one of the two epochs (mean loss 0: a binary cross-entropy is never 0 otherwise) has
 * no rate of descent and takes r_k = 1 (no change), never a NaN; within a batch, a task without a
 * label has loss 0 and contributes nothing whatever its weight.
 */
export class DynamicWeightAverage extends AbstractWeighting {
  readonly name = 'dwa';
  readonly gradients = 'loss' as const;
  private weights: Float32Array;
  private readonly temperature: number;

  constructor(
    context: WeightingContext,
    private readonly options: DwaOptions = {},
  ) {
    super(context);
    this.temperature = options.temperature ?? DWA_DEFAULT_TEMPERATURE;
    this.weights = new Float32Array(context.tasks.length).fill(1);
  }

  override beginEpoch(state: WeightingEpochState): void {
    this.weights = dwaWeights(state.taskLossHistory, this.temperature, this.context.tasks.length);
  }

  batchWeights(): Float32Array {
    return this.weights.slice();
  }

  toJSON(): Record<string, unknown> {
    return { method: this.name, ...this.options };
  }
}

/**
 * DWA's weights `[tasks]` for the next epoch from the mean task losses of the finished epochs
 * (oldest first, each `[tasks]`) at temperature `temperature`: all 1 with fewer than two epochs.
 */
export function dwaWeights(
  history: readonly ArrayLike<number>[],
  temperature: number,
  tasks: number,
): Float32Array {
  if (history.length < 2) return new Float32Array(tasks).fill(1);
  const last = history[history.length - 1]!;
  const before = history[history.length - 2]!;
  const scaled = Array.from({ length: tasks }, (_, k) => {
    const a = last[k]!;
    const b = before[k]!;
    const r = a > 0 && b > 0 && Number.isFinite(a) && Number.isFinite(b) ? a / b : 1;
    return r / temperature;
  });
  return scaledSoftmax(scaled, tasks);
}

export const dwa: WeightingMethod = {
  name: 'dwa',
  summary:
    "dynamic weight average: weights from the ratio of each task's last two epoch losses (Liu, Johns & Davison, CVPR 2019)",
  gradients: 'loss',
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      temperature: {
        type: 'number',
        exclusiveMinimum: 0,
        default: DWA_DEFAULT_TEMPERATURE,
        description: 'softmax temperature T; larger gives weights closer to 1',
      },
    },
  },
  create: (context, options) => new DynamicWeightAverage(context, options as DwaOptions),
};
