import { UsageError } from '../../errors.js';
import { type CsrMatrix, selectRows } from '../../features/csr.js';
import { rocAuc } from '../../evaluate/metrics.js';
import { topologyJson } from '../architectures/architecture.js';
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
  /** Early stopping patience on the task's dev AUC; default 3. */
  patience: number;
  /** L2 coefficient (loss += l2 * |w|^2, applied to the features of each batch); default 1e-6. */
  l2: number;
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
  l2: 1e-6,
  posWeight: 'balanced',
  posWeightCap: DEFAULT_POS_WEIGHT_CAP,
  seed: 1,
};

/**
 * L2-regularized logistic regression, one independent model per task, on the CSR features: the
 * baseline of Benton et al. (EACL 2017, Section 5). Trained by minibatch Adagrad (Duchi et al.
 * 2011) with lazy per-feature updates, so an epoch costs O(nnz); units with an unknown label for
 * a task are skipped for that task; positives weighted as the network's loss; early stopping on
 * the task's dev AUC, keeping the best epoch. Deterministic for a seed. The pipeline trains one
 * per task (`lr:<task>`); it exports as a single Dense(tasks, sigmoid) layer.
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

  constructor(tasks: readonly string[], config: Partial<LogisticRegressionConfig> = {}) {
    if (tasks.length === 0) throw new UsageError('logistic regression needs at least one task');
    this.tasks = [...tasks];
    this.config = { ...LOGISTIC_REGRESSION_DEFAULTS, ...config };
    const c = this.config;
    if (!(c.learningRate > 0)) throw new UsageError(`learningRate must be > 0, got ${c.learningRate}`);
    if (!Number.isInteger(c.batchSize) || c.batchSize < 1) throw new UsageError('batchSize must be >= 1');
    if (!Number.isInteger(c.epochs) || c.epochs < 1) throw new UsageError('epochs must be >= 1');
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

  private fitTask(
    data: TrainingData,
    column: number,
    task: string,
    history: EpochRecord[],
    signal?: AbortSignal,
  ): { weights: Float32Array; bias: number; best: number } {
    const c = this.config;
    const V = data.x.cols;
    const width = data.tasks.length;
    const all = selectLabels(data.y, width, data.train, [column]);
    const rows: number[] = [];
    for (let i = 0; i < all.length; i++) if (all[i] === 0 || all[i] === 1) rows.push(data.train[i]!);
    const order = Int32Array.from(rows);
    const posWeight = positiveWeights(c.posWeight, [task], all, c.posWeightCap)[0]!;
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
    const xDev = data.dev.length > 0 ? selectRows(data.x, data.dev) : null;
    const yDev = selectLabels(data.y, width, data.dev, [column]);
    const random = new Random(c.seed + column * 7919);
    const { indptr, indices, values } = data.x;
    let best = { epoch: 0, auc: -1, w: w.slice(), b: 0 };
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
          lossSum += weight * (Math.max(z, 0) - z * y + Math.log1p(Math.exp(-Math.abs(z))));
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
          grad[f]! += 2 * c.l2 * w[f]!;
          opt.updateRow(w, f, grad, f);
          seen[f] = 0;
        }
        g1[0] = gb;
        biasOpt.updateRow(b, 0, g1, 0);
      }
      const seconds = (performance.now() - t0) / 1000;
      const loss = order.length > 0 ? lossSum / order.length : 0;
      if (!Number.isFinite(loss))
        throw new UsageError(`logistic regression diverged on task '${task}' in epoch ${epoch}`);
      const auc = xDev ? rocAuc(scoreLinear(xDev, w, b[0]!), yDev) : null;
      let record = history[epoch - 1];
      if (!record) {
        record = { epoch, loss: {}, devAuc: {}, devMeanAuc: null, seconds: 0, unitsPerSecond: 0 };
        history[epoch - 1] = record;
      }
      record.loss[task] = loss;
      record.devAuc[task] = auc;
      record.seconds += seconds;
      record.unitsPerSecond = order.length / Math.max(seconds, 1e-9);
      const aucs = Object.values(record.devAuc).filter((a): a is number => a !== null);
      record.devMeanAuc = aucs.length > 0 ? aucs.reduce((a, v) => a + v, 0) / aucs.length : null;
      if (auc === null) {
        best = { epoch, auc: -1, w, b: b[0]! };
      } else if (auc > best.auc) {
        best = { epoch, auc, w: w.slice(), b: b[0]! };
      } else if (epoch - best.epoch >= c.patience) {
        break;
      }
    }
    return { weights: best.w, bias: best.b, best: best.epoch };
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

  async toArtifact(): Promise<ModelArtifact> {
    if (!this.kernel || !this.bias) throw new Error('model is not trained');
    const exported = await exportDenseStack([this.inputDim, this.tasks.length], 'linear', [
      this.kernel,
      this.bias,
    ]);
    return {
      architecture: this.architecture,
      config: { ...this.config },
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
    const model = new LogisticRegression(
      artifact.tasks,
      artifact.config as Partial<LogisticRegressionConfig>,
    );
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

function scoreLinear(x: CsrMatrix, w: Float32Array, b: number): Float32Array {
  const out = new Float32Array(x.rows);
  for (let i = 0; i < x.rows; i++) {
    let z = b;
    for (let q = x.indptr[i]!; q < x.indptr[i + 1]!; q++) z += x.values[q]! * w[x.indices[q]!]!;
    out[i] = z;
  }
  return out;
}
