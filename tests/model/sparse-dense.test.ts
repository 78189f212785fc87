import { afterEach, describe, expect, it } from 'vitest';
import { type CsrMatrix, csrFromRows } from '../../src/features/csr.js';
import {
  defaultSparseKernel,
  SPARSE_KERNEL_ENV,
  identityPlusConstant,
  SparseDenseLayer,
  type SparseKernelName,
} from '../../src/model/layers/sparse-dense.js';
import { defaultThreads, THREADS_ENV } from '../../src/model/layers/wasm/first-layer-threads.js';
import { firstLayerModule } from '../../src/model/layers/wasm/wasm-first-layer.js';
import { initTensorflow } from '../../src/model/backend.js';
import { NeuralModel } from '../../src/model/neural-model.js';
import { syntheticSparseData } from '../../src/bench/train.js';
import type { OptimizerConfig } from '../../src/model/optimizers.js';
import { glorotUniform, Random } from '../../src/model/random.js';

/** A seeded CSR batch: rows with 0 to 11 entries (so both the 4-entry and the 1-entry loops run). */
function batch(r: Random, rows: number, features: number): CsrMatrix {
  return csrFromRows(
    Array.from({ length: rows }, (_, i) => {
      const set = new Map<number, number>();
      const n = i === 0 ? 0 : 1 + ((i * 5) % 11);
      // a few common features, so that some rows of W get several entries per batch
      while (set.size < n) set.set(r.next() < 0.4 ? r.int(4) : r.int(features), r.next() + 0.05);
      return [...set.entries()].sort((a, b) => a[0] - b[0]);
    }),
    features,
  );
}

function layer(
  kernel: SparseKernelName,
  optimizer: OptimizerConfig,
  V: number,
  H: number,
  seed: number,
): SparseDenseLayer {
  const r = new Random(seed);
  const w = glorotUniform(V, H, r);
  const b = Float32Array.from({ length: H }, () => r.next() - 0.5);
  return new SparseDenseLayer(optimizer, V, H, w, b, kernel);
}

function maxAbsoluteError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

const hasWasm = firstLayerModule() !== null;

describe('sparse first layer kernels: wasm-simd equals js', () => {
  afterEach(() => {
    delete process.env[SPARSE_KERNEL_ENV];
  });

  it('the wasm kernel is built and chosen by default', () => {
    expect(hasWasm).toBe(true);
    expect(defaultSparseKernel().kernel).toBe('wasm-simd');
    process.env[SPARSE_KERNEL_ENV] = 'js';
    expect(defaultSparseKernel()).toEqual({ kernel: 'js', reason: `${SPARSE_KERNEL_ENV}=js` });
    process.env[SPARSE_KERNEL_ENV] = 'gpu';
    expect(() => defaultSparseKernel()).toThrow(/unknown sparse kernel 'gpu'/);
  });

  // widths: a multiple of 4 (SIMD lanes only) and not (the scalar tail runs too)
  for (const H of [8, 7]) {
    for (const optimizer of [
      { name: 'adam', learningRate: 0.01 },
      { name: 'adagrad', learningRate: 0.05, initialAccumulator: 0.1 },
    ] as OptimizerConfig[]) {
      it(`forward and ${optimizer.name} updates agree over 5 steps (width ${H})`, () => {
        const V = 50;
        const js = layer('js', optimizer, V, H, 3);
        const wasm = layer('wasm-simd', optimizer, V, H, 3);
        expect(js.kernel).toBe('js');
        expect(wasm.kernel).toBe('wasm-simd');
        const r = new Random(9);
        const before = js.weights.slice();
        for (let step = 0; step < 5; step++) {
          const x = batch(r, 9, V);
          const zJs = js.forward(x).slice();
          const zWasm = wasm.forward(x).slice();
          expect(zJs.length).toBe(9 * H);
          // row 0 has no entries: z = b exactly
          expect(Array.from(zWasm.subarray(0, H))).toEqual(Array.from(wasm.bias));
          expect(maxAbsoluteError(zWasm, zJs)).toBeLessThan(1e-5);
          const dz = Float32Array.from({ length: 9 * H }, () => r.next() - 0.5);
          js.update(x, dz, 0.02);
          wasm.update(x, dz, 0.02);
        }
        expect(maxAbsoluteError(wasm.weights, js.weights)).toBeLessThan(1e-4);
        expect(Array.from(wasm.bias)).toEqual(Array.from(js.bias));
        // the updates moved the rows present in the batches, and only those
        let moved = 0;
        for (let i = 0; i < V * H; i++) if (js.weights[i] !== before[i]) moved++;
        expect(moved).toBeGreaterThan(H * 4);
        expect(moved % H).toBe(0);
      });
    }
  }

  it('setWeights replaces W and b; the same seed gives the same weights (deterministic)', () => {
    const V = 30;
    const H = 12;
    const opt: OptimizerConfig = { name: 'adam', learningRate: 0.01 };
    const a = layer('wasm-simd', opt, V, H, 1);
    const b = layer('wasm-simd', opt, V, H, 1);
    const r = new Random(2);
    for (let step = 0; step < 3; step++) {
      const x = batch(r, 6, V);
      const dz = Float32Array.from({ length: 6 * H }, () => r.next() - 0.5);
      a.forward(x);
      b.forward(x);
      a.update(x, dz, 0);
      b.update(x, dz, 0);
    }
    expect(Array.from(a.weights)).toEqual(Array.from(b.weights));
    const w = Float32Array.from({ length: V * H }, (_, i) => i / 1000);
    a.setWeights(w, new Float32Array(H).fill(0.5));
    expect(Array.from(a.weights)).toEqual(Array.from(w));
    const z = a.forward(csrFromRows([[[2, 2]]], V));
    expect(Array.from(z)).toEqual(Array.from(w.subarray(2 * H, 3 * H), (v) => Math.fround(0.5 + 2 * v)));
  });

  it('rejects weights of the wrong shape and a batch of the wrong width', () => {
    const opt: OptimizerConfig = { name: 'adam', learningRate: 0.01 };
    expect(() => new SparseDenseLayer(opt, 10, 4, new Float32Array(39), new Float32Array(4))).toThrow(
      /W has 39 values, expected 10 x 4/,
    );
    const l = layer('wasm-simd', opt, 10, 4, 1);
    expect(() => l.forward(csrFromRows([[[1, 1]]], 11))).toThrow(/batch has 11 features, layer 10/);
  });
});

describe('first-layer regularization (reference, blockMix, blockTransform) in both kernels', () => {
  for (const [kernel, threads] of [
    ['js', 1],
    ['wasm-simd', 1],
    ['wasm-simd', 2],
  ] as const) {
    it(`blockMix and blockTransform add their gradients to the touched rows only (one Adagrad step by hand; ${kernel}, ${threads} thread(s))`, () => {
      // W [3 features, width 4] = two blocks of width 2; the batch touches features 0 and 2.
      const V = 3;
      const H = 4;
      const lr = 0.1;
      const w0 = Float32Array.from([0.5, -1, 2, 0.25, 1, 1, 1, 1, -0.5, 0.75, 1.5, -2]);
      const l = new SparseDenseLayer(
        { name: 'adagrad', learningRate: lr },
        V,
        H,
        w0,
        new Float32Array(H),
        kernel,
        threads,
      );
      expect(l.kernel).toBe(kernel);
      const x = csrFromRows(
        [
          [[0, 2]],
          [
            [0, 1],
            [2, 3],
          ],
        ],
        V,
      );
      const dz = Float32Array.from([1, 0, -1, 2, 0.5, 0.5, 0, -1]);
      const mix = Float32Array.from([1, -1, -1, 1]);
      // block 0 maps by [[0, 1], [2, 0]], block 1 by [[1, 0], [0, 0]] (row vector times matrix)
      const transforms = Float32Array.from([0, 1, 2, 0, 1, 0, 0, 0]);
      l.update(x, dz, {
        decay: 0.5,
        blockMix: { blocks: 2, matrix: mix, strength: 0.3 },
        blockTransform: { blocks: 2, matrices: transforms, strength: 0.2 },
      });
      // Row gradients of the data term: feature 0 = 2 dz[0] + 1 dz[1]; feature 2 = 3 dz[1].
      const data = [
        [2 * 1 + 0.5, 2 * 0 + 0.5, 2 * -1 + 0, 2 * 2 - 1],
        [1.5, 1.5, 0, -3],
      ];
      const expected = Float32Array.from(w0);
      for (const [k, f] of [0, 2].entries()) {
        const w = Array.from(w0.subarray(f * H, f * H + H));
        const g = data[k]!.map((d, h) => d + 0.5 * w[h]!);
        // blockMix: g_0 += 0.3 (w_0 - w_1), g_1 += 0.3 (w_1 - w_0)
        for (let h = 0; h < 2; h++) {
          g[h]! += 0.3 * (w[h]! - w[2 + h]!);
          g[2 + h]! += 0.3 * (w[2 + h]! - w[h]!);
        }
        // blockTransform: block 0 [a, b] -> [2b, a]; block 1 [c, d] -> [c, 0]
        g[0]! += 0.2 * 2 * w[1]!;
        g[1]! += 0.2 * w[0]!;
        g[2]! += 0.2 * w[2]!;
        for (let h = 0; h < H; h++)
          expected[f * H + h] = w[h]! - (lr * g[h]!) / Math.sqrt(0.1 + g[h]! ** 2 + 1e-7);
      }
      expect(maxAbsoluteError(l.weights, expected)).toBeLessThan(1e-6);
      expect(Array.from(l.weights.subarray(H, 2 * H))).toEqual([1, 1, 1, 1]);
      expect(() =>
        l.update(x, dz, { decay: 0, blockTransform: { blocks: 3, matrices: transforms, strength: 1 } }),
      ).toThrow(/blockTransform: 3 blocks do not divide width 4/);
      l.dispose();
    });
  }

  it('wasm-simd with a reference, blockMix and blockTransform agrees with js over 5 Adam steps, on 1 and 2 threads alike', () => {
    const V = 40;
    const H = 8;
    const opt: OptimizerConfig = { name: 'adam', learningRate: 0.01 };
    const r0 = new Random(6);
    const reference = Float32Array.from({ length: V * H }, () => r0.next() - 0.5);
    const reg = {
      decay: 0.01,
      reference: { weights: reference, strength: 0.4 },
      blockMix: { blocks: 2, matrix: Float32Array.from([0.5, -0.5, -0.5, 0.5]), strength: 0.3 },
      blockTransform: {
        blocks: 2,
        matrices: Float32Array.from({ length: 2 * 4 * 4 }, (_, i) => ((i * 7) % 5) / 5 - 0.4),
        strength: 0.2,
      },
    };
    const js = layer('js', opt, V, H, 8);
    const wasm = layer('wasm-simd', opt, V, H, 8);
    const r = new Random(8);
    const w = glorotUniform(V, H, r);
    const b = Float32Array.from({ length: H }, () => r.next() - 0.5);
    const wasm2 = new SparseDenseLayer(opt, V, H, w, b, 'wasm-simd', 2);
    try {
      const before = js.weights.slice();
      const rs = new Random(12);
      for (let step = 0; step < 5; step++) {
        const x = batch(rs, 9, V);
        const dz = Float32Array.from({ length: 9 * H }, () => rs.next() - 0.5);
        for (const l of [js, wasm, wasm2]) {
          l.forward(x);
          l.update(x, dz, reg);
        }
      }
      expect(maxAbsoluteError(wasm.weights, js.weights)).toBeLessThan(1e-5);
      expect(Array.from(wasm2.weights)).toEqual(Array.from(wasm.weights));
      // the extra terms moved the touched rows beyond what the data term alone does
      const plain = layer('wasm-simd', opt, V, H, 8);
      const rs2 = new Random(12);
      for (let step = 0; step < 5; step++) {
        const x = batch(rs2, 9, V);
        const dz = Float32Array.from({ length: 9 * H }, () => rs2.next() - 0.5);
        plain.update(x, dz, reg.decay);
      }
      expect(maxAbsoluteError(plain.weights, wasm.weights)).toBeGreaterThan(1e-3);
      expect(maxAbsoluteError(before, js.weights)).toBeGreaterThan(1e-3);
    } finally {
      wasm2.dispose();
    }
  });
});

describe('worker threads of the wasm kernel (MHMTL_THREADS)', () => {
  afterEach(() => {
    delete process.env[THREADS_ENV];
  });

  it('reads MHMTL_THREADS: unset is 1, an integer is taken, anything else is refused', () => {
    expect(defaultThreads()).toBe(1);
    process.env[THREADS_ENV] = '2';
    expect(defaultThreads()).toBe(2);
    process.env[THREADS_ENV] = 'two';
    expect(() => defaultThreads()).toThrow("MHMTL_THREADS: expected an integer from 1 to 64, got 'two'");
    process.env[THREADS_ENV] = '0';
    expect(() => defaultThreads()).toThrow(/got '0'/);
  });

  // Each batch is cut into parts that write disjoint rows with the one-thread arithmetic, so the
  // thread count changes nothing: forward outputs and weights are equal bit for bit.
  for (const H of [8, 7]) {
    for (const optimizer of [
      { name: 'adam', learningRate: 0.01 },
      { name: 'adagrad', learningRate: 0.05, initialAccumulator: 0.1 },
    ] as OptimizerConfig[]) {
      it(`2 and 3 threads give the one-thread forward pass and ${optimizer.name} weights bit for bit (width ${H})`, () => {
        const V = 60;
        const make = (threads: number) => {
          const r = new Random(4);
          const w = glorotUniform(V, H, r);
          const b = Float32Array.from({ length: H }, () => r.next() - 0.5);
          return new SparseDenseLayer(optimizer, V, H, w, b, 'wasm-simd', threads);
        };
        const layers = [make(1), make(2), make(3)];
        try {
          expect(layers.map((l) => l.threads)).toEqual([1, 2, 3]);
          const r = new Random(11);
          for (let step = 0; step < 5; step++) {
            const x = batch(r, 10, V);
            const dz = Float32Array.from({ length: 10 * H }, () => r.next() - 0.5);
            const z = layers.map((l) => Array.from(l.forward(x)));
            expect(z[1]).toEqual(z[0]);
            expect(z[2]).toEqual(z[0]);
            for (const l of layers) l.update(x, dz, 0.02);
          }
          const one = Array.from(layers[0]!.weights);
          expect(Array.from(layers[1]!.weights)).toEqual(one);
          expect(Array.from(layers[2]!.weights)).toEqual(one);
          // and the steps did move W
          expect(one).not.toEqual(Array.from(make(1).weights));
        } finally {
          for (const l of layers) l.dispose();
        }
      });
    }
  }

  it('a hard-sharing network trained on 2 threads has the weights of the one trained on 1 thread', async () => {
    await initTensorflow();
    const data = syntheticSparseData(150, 400, 20, 3, 5);
    const train = async (threads: string) => {
      process.env[THREADS_ENV] = threads;
      const m = new NeuralModel({
        tasks: data.tasks,
        architectureConfig: { hidden: [12] },
        training: { epochs: 2, batchSize: 32, seed: 3, minEpochs: 2 },
      });
      await m.fit(data);
      const weights = m.weights().map((w) => Array.from(w));
      m.dispose();
      return weights;
    };
    const one = await train('1');
    const two = await train('2');
    expect(two).toEqual(one);
    expect(await train('2')).toEqual(two);
  });

  it('block mixing by a I + b 11^T (the fast path) and by any other matrix give the by-hand update', () => {
    // 3 blocks of width 1, one feature touched once with dz = 0 so the gradient is the mix alone
    const w0 = Float32Array.from([0.5, -1, 2]);
    const step = (matrix: number[]): Float32Array => {
      const l = new SparseDenseLayer(
        { name: 'adagrad', learningRate: 0.1 },
        1,
        3,
        w0,
        new Float32Array(3),
        'js',
      );
      l.update(csrFromRows([[[0, 1]]], 1), new Float32Array(3), {
        decay: 0,
        blockMix: { blocks: 3, matrix: Float32Array.from(matrix), strength: 0.3 },
      });
      return l.weights.slice();
    };
    const byHand = (matrix: number[]): Float32Array =>
      Float32Array.from([0, 1, 2], (k) => {
        let g = 0;
        for (let j = 0; j < 3; j++) g += 0.3 * matrix[k * 3 + j]! * w0[j]!;
        return w0[k]! - (0.1 * g) / Math.sqrt(0.1 + g * g + 1e-7);
      });
    const coupling = [2 / 3, -1 / 3, -1 / 3, -1 / 3, 2 / 3, -1 / 3, -1 / 3, -1 / 3, 2 / 3];
    expect(identityPlusConstant(Float32Array.from(coupling), 3)).not.toBeNull();
    expect(maxAbsoluteError(step(coupling), byHand(coupling))).toBeLessThan(1e-6);
    const general = [1, 0.5, 0, -1, 1, 0.25, 0, 2, 1];
    expect(identityPlusConstant(Float32Array.from(general), 3)).toBeNull();
    expect(maxAbsoluteError(step(general), byHand(general))).toBeLessThan(1e-6);
    const a = identityPlusConstant(Float32Array.from([3, 0.5, 0.5, 3]), 2);
    expect(a).toEqual({ a: 2.5, b: 0.5 });
  });
});
