import * as tf from '@tensorflow/tfjs';
import { MhmtlError } from '../errors.js';
import { selectRows } from '../features/csr.js';
import { rocAuc } from '../evaluate/metrics.js';
import type { Network } from './architectures/index.js';
import { selectLabels } from './labels.js';
import { maskLabels, maskedBinaryCrossEntropy, positiveWeights } from './losses.js';
import type { NeuralModel } from './neural-model.js';
import { Random } from './random.js';
import type { EpochRecord, FitOptions, TrainingData, TrainingResult } from './types.js';
import { createWeighting } from './weighting/index.js';

/** Training stopped because a task's loss became NaN or infinite. */
export class TrainingDivergedError extends MhmtlError {
  constructor(
    readonly task: string,
    readonly epoch: number,
    readonly value: number,
  ) {
    super(
      `training diverged: the loss of task '${task}' is ${value} in epoch ${epoch} ` +
        '(try a smaller learning rate, check the features for non-finite values)',
    );
    this.name = 'TrainingDivergedError';
  }
}

/** Per-task dev AUC and their mean over `mainTasks` (tasks with one class on dev skipped). */
export function devAucs(
  scores: Float32Array,
  labels: Float32Array,
  tasks: readonly string[],
  mainTasks: readonly string[],
): { perTask: Record<string, number | null>; mean: number | null } {
  const t = tasks.length;
  const n = scores.length / t;
  const perTask: Record<string, number | null> = {};
  const s = new Float32Array(n);
  const l = new Float32Array(n);
  const main: number[] = [];
  tasks.forEach((name, k) => {
    for (let i = 0; i < n; i++) {
      s[i] = scores[i * t + k]!;
      l[i] = labels[i * t + k]!;
    }
    const auc = n > 0 ? rocAuc(s, l) : null;
    perTask[name] = auc;
    if (auc !== null && mainTasks.includes(name)) main.push(auc);
  });
  return { perTask, mean: main.length > 0 ? main.reduce((a, b) => a + b, 0) / main.length : null };
}

/**
 * The training loop shared by every architecture: seeded shuffling and dropout, minibatches of
 * `batchSize` training units, one network step each, the NaN check per step, dev AUC per epoch,
 * early stopping with patience, and the best epoch's weights restored at the end.
 */
export async function trainNetwork(
  network: Network,
  data: TrainingData,
  columns: number[],
  model: NeuralModel,
  options: FitOptions,
): Promise<TrainingResult> {
  const cfg = model.training;
  const tasks = model.tasks;
  const T = tasks.length;
  const width = data.tasks.length;
  const yTrain = selectLabels(data.y, width, data.train, columns);
  const posWeight = positiveWeights(cfg.posWeight, tasks, yTrain, cfg.posWeightCap);
  const weighting = createWeighting(cfg.weighting, { tasks, mainTasks: model.mainTasks });
  const xDev = data.dev.length > 0 ? selectRows(data.x, data.dev) : null;
  const yDev = selectLabels(data.y, width, data.dev, columns);
  const shuffleRandom = new Random(cfg.seed + 0x5f3759df);
  const dropoutRandom = new Random(cfg.seed + 0x2545f491);
  const order = Int32Array.from(data.train);
  const history: EpochRecord[] = [];
  let best: { epoch: number; auc: number; weights: Float32Array[] } | null = null;
  let previousTaskLoss: Float32Array | null = null;
  const started = performance.now();

  for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    options.signal?.throwIfAborted();
    const epochStart = performance.now();
    const lambda = weighting.weights({ epoch, previousTaskLoss });
    shuffleRandom.shuffle(order);
    const lossSum = new Float64Array(T);
    const countSum = new Float64Array(T);
    for (let s = 0; s < order.length; s += cfg.batchSize) {
      const ids = order.subarray(s, Math.min(order.length, s + cfg.batchSize));
      const xb = selectRows(data.x, ids);
      const labels = maskLabels(selectLabels(data.y, width, ids, columns), T);
      const perTask = network.trainStep(
        xb,
        (logits) => {
          const lt = maskedBinaryCrossEntropy(logits, labels, posWeight);
          return { perTask: lt, total: tf.sum(tf.mul(lt, tf.tensor1d(lambda))) as tf.Scalar };
        },
        dropoutRandom,
      );
      for (let k = 0; k < T; k++) {
        const v = perTask[k]!;
        if (!Number.isFinite(v)) throw new TrainingDivergedError(tasks[k]!, epoch, v);
        lossSum[k]! += v * labels.counts[k]!;
        countSum[k]! += labels.counts[k]!;
      }
    }
    const trainSeconds = (performance.now() - epochStart) / 1000;
    const meanLoss = Float32Array.from(lossSum, (v, k) => (countSum[k]! > 0 ? v / countSum[k]! : 0));
    previousTaskLoss = meanLoss;
    const dev = xDev ? devAucs(network.predict(xDev), yDev, tasks, model.mainTasks) : null;
    const record: EpochRecord = {
      epoch,
      loss: Object.fromEntries(tasks.map((t, k) => [t, meanLoss[k]!])),
      devAuc: dev?.perTask ?? Object.fromEntries(tasks.map((t) => [t, null])),
      devMeanAuc: dev?.mean ?? null,
      seconds: (performance.now() - epochStart) / 1000,
      unitsPerSecond: order.length / Math.max(trainSeconds, 1e-9),
    };
    history.push(record);
    options.onEpoch?.(record);
    if (record.devMeanAuc !== null && (best === null || record.devMeanAuc > best.auc)) {
      best = { epoch, auc: record.devMeanAuc, weights: network.snapshot() };
    } else if (best !== null && epoch - best.epoch >= cfg.patience) {
      break;
    }
    // Let the event loop breathe between epochs (signals, progress output).
    await new Promise((resolve) => setImmediate(resolve));
  }
  const last = history.length;
  let bestEpoch = last;
  if (best !== null) {
    bestEpoch = best.epoch;
    if (best.epoch !== last) network.restore(best.weights);
  }
  return { history, bestEpoch, trainSeconds: (performance.now() - started) / 1000 };
}
