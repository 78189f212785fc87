import * as tf from '@tensorflow/tfjs';
import { MhmtlError } from '../errors.js';
import { type CsrMatrix, selectRows } from '../features/csr.js';
import type { LabelledUnits, Network } from './architectures/architecture.js';
import { gradients } from './autodiff.js';
import { devScores, EarlyStopping } from './early-stopping.js';
import { GroupOptimizers } from './group-optimizers.js';
import { selectLabels } from './labels.js';
import { ForwardContext } from './layers/forward-context.js';
import { type MaskedBatchLabels, maskedBinaryCrossEntropy, maskLabels, positiveWeights } from './losses.js';
import { Random } from './random.js';
import type { TrainingConfig } from './training-config.js';
import type { EpochRecord, FitOptions, TrainingData, TrainingResult } from './types.js';
import { type AbstractWeighting, createWeighting } from './weighting/index.js';

export { devAucs } from './early-stopping.js';

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

/** What the loop needs to know of the model it trains. */
export interface TrainerModel {
  readonly training: TrainingConfig;
  readonly tasks: readonly string[];
  readonly mainTasks: readonly string[];
}

/** One batch's step: the per-task losses and the task weights applied. */
interface StepResult {
  losses: Float32Array;
  weights: Float32Array;
}

/**
 * The training loop shared by every architecture and every task weighting method: seeded shuffling
 * and dropout; minibatches of `batchSize` training units; per batch, the weighting method's step
 * (loss level: one backward pass of sum_t w_t L_t; representation level: per-task gradients at the
 * shared representation, combined by the method, back-propagated through the shared layers); the
 * tfjs parameters updated by their parameter groups' optimizers and the sparse first layer by its
 * lazy optimizer with the architecture's first-layer regularization; the NaN check per step; after
 * each epoch the network's end-of-epoch hook, its structure hook (Network.adaptStructure: when the
 * structure changed, new optimizers and model selection restarted from that epoch), dev loss and
 * AUC, model selection (./early-stopping.ts) with the best epoch's weights restored at the end.
 * @throws TrainingDivergedError when a task's loss is not finite; the signal's reason when aborted.
 */
export async function trainNetwork(
  network: Network,
  data: TrainingData,
  columns: readonly number[],
  model: TrainerModel,
  options: FitOptions,
): Promise<TrainingResult> {
  const cfg = model.training;
  const tasks = model.tasks;
  const T = tasks.length;
  const width = data.tasks.length;
  const yTrain = selectLabels(data.y, width, data.train, columns);
  const posWeight = positiveWeights(cfg.posWeight, tasks, yTrain, cfg.posWeightCap);
  const weighting = createWeighting(cfg.weighting, {
    tasks,
    mainTasks: model.mainTasks,
    seed: cfg.seed,
    learningRate: cfg.learningRate,
  });
  const newOptimizers = () =>
    new GroupOptimizers(network.params, { name: cfg.optimizer, learningRate: cfg.learningRate });
  let optimizers = newOptimizers();
  const xDev = data.dev.length > 0 ? selectRows(data.x, data.dev) : null;
  const yDev = selectLabels(data.y, width, data.dev, columns);
  const shuffleRandom = new Random(cfg.seed + 0x5f3759df);
  const dropoutRandom = new Random(cfg.seed + 0x2545f491);
  const order = Int32Array.from(data.train);
  const history: EpochRecord[] = [];
  const taskLossHistory: Float32Array[] = [];
  const newSelection = () =>
    new EarlyStopping({ metric: cfg.selection, minEpochs: cfg.minEpochs, patience: cfg.patience });
  let early = newSelection();
  let trainUnits: LabelledUnits | null = null;
  const trainingUnits = (): LabelledUnits => {
    trainUnits ??= { x: selectRows(data.x, data.train), y: yTrain, posWeight };
    return trainUnits;
  };
  let bestWeights: Float32Array[] | null = null;
  const started = performance.now();
  const step = weighting.gradients === 'loss' ? lossLevelStep : representationLevelStep;

  try {
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      options.signal?.throwIfAborted();
      const epochStart = performance.now();
      weighting.beginEpoch({ epoch, taskLossHistory });
      shuffleRandom.shuffle(order);
      const lossSum = new Float64Array(T);
      const countSum = new Float64Array(T);
      const weightSum = new Float64Array(T);
      let batches = 0;
      for (let s = 0; s < order.length; s += cfg.batchSize) {
        const ids = order.subarray(s, Math.min(order.length, s + cfg.batchSize));
        const xb = selectRows(data.x, ids);
        const labels = maskLabels(selectLabels(data.y, width, ids, columns), T);
        const { losses, weights } = step({
          network,
          x: xb,
          labels,
          posWeight,
          weighting,
          optimizers,
          l2: cfg.l2,
          ctx: new ForwardContext(dropoutRandom),
        });
        for (let k = 0; k < T; k++) {
          const v = losses[k]!;
          if (!Number.isFinite(v)) throw new TrainingDivergedError(tasks[k]!, epoch, v);
          lossSum[k]! += v * labels.counts[k]!;
          countSum[k]! += labels.counts[k]!;
          weightSum[k]! += weights[k]!;
        }
        batches++;
        weighting.afterBatch({ losses, counts: labels.counts });
      }
      const trainSeconds = (performance.now() - epochStart) / 1000;
      const meanLoss = Float32Array.from(lossSum, (v, k) => (countSum[k]! > 0 ? v / countSum[k]! : 0));
      taskLossHistory.push(meanLoss);
      network.endEpoch(epoch);
      const restructured = network.adaptStructure(epoch, trainingUnits);
      if (restructured) {
        // new parameters: new optimizers; the old structure's best snapshot cannot be restored
        optimizers.dispose();
        optimizers = newOptimizers();
        early = newSelection();
        bestWeights = null;
      }
      const dev = xDev ? devScores(network.predict(xDev), yDev, tasks, model.mainTasks, posWeight) : null;
      const record: EpochRecord = {
        epoch,
        loss: Object.fromEntries(tasks.map((t, k) => [t, meanLoss[k]!])),
        devAuc: dev?.auc ?? Object.fromEntries(tasks.map((t) => [t, null])),
        devMeanAuc: dev?.meanAuc ?? null,
        devLoss: dev?.loss ?? Object.fromEntries(tasks.map((t) => [t, null])),
        devMeanLoss: dev?.meanLoss ?? null,
        weights: Object.fromEntries(tasks.map((t, k) => [t, batches > 0 ? weightSum[k]! / batches : 0])),
        seconds: (performance.now() - epochStart) / 1000,
        unitsPerSecond: order.length / Math.max(trainSeconds, 1e-9),
        ...(restructured ? { structureChanged: true } : {}),
      };
      history.push(record);
      options.onEpoch?.(record);
      if (early.offer(epoch, early.value(dev))) bestWeights = network.snapshot();
      else if (early.shouldStop(epoch)) break;
      // Let the event loop breathe between epochs (signals, progress output).
      await new Promise((resolve) => setImmediate(resolve));
    }
  } finally {
    optimizers.dispose();
  }
  const last = history.length;
  const bestEpoch = early.best ?? last;
  if (bestWeights !== null && bestEpoch !== last) network.restore(bestWeights);
  return { history, bestEpoch, trainSeconds: (performance.now() - started) / 1000 };
}

/** Everything a step needs. */
interface StepInput {
  network: Network;
  x: CsrMatrix;
  labels: MaskedBatchLabels;
  posWeight: Float32Array;
  weighting: AbstractWeighting;
  optimizers: GroupOptimizers;
  l2: number;
  ctx: ForwardContext;
}

/** `total + l2 * sum of squared decayed kernels + the architecture's penalty`. Inside a tape. */
function withPenalties(total: tf.Scalar, network: Network, l2: number): tf.Scalar {
  let out = total;
  if (l2 !== 0) {
    const kernels = network.params.all.filter((p) => p.decay && p.trainable).map((p) => p.variable);
    if (kernels.length > 0) {
      let penalty: tf.Tensor = tf.sum(tf.square(kernels[0]!));
      for (let i = 1; i < kernels.length; i++) penalty = tf.add(penalty, tf.sum(tf.square(kernels[i]!)));
      out = tf.add(out, tf.mul(l2, penalty)) as tf.Scalar;
    }
  }
  const own = network.penalty();
  return own ? (tf.add(out, own) as tf.Scalar) : out;
}

function trainableVariables(network: Network): tf.Variable[] {
  return network.params.all.filter((p) => p.trainable).map((p) => p.variable);
}

/**
 * Loss level: one backward pass of `sum_t w_t L_t` (w from the weighting method) plus penalties,
 * through the tfjs part to the first layer's pre-activation, then the sparse layer's lazy update.
 */
function lossLevelStep(input: StepInput): StepResult {
  const { network, x, labels, posWeight, weighting, optimizers, l2, ctx } = input;
  const weights = weighting.batchWeights();
  const z1 = network.first.forward(x);
  let perTask: tf.Tensor1D | null = null;
  const dz = tf.tidy(() => {
    const z = tf.tensor2d(z1, [x.rows, network.firstWidth]);
    const vars = trainableVariables(network);
    const f = (): tf.Scalar => {
      const logits = network.forward(z, ctx);
      const lt = maskedBinaryCrossEntropy(logits, labels, posWeight);
      perTask = tf.keep(lt);
      return withPenalties(tf.sum(tf.mul(lt, tf.tensor1d(weights))) as tf.Scalar, network, l2);
    };
    const { grads } = gradients(f, [z, ...vars]);
    optimizers.apply(grads.slice(1));
    return grads[0] ?? tf.zerosLike(z);
  });
  const dzValues = dz.dataSync() as Float32Array;
  dz.dispose();
  const losses = ((perTask as tf.Tensor1D | null)!.dataSync() as Float32Array).slice();
  (perTask as tf.Tensor1D | null)!.dispose();
  network.first.update(x, dzValues, network.firstLayerRegularization(l2));
  return { losses, weights };
}

/**
 * Representation level (LibMTL's `rep_grad`): the shared representation `rep = encode(z1)` once;
 * for each task t, the gradient of L_t with respect to rep (and to the task-specific parameters)
 * through `decode`; the weighting method combines the T gradients at rep into one, which is
 * back-propagated through `encode` to the tfjs shared parameters and to the first layer; the
 * task-specific parameters get sum_t w_t (their gradient from L_t), w the method's weights. Costs T
 * passes through the task-specific part and one through the shared part and the sparse layer.
 */
function representationLevelStep(input: StepInput): StepResult {
  const { network, x, labels, posWeight, weighting, optimizers, l2, ctx } = input;
  const T = network.tasks.length;
  const z1 = network.first.forward(x);
  let losses: Float32Array = new Float32Array(T);
  let weights: Float32Array = new Float32Array(T);
  const dz = tf.tidy(() => {
    const z = tf.tensor2d(z1, [x.rows, network.firstWidth]);
    const vars = trainableVariables(network);
    const rep = network.encode(z, ctx);
    const identity = rep === z;
    const mark = ctx.position;
    const taskGrads: Float32Array[] = [];
    const varGrads: (tf.Tensor | null)[][] = [];
    const zGrads: (tf.Tensor | null)[] = [];
    const decodeXs = identity ? [rep, ...vars] : [rep, z, ...vars];
    for (let t = 0; t < T; t++) {
      ctx.replayFrom(mark);
      const oneHot = new Float32Array(T);
      oneHot[t] = 1;
      const r = gradients(
        () => maskedBinaryCrossEntropy(network.decode(rep, z, ctx), labels, posWeight),
        decodeXs,
        tf.tensor1d(oneHot),
      );
      if (t === 0) losses = (r.value.dataSync() as Float32Array).slice();
      taskGrads.push(
        r.grads[0] ? (r.grads[0].dataSync() as Float32Array).slice() : new Float32Array(rep.size),
      );
      zGrads.push(identity ? null : r.grads[1]!);
      varGrads.push(r.grads.slice(identity ? 1 : 2));
    }
    const combined = weighting.combineGradients(taskGrads, { losses, counts: labels.counts });
    weights = combined.weights;
    const upstream = tf.tensor2d(combined.gradient, rep.shape as [number, number]);
    let dzTotal: tf.Tensor = upstream;
    let encoderVarGrads: (tf.Tensor | null)[] = vars.map(() => null);
    if (!identity) {
      ctx.replay();
      const enc = gradients(() => network.encode(z, ctx), [z, ...vars], upstream);
      dzTotal = enc.grads[0] ?? tf.zerosLike(z);
      encoderVarGrads = enc.grads.slice(1);
    }
    for (let t = 0; t < T; t++) {
      const g = zGrads[t];
      if (g) dzTotal = tf.add(dzTotal, tf.mul(weights[t]!, g));
    }
    const penalty =
      vars.length > 0 ? gradients(() => withPenalties(tf.scalar(0), network, l2), vars).grads : [];
    const total = vars.map((_, i) => {
      let g: tf.Tensor | null = encoderVarGrads[i] ?? null;
      for (let t = 0; t < T; t++) {
        const gt = varGrads[t]![i];
        if (gt) g = g ? tf.add(g, tf.mul(weights[t]!, gt)) : tf.mul(weights[t]!, gt);
      }
      const p = penalty[i];
      if (p) g = g ? tf.add(g, p) : p;
      return g;
    });
    optimizers.apply(total);
    return dzTotal;
  });
  const dzValues = dz.dataSync() as Float32Array;
  dz.dispose();
  network.first.update(x, dzValues, network.firstLayerRegularization(l2));
  return { losses, weights };
}
