import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import type { CsrMatrix } from '../features/csr.js';
import { selectRows } from '../features/csr.js';
import { initTensorflow } from '../model/backend.js';
import { defaultSparseKernel } from '../model/layers/sparse-dense.js';
import { THREADS_ENV } from '../model/layers/wasm/first-layer-threads.js';
import { LogisticRegression } from '../model/baselines/logistic-regression.js';
import { Random } from '../model/random.js';
import { HARD_SHARING_DEFAULTS } from '../model/architectures/hard-sharing.js';
import { selectLabels } from '../model/labels.js';
import { positiveWeights } from '../model/losses.js';
import { median } from './measure.js';
import { peerUnavailableReason, removePeerData, runPeer, writePeerData } from './peer-pytorch.js';
import { NeuralModel } from '../model/neural-model.js';
import type { TrainingData } from '../model/types.js';
import type { BenchResult } from './types.js';

/**
 * The training benchmark's shape (issue 19): 2,000 units, 100,000 features, 300 distinct
 * non-zeros per unit, 256 hidden units, 11 heads, batch 64; the train and methods stages' defaults.
 */
export const BENCH_SHAPE = {
  units: 2000,
  features: 100_000,
  nnzPerUnit: 300,
  hidden: 256,
  tasks: 11,
  batchSize: 64,
} as const;

/** Sizes of the training benchmark (defaults: the target configuration). */
export interface TrainBenchOptions {
  /** Training units; default 2,000. */
  units?: number;
  /** Vocabulary size; default 100,000. */
  features?: number;
  /** Non-zeros per unit; default 300. */
  nnzPerUnit?: number;
  /** Hidden units of the shared layer; default 256. */
  hidden?: number;
  /** Heads (tasks); default 11. */
  tasks?: number;
  /** Epochs of each fit (mhmtl's and the peer's); default 3. */
  epochs?: number;
  /** Alternated repeats of the mhmtl / PyTorch pair; default 3. */
  repeats?: number;
  /**
   * Threads of the second mhmtl fit of each repeat (MHMTL_THREADS), compared with the one-thread
   * fit; default 2 when the machine has 2 cores or more, else none (1).
   */
  threads?: number;
  /** Run the PyTorch peer when python3 can import torch; default true. */
  peer?: boolean;
  /** Units per step; default 64. */
  batchSize?: number;
  /** Steps of the hand-written dense tfjs loop; default 5. */
  baselineSteps?: number;
  seed?: number;
}

/**
 * A synthetic sparse cohort: `nnz` distinct features per unit drawn from a Zipf-like (1/f)
 * distribution over the vocabulary, as word n-grams are; L2-normalized values; random labels
 * (25% positive, some unknown). Throughput does not depend on what is learned.
 */
export function syntheticSparseData(
  units: number,
  features: number,
  nnz: number,
  tasks: number,
  seed: number,
): TrainingData {
  const r = new Random(seed);
  const indptr = new Int32Array(units + 1);
  const indices = new Int32Array(units * nnz);
  const values = new Float32Array(units * nnz);
  const logV = Math.log(features);
  for (let i = 0; i < units; i++) {
    const set = new Set<number>();
    while (set.size < nnz) set.add(Math.min(features - 1, Math.floor(Math.exp(r.next() * logV)) - 1));
    const sorted = [...set].sort((a, b) => a - b);
    let norm = 0;
    const vals = sorted.map(() => {
      const v = 0.1 + r.next();
      norm += v * v;
      return v;
    });
    sorted.forEach((f, k) => {
      indices[i * nnz + k] = f;
      values[i * nnz + k] = vals[k]! / Math.sqrt(norm);
    });
    indptr[i + 1] = (i + 1) * nnz;
  }
  const y = Float32Array.from({ length: units * tasks }, () => {
    const u = r.next();
    return u < 0.05 ? Number.NaN : u < 0.3 ? 1 : 0;
  });
  const x: CsrMatrix = { rows: units, cols: features, indptr, indices, values };
  const all = Int32Array.from({ length: units }, (_, i) => i);
  return {
    x,
    y,
    tasks: Array.from({ length: tasks }, (_, k) => `task${k}`),
    train: all,
    dev: new Int32Array(0),
  };
}

/** User + system CPU seconds of this process since `start` (a process.cpuUsage() reading). */
function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

/**
 * A minimal hand-written tfjs training loop for the same architecture and batch: a dense first
 * layer (a plain variable `[features, hidden]` and matMul over the densified batch), ReLU, one
 * Dense head per task, sigmoid cross-entropy, tf.train.adam; returns units/s over `steps` steps
 * after one warm-up step.
 */
function denseBaselineUnitsPerSecond(
  data: TrainingData,
  hidden: number,
  batch: number,
  steps: number,
): number {
  const V = data.x.cols;
  const T = data.tasks.length;
  const w1 = tf.variable(tf.randomUniform([V, hidden], -0.01, 0.01));
  const b1 = tf.variable(tf.zeros([hidden]));
  const w2 = tf.variable(tf.randomUniform([hidden, T], -0.1, 0.1));
  const b2 = tf.variable(tf.zeros([T]));
  const optimizer = tf.train.adam(0.001);
  const dense = new Float32Array(batch * V);
  const step = (s: number) => {
    const ids = Int32Array.from({ length: batch }, (_, i) => (s * batch + i) % data.x.rows);
    const xb = selectRows(data.x, ids);
    dense.fill(0);
    for (let i = 0; i < xb.rows; i++) {
      for (let k = xb.indptr[i]!; k < xb.indptr[i + 1]!; k++) dense[i * V + xb.indices[k]!] = xb.values[k]!;
    }
    const yb = Float32Array.from({ length: batch * T }, (_, j) => {
      const v = data.y[ids[Math.floor(j / T)]! * T + (j % T)]!;
      return v === 1 ? 1 : 0;
    });
    tf.tidy(() => {
      const x = tf.tensor2d(dense, [batch, V]);
      const y = tf.tensor2d(yb, [batch, T]);
      const cost = optimizer.minimize(() => {
        const h = tf.relu(tf.add(tf.matMul(x, w1), b1));
        return tf.losses.sigmoidCrossEntropy(y, tf.add(tf.matMul(h, w2), b2));
      }, true);
      cost?.dataSync();
    });
  };
  step(0);
  const t0 = performance.now();
  for (let s = 1; s <= steps; s++) step(s);
  const seconds = (performance.now() - t0) / 1000;
  tf.dispose([w1, b1, w2, b2]);
  optimizer.dispose();
  return (steps * batch) / seconds;
}

/** One repeat of the peer comparison: mhmtl's and PyTorch's median epoch rates (units/s). */
interface PeerPair {
  mhmtl: number;
  mhmtlCpu: number;
  peer: number | null;
  peerCpu: number | null;
}

/**
 * Training benchmark (one core): MTL hard-sharing throughput in units/s at `nnzPerUnit`
 * non-zeros, `features` vocabulary, `hidden` units and `tasks` heads, against
 *  - its PyTorch peer on the same batch data (./peer_pytorch.py: EmbeddingBag(sparse=True) with
 *    per-sample weights, SparseAdam + Adam, one thread), `repeats` times in alternation (mhmtl,
 *    PyTorch, mhmtl, ...): each side's figure is the median over repeats of its median epoch rate
 *    over `epochs` epochs of a fresh network (the first epoch pays the first touch of the
 *    optimizer's memory on both sides), the ratio the median of the repeats' ratios; skipped with
 *    a note when python3 cannot import torch;
 *  - the same fit on `threads` threads (MHMTL_THREADS), after the one-thread fit of each repeat;
 *  - a minimal dense tfjs loop on the same backend;
 *  - and the MTL model's training time for all tasks against the per-task logistic regressions'
 *    on the same data (ratio > 1: MTL faster).
 */
export async function benchTrain(options: TrainBenchOptions = {}): Promise<BenchResult[]> {
  const units = options.units ?? BENCH_SHAPE.units;
  const features = options.features ?? BENCH_SHAPE.features;
  const nnz = options.nnzPerUnit ?? BENCH_SHAPE.nnzPerUnit;
  const hidden = options.hidden ?? BENCH_SHAPE.hidden;
  const T = options.tasks ?? BENCH_SHAPE.tasks;
  const batchSize = options.batchSize ?? BENCH_SHAPE.batchSize;
  const epochs = options.epochs ?? 3;
  const repeats = options.repeats ?? 3;
  const threads = options.threads ?? (os.availableParallelism() >= 2 ? 2 : 1);
  const backend = await initTensorflow();
  const data = syntheticSparseData(units, features, nnz, T, options.seed ?? 1);
  const sparseKernel = defaultSparseKernel().kernel;
  const extra = {
    backend,
    sparseKernel,
    features,
    nnzPerUnit: nnz,
    hidden,
    heads: T,
    batchSize,
    epochs,
    repeats,
    threads,
  };
  const training = { epochs, batchSize, seed: 1, minEpochs: epochs, patience: epochs };
  const fitMtl = async (threadCount = 1) => {
    const saved = process.env[THREADS_ENV];
    process.env[THREADS_ENV] = String(threadCount);
    try {
      const mtl = new NeuralModel({ tasks: data.tasks, architectureConfig: { hidden: [hidden] }, training });
      const cpu0 = process.cpuUsage();
      const fit = await mtl.fit(data);
      const cpuSeconds = cpuSecondsSince(cpu0);
      mtl.dispose();
      return { fit, cpuSeconds };
    } finally {
      if (saved === undefined) delete process.env[THREADS_ENV];
      else process.env[THREADS_ENV] = saved;
    }
  };

  const peerSkipped = options.peer === false ? 'disabled' : peerUnavailableReason();
  const posWeight = positiveWeights(
    'balanced',
    data.tasks,
    selectLabels(
      data.y,
      T,
      data.train,
      data.tasks.map((_, k) => k),
    ),
  );
  const peerDir = peerSkipped
    ? null
    : writePeerData(data, {
        hidden,
        batch: batchSize,
        epochs,
        seed: 1,
        learningRate: 0.001,
        dropout: HARD_SHARING_DEFAULTS.dropout,
        posWeight,
      });
  const pairs: PeerPair[] = [];
  /** Per repeat: the `threads`-thread fit's median epoch rate over the one-thread fit's. */
  const threadRatios: number[] = [];
  const threadRates: number[] = [];
  let first: Awaited<ReturnType<typeof fitMtl>> | null = null;
  let peerVersion = '';
  try {
    for (let r = 0; r < repeats; r++) {
      const run = await fitMtl();
      first ??= run;
      const pair: PeerPair = {
        mhmtl: median(run.fit.history.map((h) => h.unitsPerSecond)),
        mhmtlCpu: (units * run.fit.history.length) / run.cpuSeconds,
        peer: null,
        peerCpu: null,
      };
      if (peerDir) {
        const peer = runPeer(peerDir);
        peerVersion = peer.torch;
        pair.peer = median(peer.unitsPerSecond);
        pair.peerCpu = (units * peer.unitsPerSecond.length) / peer.cpuSeconds;
      }
      pairs.push(pair);
      if (threads > 1) {
        const multi = await fitMtl(threads);
        const rate = median(multi.fit.history.map((h) => h.unitsPerSecond));
        threadRates.push(rate);
        threadRatios.push(rate / pair.mhmtl);
      }
    }
  } finally {
    if (peerDir) removePeerData(peerDir);
  }
  const fit = first!.fit;
  const mtlCpuSeconds = first!.cpuSeconds;
  const mtlUnitsPerSecond = median(pairs.map((p) => p.mhmtl));

  const dense = denseBaselineUnitsPerSecond(data, hidden, batchSize, options.baselineSteps ?? 5);

  const lrStart = performance.now();
  const lrCpu0 = process.cpuUsage();
  for (const task of data.tasks) {
    // One C, so that each regression trains `epochs` epochs once, as the row says (the pipeline
    // tries every C of its grid: that many fits per task).
    const lr = new LogisticRegression([task], {
      epochs,
      minEpochs: epochs,
      patience: epochs,
      cGrid: [1],
      seed: 1,
    });
    await lr.fit(data);
  }
  const lrSeconds = (performance.now() - lrStart) / 1000;
  const lrCpuSeconds = cpuSecondsSince(lrCpu0);
  // On a loaded machine wall time mixes in other processes' load; CPU time of this process does not.
  const cpu = {
    mtlCpuSeconds,
    mtlUnitsPerCpuSecond: (units * fit.history.length) / mtlCpuSeconds,
    lrCpuSeconds,
    lrOverMtlCpu: lrCpuSeconds / mtlCpuSeconds,
  };
  const mtlName = `mtl hard_sharing (${backend}, sparse first layer: ${sparseKernel})`;
  const threadRow: BenchResult[] =
    threads > 1
      ? [
          {
            stage: 'train',
            name: `mtl hard_sharing ${threads} threads vs 1 thread (${THREADS_ENV}), median of ${repeats}`,
            users: units,
            unit: 'units/s',
            value: median(threadRates),
            baseline: 'mtl hard_sharing, 1 thread',
            baselineValue: mtlUnitsPerSecond,
            ratio: median(threadRatios),
            extra: {
              ...extra,
              threadRatioRepeats: threadRatios.map((r) => r.toFixed(2)).join(' '),
              loadAverage: os.loadavg()[0]!.toFixed(2),
            },
          },
        ]
      : [];
  const peerRow: BenchResult = peerDir
    ? {
        stage: 'train',
        name: `${mtlName} vs PyTorch, median of ${repeats}`,
        users: units,
        unit: 'units/s',
        value: mtlUnitsPerSecond,
        baseline: `PyTorch ${peerVersion} EmbeddingBag(sparse) + SparseAdam, 1 thread`,
        baselineValue: median(pairs.map((p) => p.peer!)),
        ratio: median(pairs.map((p) => p.mhmtl / p.peer!)),
        extra: {
          ...extra,
          mhmtlUnitsPerSecondRepeats: pairs.map((p) => Math.round(p.mhmtl)).join(' '),
          peerUnitsPerSecondRepeats: pairs.map((p) => Math.round(p.peer!)).join(' '),
          mhmtlUnitsPerCpuSecond: median(pairs.map((p) => p.mhmtlCpu)),
          peerUnitsPerCpuSecond: median(pairs.map((p) => p.peerCpu!)),
          cpuRatio: median(pairs.map((p) => p.mhmtlCpu / p.peerCpu!)),
          loadAverage: os.loadavg()[0]!.toFixed(2),
        },
      }
    : {
        stage: 'train',
        name: `${mtlName} vs PyTorch: skipped (${peerSkipped})`,
        users: units,
        unit: 'units/s',
        value: mtlUnitsPerSecond,
        baseline: null,
        baselineValue: null,
        ratio: null,
        extra: { ...extra, peerSkipped },
      };

  return [
    peerRow,
    ...threadRow,
    {
      stage: 'train',
      name: mtlName,
      users: units,
      unit: 'units/s',
      value: mtlUnitsPerSecond,
      baseline: 'hand-written tfjs loop, dense first layer',
      baselineValue: dense,
      ratio: mtlUnitsPerSecond / dense,
      extra: { ...extra, ...cpu },
    },
    {
      stage: 'train',
      name: `mtl all ${T} tasks vs ${T} per-task logistic regressions, ${epochs} epoch(s) each`,
      users: units,
      unit: 's',
      value: fit.trainSeconds,
      baseline: `${T} x logistic regression`,
      baselineValue: lrSeconds,
      ratio: lrSeconds / fit.trainSeconds,
      extra: { ...extra, ...cpu },
    },
  ];
}
