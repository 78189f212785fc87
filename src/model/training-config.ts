import { UsageError } from '../errors.js';
import type { SelectionMetric } from './early-stopping.js';
import { DEFAULT_POS_WEIGHT_CAP, type PosWeightSetting } from './losses.js';
import type { WeightingConfig } from './weighting/index.js';

/** Training options of a neural model (the pipeline file's `training` block). */
export interface TrainingConfig {
  /** 'adam' (default) or 'adagrad'. */
  optimizer: 'adam' | 'adagrad';
  /** Default 0.001 (Adam) / 0.05 (Adagrad). */
  learningRate: number;
  /** Units per step; default 64. */
  batchSize: number;
  /** Maximum number of epochs; default 30. */
  epochs: number;
  /** Stop after this many epochs without a better selection criterion on dev; default 5. */
  patience: number;
  /** The selection criterion on dev (src/model/early-stopping.ts): 'dev_loss' (default) or 'dev_auc'. */
  selection: SelectionMetric;
  /** The first epoch that may be selected; default 1. */
  minEpochs: number;
  /** L2 coefficient on weight matrices; default 1e-6. */
  l2: number;
  /** Positive-class weight per task; default 'balanced' (negatives/positives on train, in [1, cap]). */
  posWeight: PosWeightSetting;
  /** Cap of the 'balanced' positive weight; default 10. */
  posWeightCap: number;
  /** Task weighting strategy; default fixed weights of 1. */
  weighting: WeightingConfig;
  /** Seed of initial weights, shuffling and dropout; default 1. */
  seed: number;
}

/** Defaults of {@link TrainingConfig} (learningRate depends on the optimizer: see resolveTrainingConfig). */
export const TRAINING_DEFAULTS: Omit<TrainingConfig, 'learningRate'> = {
  optimizer: 'adam',
  batchSize: 64,
  epochs: 30,
  patience: 5,
  selection: 'dev_loss',
  minEpochs: 1,
  l2: 1e-6,
  posWeight: 'balanced',
  posWeightCap: DEFAULT_POS_WEIGHT_CAP,
  weighting: { method: 'fixed' },
  seed: 1,
};

/** Fill defaults and check ranges. @throws UsageError on a bad value. */
export function resolveTrainingConfig(config: Partial<TrainingConfig> = {}): TrainingConfig {
  const optimizer = config.optimizer ?? TRAINING_DEFAULTS.optimizer;
  const c: TrainingConfig = {
    ...TRAINING_DEFAULTS,
    ...config,
    optimizer,
    learningRate: config.learningRate ?? (optimizer === 'adagrad' ? 0.05 : 0.001),
  };
  if (c.optimizer !== 'adam' && c.optimizer !== 'adagrad') {
    throw new UsageError(`unknown optimizer '${String(c.optimizer)}' (known: adam, adagrad)`);
  }
  const positiveInt = (name: string, v: number, min: number) => {
    if (!Number.isInteger(v) || v < min)
      throw new UsageError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  positiveInt('batchSize', c.batchSize, 1);
  positiveInt('epochs', c.epochs, 1);
  positiveInt('patience', c.patience, 1);
  positiveInt('minEpochs', c.minEpochs, 1);
  if (c.selection !== 'dev_loss' && c.selection !== 'dev_auc')
    throw new UsageError(`unknown selection '${String(c.selection)}' (known: dev_loss, dev_auc)`);
  if (!(c.learningRate > 0)) throw new UsageError(`learningRate must be > 0, got ${c.learningRate}`);
  if (!(c.l2 >= 0)) throw new UsageError(`l2 must be >= 0, got ${c.l2}`);
  if (!(c.posWeightCap >= 1)) throw new UsageError(`posWeightCap must be >= 1, got ${c.posWeightCap}`);
  if (!Number.isInteger(c.seed)) throw new UsageError(`seed must be an integer, got ${c.seed}`);
  return c;
}
