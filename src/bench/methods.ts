import { initTensorflow } from '../model/backend.js';
import { defaultSparseKernel } from '../model/layers/sparse-dense.js';
import { NeuralModel } from '../model/neural-model.js';
import type { TrainingData } from '../model/types.js';
import type { WeightingConfig } from '../model/weighting/index.js';
import { BENCH_SHAPE, syntheticSparseData } from './train.js';
import { median } from './measure.js';
import type { BenchResult } from './types.js';

/** One multi-task method measured by the bench: an architecture with its options, or hard sharing with a task weighting. */
export interface BenchMethod {
  /** Row name: the architecture's or the weighting method's registered name. */
  name: string;
  kind: 'architecture' | 'weighting';
  architecture: string;
  /** The architecture's options (pipeline spelling); `hidden` [256] unless a tower architecture. */
  config: Record<string, unknown>;
  weighting: WeightingConfig;
}

const HARD: Record<string, unknown> = { hidden: [BENCH_SHAPE.hidden] };
const FIXED: WeightingConfig = { method: 'fixed' };

/**
 * The methods `npm run bench` measures at the bench shape, each against hard sharing with fixed
 * weights in the same child process. Tower architectures (one tower per task) get towers of 64
 * units, as in `pipelines/architectures.json`: 11 towers of 256 would be a 2,816-unit first layer.
 */
export const BENCH_METHODS: readonly BenchMethod[] = [
  {
    name: 'soft_sharing',
    kind: 'architecture',
    architecture: 'soft_sharing',
    config: { hidden: [64], coupling: 'l2' },
    weighting: FIXED,
  },
  {
    name: 'cross_stitch',
    kind: 'architecture',
    architecture: 'cross_stitch',
    config: { hidden: [64] },
    weighting: FIXED,
  },
  {
    name: 'sluice',
    kind: 'architecture',
    architecture: 'sluice',
    config: { hidden: [64] },
    weighting: FIXED,
  },
  {
    name: 'task_depth',
    kind: 'architecture',
    architecture: 'task_depth',
    config: { hidden: [256, 128], task_layers: { task0: 1 } },
    weighting: FIXED,
  },
  { name: 'mmoe', kind: 'architecture', architecture: 'mmoe', config: {}, weighting: FIXED },
  {
    name: 'deep_relationship',
    kind: 'architecture',
    architecture: 'deep_relationship',
    config: {},
    weighting: FIXED,
  },
  {
    name: 'fully_adaptive',
    kind: 'architecture',
    architecture: 'fully_adaptive',
    config: { hidden: [64, 32] },
    weighting: FIXED,
  },
  ...['uncertainty', 'dwa', 'gradnorm', 'pcgrad', 'rlw'].map(
    (method): BenchMethod => ({
      name: method,
      kind: 'weighting',
      architecture: 'hard_sharing',
      config: HARD,
      weighting: { method },
    }),
  ),
];

/**
 * Training units/s of one model on `data` over `epochs` epochs (the training steps only: each
 * epoch's own throughput, as the trainer's history gives it), with the seconds of the whole fit.
 */
async function unitsPerSecond(
  data: TrainingData,
  architecture: string,
  config: Record<string, unknown>,
  weighting: WeightingConfig,
  epochs: number,
): Promise<{ unitsPerSecond: number; fitSeconds: number }> {
  const model = new NeuralModel({
    tasks: data.tasks,
    architecture,
    architectureConfig: config,
    training: { epochs, batchSize: BENCH_SHAPE.batchSize, seed: 1, weighting },
  });
  try {
    const fit = await model.fit(data);
    const stepSeconds = fit.history.reduce((s, h) => s + data.x.rows / h.unitsPerSecond, 0);
    return { unitsPerSecond: (data.x.rows * fit.history.length) / stepSeconds, fitSeconds: fit.trainSeconds };
  } finally {
    model.dispose();
  }
}

/**
 * Training throughput of one multi-task method (an architecture of `src/model/architectures/` or
 * a task weighting of `src/model/weighting/`) at the bench shape (default 2,000 units, 100,000
 * features, 300 non-zeros per unit, 11 tasks, batch 64, one epoch), in units/s, against hard
 * sharing with fixed weights (256 hidden) trained in the same process, alternated with it after a
 * warm-up: medians of `rounds` rounds, ratio = the median of the rounds' method / hard sharing
 * (< 1: the method is slower). The child process that runs it gives the
 * peak RSS of both trainings together (hard sharing's is the smaller, see the `train` stage).
 * @throws Error for a name that is not in {@link BENCH_METHODS}.
 */
export async function benchMethod(
  name: string,
  options: {
    units?: number;
    features?: number;
    nnzPerUnit?: number;
    tasks?: number;
    epochs?: number;
    /** Alternations of hard sharing and the method; default 3. */
    rounds?: number;
  } = {},
): Promise<BenchResult[]> {
  const method = BENCH_METHODS.find((m) => m.name === name);
  if (!method)
    throw new Error(`no bench method '${name}' (methods: ${BENCH_METHODS.map((m) => m.name).join(', ')})`);
  const units = options.units ?? BENCH_SHAPE.units;
  const features = options.features ?? BENCH_SHAPE.features;
  const nnz = options.nnzPerUnit ?? BENCH_SHAPE.nnzPerUnit;
  const tasks = options.tasks ?? BENCH_SHAPE.tasks;
  const epochs = options.epochs ?? 1;
  const rounds = options.rounds ?? 3;
  const backend = await initTensorflow();
  const data = syntheticSparseData(units, features, nnz, tasks, 1);
  // Warm-up (kernels compiled, memories grown), then hard sharing and the method alternated
  // `rounds` times: the medians, and the median of the rounds' ratios, so that neither side gets
  // the first epoch's page faults or a noisy minute alone.
  await unitsPerSecond(data, 'hard_sharing', HARD, FIXED, 1);
  const hardRuns: { unitsPerSecond: number; fitSeconds: number }[] = [];
  const runs: { unitsPerSecond: number; fitSeconds: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    hardRuns.push(await unitsPerSecond(data, 'hard_sharing', HARD, FIXED, epochs));
    runs.push(await unitsPerSecond(data, method.architecture, method.config, method.weighting, epochs));
  }
  const hard = {
    unitsPerSecond: median(hardRuns.map((h) => h.unitsPerSecond)),
    fitSeconds: median(hardRuns.map((h) => h.fitSeconds)),
  };
  const it = {
    unitsPerSecond: median(runs.map((h) => h.unitsPerSecond)),
    fitSeconds: median(runs.map((h) => h.fitSeconds)),
  };
  const ratio = median(runs.map((m, i) => m.unitsPerSecond / hardRuns[i]!.unitsPerSecond));
  return [
    {
      stage: 'methods',
      name: `${method.kind} ${method.name}`,
      users: units,
      unit: 'units/s',
      value: it.unitsPerSecond,
      baseline: 'hard_sharing, fixed weights (same data, same process)',
      baselineValue: hard.unitsPerSecond,
      ratio,
      extra: {
        backend,
        sparseKernel: defaultSparseKernel().kernel,
        architecture: method.architecture,
        options: JSON.stringify(method.config),
        weighting: JSON.stringify(method.weighting),
        features,
        nnzPerUnit: nnz,
        heads: tasks,
        batchSize: BENCH_SHAPE.batchSize,
        epochs,
        rounds,
        fitSeconds: Number(it.fitSeconds.toFixed(2)),
        hardSharingFitSeconds: Number(hard.fitSeconds.toFixed(2)),
      },
    },
  ];
}
