import { UsageError } from '../../errors.js';
import { type CsrMatrix, selectRows } from '../../features/csr.js';
import { rocAuc } from '../../evaluate/metrics.js';
import { topologyJson } from '../architectures/architecture.js';
import type { FeatureAttribution } from '../attribution.js';
import { decodeWeights, exportDenseStack } from '../io/layers-graph.js';
import { DEFAULT_POS_WEIGHT_CAP, type PosWeightSetting, positiveWeights } from '../losses.js';
import { RowOptimizer } from '../optimizers.js';
import { Random } from '../random.js';
import { selectLabels, taskColumns } from '../labels.js';
import type {
  EpochRecord,
  FitOptions,
  Model,
  ModelArtifact,
  TrainingData,
  TrainingResult,
} from '../types.js';

/** Options of the logistic-regression baseline. */
export interface LogisticRegressionConfig {
  /** Adagrad learning rate; default 0.5. */
  learningRate: number;
  /** Adagrad initial accumulator; default 1e-3 (small, so rare features still move). */
  initialAccumulator: number;
  /** Units per step; default 32. */
  batchSize: number;
  /** Maximum epochs; default 20. */
  epochs: number;
  /** Early stopping: stop when the dev loss has not improved for this many epochs; default 3. */
  patience: number;
  /** Epochs always trained before early stopping may stop; default 3. */
  minEpochs: number;
  /**
   * Inverse regularization strengths C tried (scikit-learn's `Cs`): the L2 coefficient is
   * 1 / (2 C n) with n the task's labelled training units; the C with the lowest dev loss is kept.
   * Default [0.01, 0.1, 1, 10, 100].
   */
  cGrid: number[];
  /**
   * A fixed L2 coefficient (loss += l2 |w|^2, applied to the features of each batch) instead of a
   * choice from cGrid; default null (choose).
   */
  l2: number | null;
  /** As the network's; default 'balanced'. */
  posWeight: PosWeightSetting;
  posWeightCap: number;
  seed: number;
}

export const LOGISTIC_REGRESSION_DEFAULTS: LogisticRegressionConfig = {
  learningRate: 0.5,
  initialAccumulator: 1e-3,
  batchSize: 32,
  epochs: 20,
  patience: 3,
  minEpochs: 3,
  cGrid: [0.01, 0.1, 1, 10, 100],
  l2: null,
  posWeight: 'balanced',
  posWeightCap: DEFAULT_POS_WEIGHT_CAP,
  seed: 1,
};

/** C when a task has no labelled dev unit to choose it on (scikit-learn's LogisticRegression default). */
const DEFAULT_C = 1;

/** What was chosen for one task: its regularization, best epoch and dev loss there. */
export interface LogisticRegressionChoice {
  /** The chosen C (null with a fixed l2). */
  c: number | null;
  l2: number;
  epoch: number;
  /** The dev loss at that epoch (weighted as the training loss); null without labelled dev units. */
  devLoss: number | null;
  /** Dev loss of each C tried, at its best epoch, in cGrid order. */
  grid: { c: number; devLoss: number | null; epoch: number }[];
}

/**
 * L2-regularized logistic regression, one independent model per task, on the CSR features: the
 * baseline of Benton et al. (EACL 2017, Section 5). Trained by minibatch Adagrad (Duchi et al.
 * 2011) with lazy per-feature updates, so an epoch costs O(nnz); units with an unknown label for
 * a task are skipped for that task; positives weighted as the network's loss.
 *
 * Selection, per task, as scikit-learn's LogisticRegressionCV with a held-out dev split: for every
 * C of `cGrid` (L2 coefficient 1 / (2 C n)) the model trains with early stopping on the dev loss
 * (the weighted log-loss of the training objective, measured on the task's labelled dev units):
 * at least `minEpochs` epochs, then stop when `patience` epochs have not improved on the best,
 * which is kept; the C whose best dev loss is lowest wins (ties: the smaller C, the stronger
 * regularization). The dev loss uses every labelled dev unit, so it exists with a single dev
 * positive where a dev AUC is undefined or decided by one unit. A task without labelled dev
 * units trains `epochs` epochs with C = 1. Deterministic for a seed. The pipeline trains one per
 * task (`lr:<task>`); it exports as a single Dense(tasks, sigmoid) layer.
 */
export class LogisticRegression implements Model {
  readonly architecture = 'logistic_regression';
  readonly tasks: readonly string[];
  readonly auxTasks: readonly string[] = [];
  readonly config: LogisticRegressionConfig;
  /** `[features x tasks]` and `[tasks]`. */
  private kernel: Float32Array | null = null;
  private bias: Float32Array | null = null;
  private inputDim = 0;
  private result: TrainingResult | null = null;

  /** Per task, what selection chose (after fit). */
  readonly choices: Record<string, LogisticRegressionChoice> = {};

  /** @throws UsageError on a bad option, or both a fixed l2 and a cGrid given. */
  constructor(tasks: readonly string[], config: Partial<LogisticRegressionConfig> = {}) {
    if (tasks.length === 0) throw new UsageError('logistic regression needs at least one task');
    this.tasks = [...tasks];
    if (config.l2 != null && config.cGrid !== undefined)
      throw new UsageError(
        'give the logistic regression either l2 (fixed) or c_grid (chosen on dev), not both',
      );
    this.config = { ...LOGISTIC_REGRESSION_DEFAULTS, ...config };
    const c = this.config;
    if (!(c.learningRate > 0)) throw new UsageError(`learningRate must be > 0, got ${c.learningRate}`);
    if (!Number.isInteger(c.batchSize) || c.batchSize < 1) throw new UsageError('batchSize must be >= 1');
    if (!Number.isInteger(c.epochs) || c.epochs < 1) throw new UsageError('epochs must be >= 1');
    if (!Number.isInteger(c.minEpochs) || c.minEpochs < 1) throw new UsageError('minEpochs must be >= 1');
    if (!Number.isInteger(c.patience) || c.patience < 1) throw new UsageError('patience must be >= 1');
    if (c.l2 !== null && !(c.l2 >= 0)) throw new UsageError(`l2 must be >= 0, got ${c.l2}`);
    if (c.cGrid.length === 0 || c.cGrid.some((x) => !(x > 0)))
      throw new UsageError(`c_grid must hold numbers > 0, got [${c.cGrid.join(', ')}]`);
  }

  /**
   * Fit every task independently on `data.train`, early stopping per task on `data.dev`.
   * `history[e].loss[task]` is the task's mean training loss of epoch e+1 (absent once it stopped).
   * @throws UsageError when a task is missing from the labels.
   */
  async fit(data: TrainingData, options: FitOptions = {}): Promise<TrainingResult> {
    const started = performance.now();
    const columns = taskColumns(data.tasks, this.tasks);
    const T = this.tasks.length;
    const V = data.x.cols;
    this.inputDim = V;
    this.kernel = new Float32Array(V * T);
    this.bias = new Float32Array(T);
    const history: EpochRecord[] = [];
    const bestEpochs: number[] = [];
    for (let k = 0; k < T; k++) {
      options.signal?.throwIfAborted();
      const { weights, bias, best } = this.fitTask(
        data,
        columns[k]!,
        this.tasks[k]!,
        history,
        options.signal,
      );
      for (let f = 0; f < V; f++) this.kernel[f * T + k] = weights[f]!;
      this.bias[k] = bias;
      bestEpochs.push(best);
      await new Promise((resolve) => setImmediate(resolve));
    }
    for (const r of history) options.onEpoch?.(r);
    this.result = {
      history,
      bestEpoch: Math.max(1, ...bestEpochs),
      trainSeconds: (performance.now() - started) / 1000,
    };
    return this.result;
  }

  /** Select and fit one task (see the class comment); its per-epoch records go into `history`. */
  private fitTask(
    data: TrainingData,
    column: number,
    task: string,
    history: EpochRecord[],
    signal?: AbortSignal,
  ): { weights: Float32Array; bias: number; best: number } {
    const c = this.config;
    const width = data.tasks.length;
    const all = selectLabels(data.y, width, data.train, [column]);
    const rows: number[] = [];
    for (let i = 0; i < all.length; i++) if (all[i] === 0 || all[i] === 1) rows.push(data.train[i]!);
    const posWeight = positiveWeights(c.posWeight, [task], all, c.posWeightCap)[0]!;
    const yDev = selectLabels(data.y, width, data.dev, [column]);
    const devKnown = yDev.some((v) => v === 0 || v === 1);
    const xDev = devKnown ? selectRows(data.x, data.dev) : null;
    const n = Math.max(1, rows.length);
    const candidates =
      c.l2 !== null
        ? [{ c: null, l2: c.l2 }]
        : (devKnown ? [...c.cGrid].sort((x, y) => x - y) : [DEFAULT_C]).map((x) => ({
            c: x,
            l2: 1 / (2 * x * n),
          }));
    let chosen: (ReturnType<LogisticRegression['trainOne']> & { c: number | null; l2: number }) | null = null;
    const grid: LogisticRegressionChoice['grid'] = [];
    for (const candidate of candidates) {
      const run = this.trainOne(data, rows, column, posWeight, candidate.l2, xDev, yDev, signal);
      if (candidate.c !== null) grid.push({ c: candidate.c, devLoss: run.devLoss, epoch: run.epoch });
      if (
        chosen === null ||
        (run.devLoss !== null && chosen.devLoss !== null && run.devLoss < chosen.devLoss)
      )
        chosen = { ...run, ...candidate };
    }
    const best = chosen!;
    for (const [e, record] of best.records.entries()) {
      let r = history[e];
      if (!r) {
        r = { epoch: e + 1, loss: {}, devAuc: {}, devMeanAuc: null, seconds: 0, unitsPerSecond: 0 };
        history[e] = r;
      }
      r.loss[task] = record.loss;
      r.devAuc[task] = record.devAuc;
      r.seconds += record.seconds;
      r.unitsPerSecond = rows.length / Math.max(record.seconds, 1e-9);
      const aucs = Object.values(r.devAuc).filter((a): a is number => a !== null);
      r.devMeanAuc = aucs.length > 0 ? aucs.reduce((a, v) => a + v, 0) / aucs.length : null;
    }
    this.choices[task] = { c: best.c, l2: best.l2, epoch: best.epoch, devLoss: best.devLoss, grid };
    return { weights: best.weights, bias: best.bias, best: best.epoch };
  }

  /**
   * Train one task with one L2 coefficient, early stopping on the dev loss (at least minEpochs,
   * then patience), keeping the best epoch's weights; without labelled dev units, all epochs.
   */
  private trainOne(
    data: TrainingData,
    rows: readonly number[],
    column: number,
    posWeight: number,
    l2: number,
    xDev: CsrMatrix | null,
    yDev: Float32Array,
    signal?: AbortSignal,
  ): {
    weights: Float32Array;
    bias: number;
    epoch: number;
    devLoss: number | null;
    records: { loss: number; devAuc: number | null; seconds: number }[];
  } {
    const c = this.config;
    const V = data.x.cols;
    const width = data.tasks.length;
    const order = Int32Array.from(rows);
    const w = new Float32Array(V);
    const b = new Float32Array(1);
    const optimizer = {
      name: 'adagrad',
      learningRate: c.learningRate,
      initialAccumulator: c.initialAccumulator,
    } as const;
    const opt = new RowOptimizer(optimizer, V, 1);
    const biasOpt = new RowOptimizer(optimizer, 1, 1);
    const grad = new Float32Array(V);
    const touched = new Int32Array(V);
    const seen = new Uint8Array(V);
    const g1 = new Float32Array(1);
    const random = new Random(c.seed + column * 7919);
    const { indptr, indices, values } = data.x;
    const records: { loss: number; devAuc: number | null; seconds: number }[] = [];
    let best: { epoch: number; devLoss: number | null; w: Float32Array; b: number } = {
      epoch: 0,
      devLoss: null,
      w: w.slice(),
      b: 0,
    };
    for (let epoch = 1; epoch <= c.epochs; epoch++) {
      signal?.throwIfAborted();
      const t0 = performance.now();
      random.shuffle(order);
      let lossSum = 0;
      for (let s = 0; s < order.length; s += c.batchSize) {
        const end = Math.min(order.length, s + c.batchSize);
        const n = end - s;
        let nTouched = 0;
        let gb = 0;
        for (let j = s; j < end; j++) {
          const r = order[j]!;
          const y = data.y[r * width + column]!;
          let z = b[0]!;
          for (let q = indptr[r]!; q < indptr[r + 1]!; q++) z += values[q]! * w[indices[q]!]!;
          const weight = y === 1 ? posWeight : 1;
          lossSum += weight * logLoss(z, y);
          const d = (weight * (1 / (1 + Math.exp(-z)) - y)) / n;
          gb += d;
          for (let q = indptr[r]!; q < indptr[r + 1]!; q++) {
            const f = indices[q]!;
            if (!seen[f]) {
              seen[f] = 1;
              touched[nTouched++] = f;
              grad[f] = 0;
            }
            grad[f]! += d * values[q]!;
          }
        }
        opt.beginStep();
        biasOpt.beginStep();
        for (let t = 0; t < nTouched; t++) {
          const f = touched[t]!;
          grad[f]! += 2 * l2 * w[f]!;
          opt.updateRow(w, f, grad, f);
          seen[f] = 0;
        }
        g1[0] = gb;
        biasOpt.updateRow(b, 0, g1, 0);
      }
      const loss = order.length > 0 ? lossSum / order.length : 0;
      if (!Number.isFinite(loss))
        throw new UsageError(`logistic regression diverged on task '${this.tasks[0]}' in epoch ${epoch}`);
      let devLoss: number | null = null;
      let devAuc: number | null = null;
      if (xDev) {
        const z = scoreLinear(xDev, w, b[0]!);
        devAuc = rocAuc(z, yDev);
        let sum = 0;
        let count = 0;
        for (let i = 0; i < z.length; i++) {
          const y = yDev[i];
          if (y !== 0 && y !== 1) continue;
          sum += (y === 1 ? posWeight : 1) * logLoss(z[i]!, y);
          count++;
        }
        devLoss = sum / count;
      }
      records.push({ loss, devAuc, seconds: (performance.now() - t0) / 1000 });
      if (devLoss === null) {
        best = { epoch, devLoss: null, w, b: b[0]! };
      } else if (best.devLoss === null || devLoss < best.devLoss) {
        best = { epoch, devLoss, w: w.slice(), b: b[0]! };
      } else if (epoch >= c.minEpochs && epoch - best.epoch >= c.patience) {
        break;
      }
    }
    return { weights: best.w, bias: best.b, epoch: best.epoch, devLoss: best.devLoss, records };
  }

  predict(x: CsrMatrix): Float32Array {
    if (!this.kernel || !this.bias) throw new Error('model is not trained');
    if (x.cols !== this.inputDim) throw new Error(`input has ${x.cols} features, model ${this.inputDim}`);
    const T = this.tasks.length;
    const out = new Float32Array(x.rows * T);
    for (let i = 0; i < x.rows; i++) {
      for (let k = 0; k < T; k++) {
        let z = this.bias[k]!;
        for (let q = x.indptr[i]!; q < x.indptr[i + 1]!; q++)
          z += x.values[q]! * this.kernel[x.indices[q]! * T + k]!;
        out[i * T + k] = 1 / (1 + Math.exp(-z));
      }
    }
    return out;
  }

  /**
   * The coefficients of each task's model: `weights[k][f]` is the change of task k's logit per
   * unit of feature f's TF-IDF value (its L2-regularized maximum-likelihood estimate, as
   * scikit-learn's `coef_`). The same for every unit, so `x` and the units are not used.
   * @throws Error before fit or load.
   */
  featureAttribution(_x?: CsrMatrix, _unitsByTask?: readonly ArrayLike<number>[]): FeatureAttribution {
    const kernel = this.kernel;
    if (!kernel) throw new Error('model is not trained');
    const T = this.tasks.length;
    const weights = this.tasks.map((_, k) =>
      Float64Array.from({ length: this.inputDim }, (_, f) => kernel[f * T + k]!),
    );
    return { method: 'coefficient', weights, units: this.tasks.map(() => null) };
  }

  async toArtifact(): Promise<ModelArtifact> {
    if (!this.kernel || !this.bias) throw new Error('model is not trained');
    const exported = await exportDenseStack([this.inputDim, this.tasks.length], 'linear', [
      this.kernel,
      this.bias,
    ]);
    return {
      architecture: this.architecture,
      config: { ...this.config, chosen: this.choices },
      tasks: [...this.tasks],
      auxTasks: [],
      backend: 'js',
      history: this.result?.history ?? [],
      bestEpoch: this.result?.bestEpoch ?? null,
      trainSeconds: this.result?.trainSeconds ?? null,
      inputDim: this.inputDim,
      topology: topologyJson(exported),
      weights: exported.weightData,
    };
  }

  /** Rebuild from an artifact. */
  static fromArtifact(artifact: ModelArtifact): LogisticRegression {
    const { chosen: _chosen, ...config } = artifact.config as Partial<LogisticRegressionConfig> & {
      chosen?: unknown;
    };
    // A fixed l2 was stored beside the default grid: keep the l2 (the grid was not used).
    if (config.l2 != null) delete config.cGrid;
    const model = new LogisticRegression(artifact.tasks, config);
    const [kernel, bias] = decodeWeights(artifact.topology.weightSpecs, artifact.weights);
    model.kernel = kernel!.slice();
    model.bias = bias!.slice();
    model.inputDim = artifact.inputDim;
    model.result = {
      history: artifact.history,
      bestEpoch: artifact.bestEpoch ?? 1,
      trainSeconds: artifact.trainSeconds ?? 0,
    };
    return model;
  }

  dispose(): void {
    this.kernel = null;
    this.bias = null;
  }
}

/** Binary cross-entropy of logit z against label y, computed stably: max(z, 0) - z y + log(1 + e^-|z|). */
function logLoss(z: number, y: number): number {
  return Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z)));
}

function scoreLinear(x: CsrMatrix, w: Float32Array, b: number): Float32Array {
  const out = new Float32Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let z = b;
    for (let q = x.indptr[i]!; q < x.indptr[i + 1]!; q++) z += x.values[q]! * w[x.indices[q]!]!;
    out[i] = z;
  }
  return out;
}
