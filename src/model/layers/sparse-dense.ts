import { UsageError } from '../../errors.js';
import type { CsrMatrix } from '../../features/csr.js';
import { defaultThreads, FirstLayerThreads, type KernelPart } from './wasm/first-layer-threads.js';
import {
  firstLayerModule,
  firstLayerSharedModule,
  WasmFirstLayer,
  wasmKernelUnavailableReason,
} from './wasm/wasm-first-layer.js';
import { type OptimizerConfig, RowOptimizer } from '../optimizers.js';
import { EmbeddingBagGradient, embeddingBagForward } from './embedding-bag.js';

/**
 * Which implementation runs the sparse first layer's loops: 'wasm-simd' (WebAssembly with
 * 128-bit SIMD, src/model/layers/wasm/first-layer.wat) or 'js' (src/model/layers/embedding-bag.ts and
 * RowOptimizer). Both compute the same function; they differ by float32 rounding.
 */
export type SparseKernelName = 'wasm-simd' | 'js';

/** Environment variable forcing the sparse kernel: `js` or `wasm-simd`. */
export const SPARSE_KERNEL_ENV = 'MHMTL_SPARSE_KERNEL';

/** The kernel a new layer uses when not told (`MHMTL_SPARSE_KERNEL`, else wasm-simd when built). */
export function defaultSparseKernel(): { kernel: SparseKernelName; reason: string } {
  const forced = process.env[SPARSE_KERNEL_ENV];
  if (forced !== undefined && forced !== '') {
    if (forced !== 'js' && forced !== 'wasm-simd') {
      throw new UsageError(
        `${SPARSE_KERNEL_ENV}: unknown sparse kernel '${forced}' (expected js or wasm-simd)`,
      );
    }
    return { kernel: forced, reason: `${SPARSE_KERNEL_ENV}=${forced}` };
  }
  return firstLayerModule()
    ? { kernel: 'wasm-simd', reason: 'default' }
    : { kernel: 'js', reason: wasmKernelUnavailableReason() };
}

/**
 * What the update adds to the gradient of each touched row `w_f` (`[width]`) of W before the
 * optimizer step, and the layer's learning-rate scale (its parameter group).
 */
export interface FirstLayerRegularization {
  /** `g += decay * w_f`: the gradient of an L2 penalty `decay / 2 * |W|^2` on the touched rows. */
  decay: number;
  /** `g += strength * (w_f - ref_f)`: decay toward a reference matrix `[inputDim, width]` (successive regularization, Hashimoto et al., EMNLP 2017). */
  reference?: { weights: Float32Array; strength: number };
  /**
   * The row seen as `blocks` column blocks of `width / blocks`: `g_k += strength * sum_j
   * matrix[k * blocks + j] * w_j` (packed towers coupled to their mean: matrix = I - 11^T / blocks,
   * Duong et al., ACL 2015; a trace-norm gradient uses another matrix).
   */
  blockMix?: { blocks: number; matrix: Float32Array; strength: number };
  /**
   * The row seen as `blocks` column blocks of width `bw = width / blocks`, each mapped by a matrix
   * of its own: `g_k += strength * w_k A_k` (`w_k` the block `[bw]` as a row vector, `A_k =
   * matrices[k * bw * bw ..]`, `[bw, bw]` row-major). The gradient of a penalty that is quadratic
   * in each block's columns, e.g. the subspace orthogonality of a tower's column sub-blocks
   * `sum ||G_m^T G_m'||_F^2` (Ruder et al., AAAI 2019; `A_k` the tower's Gram matrix `G^T G` with
   * its within-subspace blocks zeroed, strength 2 lambda). Costs O(width x bw) per touched row.
   */
  blockTransform?: { blocks: number; matrices: Float32Array; strength: number };
  /** The layer's learning rate times this (default 1). */
  learningRateScale?: number;
}

/**
 * The sparse first layer of a network with its parameters and lazy optimizer: `z = x W + b` over
 * a CSR batch `x [batch, inputDim]`, `W [inputDim, width]`, `b [width]` (an embedding-bag: a Dense
 * layer over the TF-IDF vector at O(nnz x width)), and a training update that touches only the
 * rows of W present in the batch (lazy Adam or Adagrad, as TensorFlow's LazyAdamOptimizer).
 *
 * Two kernels compute it (see {@link SparseKernelName}); 'wasm-simd' keeps W and the optimizer's
 * moments in WebAssembly memory, and falls back to 'js' when they do not fit in its 4 GiB.
 */
export class SparseDenseLayer {
  readonly kernel: SparseKernelName;
  /** `b`, `[width]`. */
  readonly bias: Float32Array;
  private readonly biasOptimizer: RowOptimizer;
  /** js: the optimizer over W's rows; wasm-simd: its step schedule only. */
  private readonly optimizer: RowOptimizer;
  private readonly gradient: EmbeddingBagGradient;
  private readonly wasm: WasmFirstLayer | null;
  /** Worker threads of the wasm kernel (null: one thread). */
  private readonly pool: FirstLayerThreads | null;
  private readonly jsWeights: Float32Array | null;
  private readonly gradientRow: Float32Array;
  private z = new Float32Array(0);

  /**
   * @param weights initial W, `[inputDim * width]` (copied); @param bias initial b, `[width]` (copied).
   * @param kernel 'auto' (default): {@link defaultSparseKernel}.
   * @param threads threads of the wasm kernel's forward pass and update ('auto', the default:
   *   `MHMTL_THREADS`, else 1); each batch is cut into fixed parts (units for the forward pass,
   *   touched rows of W for the update) computed as one thread computes them, so the weights are
   *   the same whatever the thread count (bit for bit). The js kernel runs on one thread.
   * @throws RangeError when `weights` or `bias` has the wrong length; UsageError on a bad optimizer
   *   or a bad `MHMTL_THREADS`.
   */
  constructor(
    optimizerConfig: OptimizerConfig,
    readonly inputDim: number,
    readonly width: number,
    weights: Float32Array,
    bias: Float32Array,
    kernel: SparseKernelName | 'auto' = 'auto',
    threads: number | 'auto' = 'auto',
  ) {
    if (weights.length !== inputDim * width)
      throw new RangeError(`W has ${weights.length} values, expected ${inputDim} x ${width}`);
    if (bias.length !== width) throw new RangeError(`b has ${bias.length} values, expected ${width}`);
    const wanted = kernel === 'auto' ? defaultSparseKernel().kernel : kernel;
    const threadCount = threads === 'auto' ? defaultThreads() : threads;
    const shared = threadCount > 1 ? firstLayerSharedModule() : null;
    this.wasm =
      wanted === 'wasm-simd' ? tryWasm(optimizerConfig, inputDim, width, shared ?? undefined) : null;
    this.kernel = this.wasm ? 'wasm-simd' : 'js';
    this.pool = this.wasm && shared ? new FirstLayerThreads(shared, this.wasm.wasmMemory, threadCount) : null;
    if (this.wasm) {
      this.optimizer = RowOptimizer.scheduleOnly(optimizerConfig, width);
      this.wasm.weights.set(weights);
      if (optimizerConfig.name === 'adagrad')
        this.wasm.second.fill(this.optimizer.stepConstants.initialAccumulator);
      this.jsWeights = null;
    } else {
      this.optimizer = new RowOptimizer(optimizerConfig, inputDim, width);
      this.jsWeights = weights.slice();
    }
    this.bias = bias.slice();
    this.biasOptimizer = new RowOptimizer(optimizerConfig, 1, width);
    this.gradient = new EmbeddingBagGradient(inputDim, width);
    this.gradientRow = new Float32Array(width);
  }

  /** Threads of the forward pass and update (1 unless the wasm kernel runs on workers). */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Stop the worker threads, if any (the layer still works, on one thread). Idempotent. */
  dispose(): void {
    this.pool?.close();
  }

  /** W, `[inputDim * width]` row-major: a live view, valid until the next call of this layer. */
  get weights(): Float32Array {
    return this.wasm ? this.wasm.weights : this.jsWeights!;
  }

  /** Replace W and b (copied). Optimizer state is kept. */
  setWeights(weights: Float32Array, bias: Float32Array): void {
    this.weights.set(weights);
    this.bias.set(bias);
  }

  /**
   * `z = x W + b`, `[x.rows, width]` row-major, in a buffer of this layer reused by the next call.
   * @throws Error when `x.cols` is not `inputDim`.
   */
  forward(x: CsrMatrix): Float32Array {
    if (x.cols !== this.inputDim) throw new Error(`batch has ${x.cols} features, layer ${this.inputDim}`);
    const n = x.rows * this.width;
    if (this.z.length < n) this.z = new Float32Array(n);
    const z = this.z.subarray(0, n);
    if (!this.wasm) return embeddingBagForward(x, this.jsWeights!, this.bias, this.width, z);
    const nnz = x.indptr[x.rows]!;
    const wasm = this.wasm;
    const [indptr, indices, values, bias, out] = wasm.scratch([x.rows + 1, nnz, nnz, this.width, n]);
    wasm.ints(indptr!, x.rows + 1).set(x.indptr.subarray(0, x.rows + 1));
    wasm.ints(indices!, nnz).set(x.indices.subarray(0, nnz));
    wasm.floats(values!, nnz).set(x.values.subarray(0, nnz));
    wasm.floats(bias!, this.width).set(this.bias);
    const bytes = this.width * 4;
    const parts = this.cuts(x.rows).map(([a, b]) => ({
      ints: [b - a, indptr! + 4 * a, indices!, values!, wasm.offsets.w, bias!, this.width, out! + a * bytes],
      floats: [],
    }));
    this.run('forward', parts);
    z.set(wasm.floats(out!, n));
    return z;
  }

  /**
   * One training step of the layer from `dz` = dL/dz `[x.rows, width]`: dL/dW is formed for the
   * rows present in `x` only, plus `decay * W[row]` (the gradient of an L2 penalty `decay/2 |W|^2`,
   * on those rows), and applied with the optimizer at once; b gets dL/db (no decay).
   */
  update(x: CsrMatrix, dz: Float32Array, regularization: number | FirstLayerRegularization): void {
    const reg = typeof regularization === 'number' ? { decay: regularization } : regularization;
    if ((reg.learningRateScale ?? 1) !== 1) throw new Error('learningRateScale is not supported yet');
    const extras =
      reg.reference !== undefined || reg.blockMix !== undefined || reg.blockTransform !== undefined;
    const decay = reg.decay;
    const g = this.gradient;
    g.compute(x, dz);
    this.optimizer.beginStep();
    this.biasOptimizer.beginStep();
    if (this.wasm) this.updateWasm(x, dz, decay, extras ? reg : null);
    else if (extras) this.updateJsWithExtras(reg);
    else this.updateJs(decay);
    this.biasOptimizer.updateRow(this.bias, 0, g.bias, 0);
  }

  private updateJs(decay: number): void {
    const g = this.gradient;
    const w = this.jsWeights!;
    const features = g.features;
    const dz = g.outputGradient;
    const row = this.gradientRow;
    for (let t = 0; t < g.touched; t++) {
      if (g.count(t) === 1) {
        // the gradient row is value * dz[unit, :]: no copy
        this.optimizer.updateRow(w, features[t]!, dz, g.firstOffset(t), decay, g.firstValue(t));
      } else {
        g.row(t, row);
        this.optimizer.updateRow(w, features[t]!, row, 0, decay);
      }
    }
  }

  /** JavaScript update with a reference, block mixing and/or block transforms added to each touched row's gradient. */
  private updateJsWithExtras(reg: FirstLayerRegularization): void {
    const g = this.gradient;
    const w = this.jsWeights!;
    const row = this.gradientRow;
    const extras = this.extraTerms(reg);
    for (let t = 0; t < g.touched; t++) {
      const f = g.features[t]!;
      g.row(t, row);
      extras(w, f, row);
      this.optimizer.updateRow(w, f, row, 0, reg.decay);
    }
  }

  /**
   * A function adding the reference, blockMix and blockTransform terms of `reg` for feature `f`
   * (its row of `w [inputDim, width]`) to a gradient row `row [width]`.
   * @throws RangeError when the blocks do not divide the width or a matrix has the wrong size.
   */
  private extraTerms(reg: FirstLayerRegularization): (w: Float32Array, f: number, row: Float32Array) => void {
    const width = this.width;
    const mix = reg.blockMix;
    const blockWidth = mix ? width / mix.blocks : 0;
    if (mix && (!Number.isInteger(blockWidth) || mix.matrix.length !== mix.blocks * mix.blocks))
      throw new RangeError(
        `blockMix: ${mix.blocks} blocks do not divide width ${width} or the matrix is not ${mix.blocks}x${mix.blocks}`,
      );
    const tr = reg.blockTransform;
    const trWidth = tr ? width / tr.blocks : 0;
    if (tr && (!Number.isInteger(trWidth) || tr.matrices.length !== tr.blocks * trWidth * trWidth))
      throw new RangeError(
        `blockTransform: ${tr.blocks} blocks do not divide width ${width} or the matrices are not ${tr.blocks} x ${trWidth}x${trWidth}`,
      );
    const mixDiagonal = mix ? identityPlusConstant(mix.matrix, mix.blocks) : null;
    const ranges = tr ? nonZeroRanges(tr.matrices, tr.blocks * trWidth, trWidth) : null;
    return (w, f, row) => {
      const base = f * width;
      if (reg.reference) {
        const ref = reg.reference.weights;
        const s = reg.reference.strength;
        for (let h = 0; h < width; h++) row[h]! += s * (w[base + h]! - ref[base + h]!);
      }
      if (mix && mixDiagonal !== null) {
        // matrix = a I + b 11^T: g_k += s (a w_k + b sum_j w_j), O(width) instead of O(blocks x width)
        const B = mix.blocks;
        const ca = mix.strength * mixDiagonal.a;
        const cb = mix.strength * mixDiagonal.b;
        for (let h = 0; h < blockWidth; h++) {
          let sum = 0;
          for (let j = 0; j < B; j++) sum += w[base + j * blockWidth + h]!;
          const shared = cb * sum;
          for (let k = 0; k < B; k++) row[k * blockWidth + h]! += ca * w[base + k * blockWidth + h]! + shared;
        }
      } else if (mix) {
        const B = mix.blocks;
        for (let k = 0; k < B; k++) {
          for (let j = 0; j < B; j++) {
            const c = mix.strength * mix.matrix[k * B + j]!;
            if (c === 0) continue;
            for (let h = 0; h < blockWidth; h++)
              row[k * blockWidth + h]! += c * w[base + j * blockWidth + h]!;
          }
        }
      }
      if (tr && ranges) {
        // g_k += strength * w_k A_k, row b of A_k over its non-zero range only
        const m = tr.matrices;
        for (let k = 0; k < tr.blocks; k++) {
          const from = k * trWidth;
          for (let b = 0; b < trWidth; b++) {
            const c = tr.strength * w[base + from + b]!;
            const r = k * trWidth + b;
            if (c === 0) continue;
            const a0 = r * trWidth;
            for (let a = ranges.lo[r]!; a < ranges.hi[r]!; a++) row[from + a]! += c * m[a0 + a]!;
          }
        }
      }
    };
  }

  /**
   * The wasm update. With extra terms (`reg`), they are computed here for each touched row from
   * its current weights into `[touched, width]` rows appended to dz in the kernel's memory, and
   * each feature's group of entries gets one more entry (that row, value 1): the kernel then adds
   * them to the gradient row as it sums the batch's entries, with no kernel of its own.
   */
  private updateWasm(
    x: CsrMatrix,
    dz: Float32Array,
    decay: number,
    reg: FirstLayerRegularization | null,
  ): void {
    const wasm = this.wasm!;
    let { features, start, entryRow, entryValue } = this.gradient.grouping();
    const touched = features.length;
    const n = x.rows * this.width;
    let extra: Float32Array | null = null;
    if (reg) {
      const width = this.width;
      const terms = this.extraTerms(reg);
      const weights = wasm.weights;
      extra = new Float32Array(touched * width);
      const groupedRow = new Int32Array(entryRow.length + touched);
      const groupedValue = new Float32Array(entryRow.length + touched);
      const groupedStart = new Int32Array(touched + 1);
      let p = 0;
      for (let t = 0; t < touched; t++) {
        groupedStart[t] = p;
        for (let k = start[t]!; k < start[t + 1]!; k++, p++) {
          groupedRow[p] = entryRow[k]!;
          groupedValue[p] = entryValue[k]!;
        }
        groupedRow[p] = n + t * width;
        groupedValue[p++] = 1;
        terms(weights, features[t]!, extra.subarray(t * width, (t + 1) * width));
      }
      groupedStart[touched] = p;
      start = groupedStart;
      entryRow = groupedRow;
      entryValue = groupedValue;
    }
    const nnz = entryRow.length;
    const dzLength = n + (extra ? extra.length : 0);
    const [fo, so, ro, vo, dzo, go] = wasm.scratch([
      touched,
      touched + 1,
      nnz,
      nnz,
      dzLength,
      this.width * this.threads,
    ]);
    wasm.ints(fo!, touched).set(features);
    wasm.ints(so!, touched + 1).set(start);
    wasm.ints(ro!, nnz).set(entryRow);
    wasm.floats(vo!, nnz).set(entryValue);
    wasm.floats(dzo!, n).set(dz.subarray(0, n));
    if (extra) wasm.floats(dzo! + n * 4, extra.length).set(extra);
    const c = this.optimizer.stepConstants;
    const { w, m, s } = wasm.offsets;
    const parts = this.cuts(touched).map(([a, b], p): KernelPart => {
      const rows = [b - a, fo! + 4 * a, so! + 4 * a, ro!, vo!, dzo!];
      const g = go! + p * this.width * 4;
      return c.adam
        ? {
            ints: [...rows, w, m, s, this.width, g],
            floats: [decay, c.lrC1, c.c2, c.beta1, c.beta2, c.epsilon],
          }
        : { ints: [...rows, w, s, this.width, g], floats: [decay, c.lr] };
    });
    this.run(c.adam ? 'adam' : 'adagrad', parts);
  }

  /** `[from, to)` of `count` items cut into {@link threads} contiguous parts, in order. */
  private cuts(count: number): [number, number][] {
    const n = this.threads;
    return Array.from({ length: n }, (_, p) => [
      Math.floor((p * count) / n),
      Math.floor(((p + 1) * count) / n),
    ]);
  }

  /** Run a kernel over its parts: on this thread, or part p on thread p. */
  private run(name: 'forward' | 'adam' | 'adagrad', parts: KernelPart[]): void {
    const kernels = this.wasm!.kernels as unknown as Record<string, (...args: number[]) => void>;
    const call = (part: KernelPart) => {
      if (part.ints[0]! > 0) kernels[name]!(...part.ints, ...part.floats);
    };
    if (this.pool) this.pool.call(name, parts, call);
    else call(parts[0]!);
  }
}

/**
 * `{a, b}` when the `[blocks, blocks]` row-major `matrix` is `a I + b 11^T` (every diagonal entry
 * a + b, every other entry b; e.g. the l2 coupling's `I - 11^T / T`), else null: block mixing by
 * such a matrix needs one sum over the blocks per column, not a product with every block.
 */
export function identityPlusConstant(matrix: Float32Array, blocks: number): { a: number; b: number } | null {
  if (blocks < 2) return null;
  const b = matrix[1]!;
  const d = matrix[0]!;
  for (let i = 0; i < blocks; i++)
    for (let j = 0; j < blocks; j++) if (matrix[i * blocks + j] !== (i === j ? d : b)) return null;
  return { a: d - b, b };
}

/**
 * For each of the `rows` rows of width `width` of a row-major matrix, the range `[lo, hi)` outside
 * which it is zero (lo = width, hi = 0 for a zero row): a block transform skips the rest (e.g. the
 * within-subspace half of each row for two subspaces).
 */
function nonZeroRanges(
  matrix: Float32Array,
  rows: number,
  width: number,
): { lo: Int32Array; hi: Int32Array } {
  const lo = new Int32Array(rows).fill(width);
  const hi = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    for (let a = 0; a < width; a++) {
      if (matrix[r * width + a] === 0) continue;
      if (lo[r] === width) lo[r] = a;
      hi[r] = a + 1;
    }
  }
  return { lo, hi };
}

function tryWasm(
  config: OptimizerConfig,
  rows: number,
  width: number,
  sharedModule?: WebAssembly.Module,
): WasmFirstLayer | null {
  const module = sharedModule ?? firstLayerModule();
  if (!module) return null;
  try {
    return new WasmFirstLayer(
      module,
      rows,
      width,
      config.name === 'adam' ? 2 : 1,
      sharedModule !== undefined,
    );
  } catch (error) {
    if (error instanceof RangeError) return null;
    throw error;
  }
}
