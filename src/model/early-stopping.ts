import { rocAuc } from '../evaluate/metrics.js';

/**
 * Model selection on the dev split, the same for every neural model of a run (MTL, its variants,
 * STL): after each epoch the criterion is computed on dev; the weights of the best epoch at or after
 * `minEpochs` are kept; training stops when `patience` epochs in a row (counted from `minEpochs`)
 * did not improve it.
 *
 * The default criterion is the dev loss: the mean over the main tasks (that have a dev label) of
 * the task's masked, positive-weighted binary cross-entropy on dev (the training objective,
 * measured on held-out units). Unlike the dev AUC, it is defined and smooth when a task has one to
 * three dev positives: a dev AUC over two positives jumps between 0, 0.5 and 1 and picked the first
 * epoch of nearly untrained single-task networks (the failure in issue #13 that scored test AUC
 * 0.16). `dev_auc` (mean dev AUC over the main tasks) remains available.
 */

/** The selection criterion. */
export type SelectionMetric = 'dev_loss' | 'dev_auc';

/** Per-task dev loss and AUC of one epoch, and their means over the main tasks. */
export interface DevScores {
  loss: Record<string, number | null>;
  auc: Record<string, number | null>;
  meanLoss: number | null;
  meanAuc: number | null;
}

/**
 * Dev loss and AUC per task from probabilities `[units x tasks]` and labels (1, 0, NaN unknown):
 * loss_t = mean over units with a known label of `-(w_t y log p + (1 - y) log(1 - p))`, p clipped to
 * [1e-7, 1 - 1e-7], w_t the task's positive weight; AUC as {@link rocAuc} (null with one class).
 * Means over `mainTasks` skip nulls (a task without dev labels, or one class for the AUC).
 */
export function devScores(
  probabilities: Float32Array,
  labels: Float32Array,
  tasks: readonly string[],
  mainTasks: readonly string[],
  posWeight: Float32Array,
): DevScores {
  const t = tasks.length;
  const n = probabilities.length / t;
  const loss: Record<string, number | null> = {};
  const auc: Record<string, number | null> = {};
  const s = new Float32Array(n);
  const l = new Float32Array(n);
  const mainLoss: number[] = [];
  const mainAuc: number[] = [];
  tasks.forEach((name, k) => {
    let sum = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      const p = Math.min(1 - 1e-7, Math.max(1e-7, probabilities[i * t + k]!));
      const y = labels[i * t + k]!;
      s[i] = probabilities[i * t + k]!;
      l[i] = y;
      if (y === 1) {
        sum -= posWeight[k]! * Math.log(p);
        count++;
      } else if (y === 0) {
        sum -= Math.log(1 - p);
        count++;
      }
    }
    loss[name] = count > 0 ? sum / count : null;
    auc[name] = n > 0 ? rocAuc(s, l) : null;
    if (mainTasks.includes(name)) {
      if (loss[name] !== null) mainLoss.push(loss[name]!);
      if (auc[name] !== null) mainAuc.push(auc[name]!);
    }
  });
  const mean = (v: number[]) => (v.length > 0 ? v.reduce((a, b) => a + b, 0) / v.length : null);
  return { loss, auc, meanLoss: mean(mainLoss), meanAuc: mean(mainAuc) };
}

/** Per-task dev AUC and their mean over `mainTasks` (tasks with one class on dev skipped). */
export function devAucs(
  scores: Float32Array,
  labels: Float32Array,
  tasks: readonly string[],
  mainTasks: readonly string[],
): { perTask: Record<string, number | null>; mean: number | null } {
  const d = devScores(scores, labels, tasks, mainTasks, new Float32Array(tasks.length).fill(1));
  return { perTask: d.auc, mean: d.meanAuc };
}

/** Options of {@link EarlyStopping}. */
export interface SelectionConfig {
  metric: SelectionMetric;
  /** Epochs before the first that may be selected or count toward patience; >= 1. */
  minEpochs: number;
  /** Stop after this many epochs without a better criterion; >= 1. */
  patience: number;
}

/** Tracks the best epoch by the selection criterion (lower dev loss, or higher dev AUC). */
export class EarlyStopping {
  private bestEpoch: number | null = null;
  private bestValue = 0;

  constructor(private readonly config: SelectionConfig) {}

  /** The criterion's value of an epoch's dev scores (null when undefined, e.g. no dev labels). */
  value(scores: DevScores | null): number | null {
    if (!scores) return null;
    return this.config.metric === 'dev_loss' ? scores.meanLoss : scores.meanAuc;
  }

  /**
   * Record epoch `epoch`'s criterion; true when it is the new best (the caller snapshots the
   * weights then). Epochs before `minEpochs` and null values are never best.
   */
  offer(epoch: number, value: number | null): boolean {
    if (value === null || epoch < this.config.minEpochs) return false;
    const better =
      this.bestEpoch === null ||
      (this.config.metric === 'dev_loss' ? value < this.bestValue : value > this.bestValue);
    if (better) {
      this.bestEpoch = epoch;
      this.bestValue = value;
    }
    return better;
  }

  /** True when training should stop after `epoch`: `patience` epochs since the best. */
  shouldStop(epoch: number): boolean {
    return this.bestEpoch !== null && epoch - this.bestEpoch >= this.config.patience;
  }

  /** The selected epoch, or null when no epoch had a criterion (then the last epoch's weights are kept). */
  get best(): number | null {
    return this.bestEpoch;
  }
}
