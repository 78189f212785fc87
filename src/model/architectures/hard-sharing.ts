import * as tf from '@tensorflow/tfjs';
import { UsageError } from '../../errors.js';
import type { CsrMatrix } from '../../features/csr.js';
import { SparseDenseLayer } from '../layers/sparse-dense.js';
import { tfOptimizer } from '../optimizers.js';
import { glorotUniform, Random } from '../random.js';
import type { Architecture, LayersExport, LossFunction, Network, NetworkSpec } from './architecture.js';

/**
 * Hard parameter sharing (Caruana, "Multitask Learning", Machine Learning 28, 1997; as applied to
 * mental-health conditions by Benton, Mitchell & Hovy, "Multitask Learning for Mental Health
 * Conditions with Limited Social Media Data", EACL 2017): every task shares the hidden layers, and
 * each task has its own sigmoid output (head) on top of the last shared layer.
 *
 *   x [batch, features] (sparse TF-IDF)
 *     -> shared_1: embedding-bag = Dense(hidden[0]) over x, activation, dropout
 *     -> shared_k: Dense(hidden[k-1]), activation, dropout        (k = 2 .. hidden.length)
 *     -> heads: Dense(tasks, sigmoid)   (column t is task t's head; heads are independent)
 *
 * The first layer lives outside tfjs (src/model/layers/sparse-dense.ts: WebAssembly SIMD or JavaScript
 * kernels) with a lazy optimizer over the rows a batch touches; the rest is tfjs, differentiated by tf.valueAndGrads, whose
 * gradient with respect to the first layer's pre-activation feeds the sparse backward pass. A
 * single-task network (STL) is this architecture with one head.
 */

export type Activation = 'relu' | 'tanh' | 'sigmoid' | 'elu' | 'linear';

/** Options of hard sharing. */
export interface HardSharingConfig {
  /** Sizes of the shared hidden layers; default [256]. */
  hidden: number[];
  /** Activation of the shared layers; default 'relu'. */
  activation: Activation;
  /** Dropout rate after each shared layer during training, in [0, 1); default 0.3. */
  dropout: number;
}

export const HARD_SHARING_DEFAULTS: HardSharingConfig = { hidden: [256], activation: 'relu', dropout: 0.3 };
const ACTIVATIONS: readonly Activation[] = ['relu', 'tanh', 'sigmoid', 'elu', 'linear'];

function resolveConfig(config: Record<string, unknown>): HardSharingConfig {
  const c = { ...HARD_SHARING_DEFAULTS, ...config } as HardSharingConfig;
  if (
    !Array.isArray(c.hidden) ||
    c.hidden.length === 0 ||
    !c.hidden.every((h) => Number.isInteger(h) && h > 0)
  ) {
    throw new UsageError(
      `hidden must be a non-empty list of positive integers, got ${JSON.stringify(c.hidden)}`,
    );
  }
  if (!ACTIVATIONS.includes(c.activation)) {
    throw new UsageError(`unknown activation '${c.activation}' (known: ${ACTIVATIONS.join(', ')})`);
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) throw new UsageError(`dropout must be in [0, 1), got ${c.dropout}`);
  return { hidden: [...c.hidden], activation: c.activation, dropout: c.dropout };
}

function activate(x: tf.Tensor, activation: Activation): tf.Tensor {
  switch (activation) {
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'elu':
      return tf.elu(x);
    case 'linear':
      return x;
  }
}

/** A dense tfjs layer's parameters. */
interface DenseParams {
  kernel: tf.Variable;
  bias: tf.Variable;
}

class HardSharingNetwork implements Network {
  readonly architecture = 'hard_sharing';
  readonly inputDim: number;
  readonly tasks: readonly string[];
  readonly config: Record<string, unknown>;
  private readonly cfg: HardSharingConfig;
  private readonly width: number;
  /** First shared layer, `[features, hidden[0]]` and `[hidden[0]]`, with its lazy optimizer. */
  private readonly first: SparseDenseLayer;
  /** Shared layers 2.. and the heads, in tfjs. */
  private readonly dense: DenseParams[];
  private readonly l2: number;
  private readonly optimizer: tf.Optimizer;
  private disposed = false;

  constructor(spec: NetworkSpec, weights: readonly Float32Array[]) {
    this.cfg = resolveConfig(spec.config);
    this.config = { ...this.cfg };
    this.inputDim = spec.inputDim;
    this.tasks = [...spec.tasks];
    this.l2 = spec.l2;
    const sizes = [spec.inputDim, ...this.cfg.hidden, spec.tasks.length];
    this.width = sizes[1]!;
    const expected = shapesOf(sizes);
    if (weights.length !== expected.length) {
      throw new Error(`hard_sharing expects ${expected.length} weight arrays, got ${weights.length}`);
    }
    weights.forEach((w, i) => {
      const n = expected[i]!.reduce((a, b) => a * b, 1);
      if (w.length !== n)
        throw new Error(`weight ${i}: expected ${n} values (${expected[i]}), got ${w.length}`);
    });
    this.first = new SparseDenseLayer(spec.optimizer, spec.inputDim, this.width, weights[0]!, weights[1]!);
    this.dense = [];
    for (let i = 2; i < weights.length; i += 2) {
      const kShape = expected[i]! as [number, number];
      // tidy frees the initial-value tensors; variables survive it
      this.dense.push(
        tf.tidy(() => ({
          kernel: tf.variable(tf.tensor2d(weights[i]!, kShape), true),
          bias: tf.variable(tf.tensor1d(weights[i + 1]!), true),
        })),
      );
    }
    this.optimizer = tfOptimizer(spec.optimizer);
  }

  private variables(): tf.Variable[] {
    return this.dense.flatMap((d) => [d.kernel, d.bias]);
  }

  /** Layers after the first pre-activation: `z1 [batch, hidden0] -> logits [batch, tasks]`. */
  private rest(
    z1: tf.Tensor2D,
    params: readonly tf.Tensor[],
    masks: readonly (tf.Tensor2D | null)[],
  ): tf.Tensor2D {
    let a = activate(z1, this.cfg.activation);
    if (masks[0]) a = tf.mul(a, masks[0]);
    for (let l = 0; l < this.dense.length; l++) {
      const z = tf.add(tf.matMul(a as tf.Tensor2D, params[2 * l] as tf.Tensor2D), params[2 * l + 1]!);
      if (l === this.dense.length - 1) return z as tf.Tensor2D;
      a = activate(z, this.cfg.activation);
      if (masks[l + 1]) a = tf.mul(a, masks[l + 1]!);
    }
    throw new Error('unreachable');
  }

  trainStep(x: CsrMatrix, loss: LossFunction, random: Random): Float32Array {
    this.assertLive();
    if (x.cols !== this.inputDim) throw new Error(`batch has ${x.cols} features, network ${this.inputDim}`);
    const batch = x.rows;
    const z1 = this.first.forward(x);
    const p = this.cfg.dropout;
    const masks: (Float32Array | null)[] = this.cfg.hidden.map((h) => {
      if (p === 0) return null;
      const m = new Float32Array(batch * h);
      const keep = 1 / (1 - p);
      for (let i = 0; i < m.length; i++) m[i] = random.next() < p ? 0 : keep;
      return m;
    });
    const vars = this.variables();
    let perTask: tf.Tensor1D | null = null;
    const dz1 = tf.tidy(() => {
      const z1t = tf.tensor2d(z1, [batch, this.width]);
      const maskTs = masks.map((m, l) => (m ? tf.tensor2d(m, [batch, this.cfg.hidden[l]!]) : null));
      const f = (z: tf.Tensor, ...params: tf.Tensor[]): tf.Scalar => {
        const logits = this.rest(z as tf.Tensor2D, params, maskTs);
        const r = loss(logits);
        perTask = tf.keep(r.perTask);
        if (this.l2 === 0) return r.total;
        let penalty: tf.Tensor = tf.sum(tf.square(params[0]!));
        for (let l = 1; l < this.dense.length; l++)
          penalty = tf.add(penalty, tf.sum(tf.square(params[2 * l]!)));
        return tf.add(r.total, tf.mul(this.l2, penalty)) as tf.Scalar;
      };
      const { grads } = tf.valueAndGrads(f)([z1t, ...vars]);
      this.optimizer.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i + 1]! })));
      return grads[0]!;
    });
    const dz = dz1.dataSync() as Float32Array;
    dz1.dispose();
    const taskLoss = (perTask as tf.Tensor1D | null)?.dataSync() as Float32Array;
    (perTask as tf.Tensor1D | null)?.dispose();
    // sparse backward and lazy update of the first layer, L2 on the touched rows only
    this.first.update(x, dz, 2 * this.l2);
    return taskLoss.slice();
  }

  predict(x: CsrMatrix): Float32Array {
    this.assertLive();
    if (x.cols !== this.inputDim) throw new Error(`input has ${x.cols} features, network ${this.inputDim}`);
    const tasks = this.tasks.length;
    const out = new Float32Array(x.rows * tasks);
    const chunk = 1024;
    const vars = this.variables();
    for (let start = 0; start < x.rows; start += chunk) {
      const end = Math.min(x.rows, start + chunk);
      const sub = sliceRows(x, start, end);
      const z1 = this.first.forward(sub);
      const probs = tf.tidy(() =>
        tf.sigmoid(this.rest(tf.tensor2d(z1, [end - start, this.width]), vars, [])),
      );
      out.set(probs.dataSync() as Float32Array, start * tasks);
      probs.dispose();
    }
    return out;
  }

  snapshot(): Float32Array[] {
    this.assertLive();
    return [
      this.first.weights.slice(),
      this.first.bias.slice(),
      ...this.variables().map((v) => (v.dataSync() as Float32Array).slice()),
    ];
  }

  restore(weights: readonly Float32Array[]): void {
    this.assertLive();
    this.first.setWeights(weights[0]!, weights[1]!);
    this.variables().forEach((v, i) => {
      tf.tidy(() => v.assign(tf.tensor(weights[i + 2]!, v.shape)));
    });
  }

  async exportLayers(): Promise<LayersExport> {
    this.assertLive();
    const sizes = [this.inputDim, ...this.cfg.hidden, this.tasks.length];
    return exportDenseStack(sizes, this.cfg.activation, this.snapshot());
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.variables()) v.dispose();
    this.optimizer.dispose();
  }

  private assertLive(): void {
    if (this.disposed) throw new Error('network used after dispose()');
  }
}

/** Shapes of the weights of a dense stack with layer sizes `sizes` (input, hidden..., output). */
export function shapesOf(sizes: readonly number[]): number[][] {
  const shapes: number[][] = [];
  for (let l = 1; l < sizes.length; l++) shapes.push([sizes[l - 1]!, sizes[l]!], [sizes[l]!]);
  return shapes;
}

/** Rows `[start, end)` of a CSR matrix, sharing its buffers (no copy). */
export function sliceRows(x: CsrMatrix, start: number, end: number): CsrMatrix {
  const base = x.indptr[start]!;
  const indptr = new Int32Array(end - start + 1);
  for (let i = start; i <= end; i++) indptr[i - start] = x.indptr[i]! - base;
  const stop = x.indptr[end]!;
  return {
    rows: end - start,
    cols: x.cols,
    indptr,
    indices: x.indices.subarray(base, stop),
    values: x.values.subarray(base, stop),
  };
}

/**
 * The plain tfjs layers model of a dense stack: Dense(sizes[1], activation, name 'shared_1') over
 * an input of sizes[0] features, ..., Dense(sizes[last], sigmoid, name 'heads'), with the given
 * weights (kernel, bias per layer), serialized by tf.io.withSaveHandler: no tfjs-node, no custom
 * layer class. Dropout is an identity at inference and is left out.
 */
export async function exportDenseStack(
  sizes: readonly number[],
  activation: Activation,
  weights: readonly Float32Array[],
): Promise<LayersExport> {
  const model = tf.sequential();
  for (let l = 1; l < sizes.length; l++) {
    const last = l === sizes.length - 1;
    model.add(
      tf.layers.dense({
        units: sizes[l]!,
        activation: last ? 'sigmoid' : activation,
        name: last ? 'heads' : `shared_${l}`,
        kernelInitializer: 'zeros',
        ...(l === 1 ? { inputShape: [sizes[0]!] } : {}),
      }),
    );
  }
  const shapes = shapesOf(sizes);
  try {
    tf.tidy(() => model.setWeights(weights.map((w, i) => tf.tensor(w, shapes[i]!))));
    let saved: tf.io.ModelArtifacts | undefined;
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    if (!saved?.modelTopology || !saved.weightSpecs || !saved.weightData)
      throw new Error('tfjs save gave nothing');
    const data = saved.weightData;
    const bytes = Array.isArray(data)
      ? new Uint8Array(tf.io.concatenateArrayBuffers(data))
      : new Uint8Array(data as ArrayBuffer);
    return {
      modelTopology: saved.modelTopology as object,
      weightSpecs: saved.weightSpecs,
      weightData: bytes,
    };
  } finally {
    model.dispose();
  }
}

/** Weight arrays (float32) from a {@link LayersExport}'s specs and bytes, in spec order. */
export function decodeWeights(
  weightSpecs: readonly tf.io.WeightsManifestEntry[],
  data: Uint8Array,
): Float32Array[] {
  const out: Float32Array[] = [];
  let offset = 0;
  for (const spec of weightSpecs) {
    if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: dtype ${spec.dtype} is not float32`);
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const bytes = data.slice(offset, offset + 4 * n);
    if (bytes.length !== 4 * n)
      throw new Error(`weight ${spec.name}: ${bytes.length} bytes, expected ${4 * n}`);
    out.push(new Float32Array(bytes.buffer, bytes.byteOffset, n));
    offset += 4 * n;
  }
  if (offset !== data.length) throw new Error(`weights: ${data.length - offset} bytes left over`);
  return out;
}

/** The `hard_sharing` architecture (registered by name in ./index.ts). */
export const hardSharing: Architecture = {
  name: 'hard_sharing',
  resolveConfig: (config) => ({ ...resolveConfig(config) }),
  create(spec) {
    const cfg = resolveConfig(spec.config);
    const sizes = [spec.inputDim, ...cfg.hidden, spec.tasks.length];
    const random = new Random(spec.seed);
    const weights: Float32Array[] = [];
    for (let l = 1; l < sizes.length; l++) {
      weights.push(glorotUniform(sizes[l - 1]!, sizes[l]!, random), new Float32Array(sizes[l]!));
    }
    return new HardSharingNetwork(spec, weights);
  },
  fromWeights(spec, weights) {
    return new HardSharingNetwork(spec, weights);
  },
};
