import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { csrFromRows } from '../../src/features/csr.js';
import { initTensorflow } from '../../src/model/backend.js';
import { maskLabels, maskedBinaryCrossEntropy } from '../../src/model/losses.js';
import { RowOptimizer } from '../../src/model/optimizers.js';
import { glorotUniform, Random } from '../../src/model/random.js';
import { EmbeddingBagGradient, embeddingBagForward } from '../../src/model/layers/embedding-bag.js';
import { densify } from './synthetic.js';

const r = new Random(5);
const V = 40;
const H = 6;
const x = csrFromRows(
  Array.from({ length: 9 }, (_, i) =>
    Array.from({ length: 1 + (i % 5) }, () => [r.int(V), r.next()] as [number, number]),
  ),
  V,
);
const W = glorotUniform(V, H, r);
const b = Float32Array.from({ length: H }, () => r.next() - 0.5);

describe('sparse first layer (embedding-bag)', () => {
  beforeAll(async () => {
    await initTensorflow();
  });

  it('forward equals a dense matMul over the densified x', () => {
    const z = embeddingBagForward(x, W, b, H);
    const dense = tf.tidy(() =>
      tf
        .add(tf.matMul(tf.tensor2d(densify(x), [x.rows, V]), tf.tensor2d(W, [V, H])), tf.tensor1d(b))
        .dataSync(),
    );
    expect(z.length).toBe(x.rows * H);
    for (let i = 0; i < z.length; i++) expect(Math.abs(z[i]! - dense[i]!)).toBeLessThan(1e-5);
  });

  it('gradient equals tfjs autodiff of the dense equivalent network', () => {
    const K = Float32Array.from({ length: H * 3 }, () => r.next() - 0.5);
    const labels = maskLabels(
      Float32Array.from({ length: x.rows * 3 }, (_, i) => (i % 7 === 0 ? Number.NaN : i % 2)),
      3,
    );
    const pos = Float32Array.of(1, 2, 3);
    const rest = (z: tf.Tensor) =>
      tf.sum(
        maskedBinaryCrossEntropy(tf.matMul(tf.relu(z) as tf.Tensor2D, tf.tensor2d(K, [H, 3])), labels, pos),
      );
    // Autodiff through a dense first layer.
    const [dW, db] = tf.tidy(() => {
      const g = tf.grads(
        (w: tf.Tensor, bias: tf.Tensor) =>
          rest(tf.add(tf.matMul(tf.tensor2d(densify(x), [x.rows, V]), w as tf.Tensor2D), bias)) as tf.Scalar,
      )([tf.tensor2d(W, [V, H]), tf.tensor1d(b)]);
      return [g[0]!.dataSync(), g[1]!.dataSync()];
    });
    // The sparse path: tfjs gives dL/dz only, the embedding-bag the rest.
    const z = embeddingBagForward(x, W, b, H);
    const dz = tf.tidy(() =>
      tf
        .grad((t: tf.Tensor) => rest(t) as tf.Scalar)(tf.tensor2d(z, [x.rows, H]))
        .dataSync(),
    );
    const g = new EmbeddingBagGradient(V, H);
    g.compute(x, dz as Float32Array);
    const sparse = new Float32Array(V * H);
    const row = new Float32Array(H);
    for (let t = 0; t < g.touched; t++) {
      g.row(t, row);
      sparse.set(row, g.features[t]! * H);
    }
    const present = new Set(x.indices);
    expect(g.touched).toBe(present.size);
    let nonZero = 0;
    for (let i = 0; i < V * H; i++) {
      expect(Math.abs(sparse[i]! - dW![i]!)).toBeLessThan(1e-5);
      if (dW![i] !== 0) nonZero++;
    }
    expect(nonZero).toBeGreaterThan(0);
    for (let h = 0; h < H; h++) expect(Math.abs(g.bias[h]! - db![h]!)).toBeLessThan(1e-5);
  });
});

describe('fused sparse update', () => {
  it('Adam on bag rows (single entries read in place, L2 folded in) equals Adam on the explicit gradient', () => {
    const dz = Float32Array.from({ length: x.rows * H }, () => r.next() - 0.5);
    const g = new EmbeddingBagGradient(V, H);
    g.compute(x, dz);
    // explicit gradient matrix [V, H], one entry at a time
    const dense = new Float32Array(V * H);
    for (let i = 0; i < x.rows; i++) {
      for (let k = x.indptr[i]!; k < x.indptr[i + 1]!; k++) {
        for (let h = 0; h < H; h++) dense[x.indices[k]! * H + h]! += x.values[k]! * dz[i * H + h]!;
      }
    }
    const l2 = 0.01;
    const reference = W.slice();
    const fused = W.slice();
    const optA = new RowOptimizer({ name: 'adam', learningRate: 0.01 }, V, H);
    const optB = new RowOptimizer({ name: 'adam', learningRate: 0.01 }, V, H);
    const row = new Float32Array(H);
    let singles = 0;
    for (let step = 0; step < 3; step++) {
      optA.beginStep();
      optB.beginStep();
      for (let t = 0; t < g.touched; t++) {
        const f = g.features[t]!;
        const explicit = new Float32Array(H);
        for (let h = 0; h < H; h++) explicit[h] = dense[f * H + h]! + 2 * l2 * reference[f * H + h]!;
        optA.updateRow(reference, f, explicit, 0);
        if (g.count(t) === 1) {
          singles++;
          optB.updateRow(fused, f, dz, g.firstOffset(t), 2 * l2, g.firstValue(t));
        } else {
          g.row(t, row);
          optB.updateRow(fused, f, row, 0, 2 * l2);
        }
      }
    }
    expect(singles).toBeGreaterThan(0);
    expect(singles).toBeLessThan(3 * g.touched);
    let moved = 0;
    for (let i = 0; i < V * H; i++) {
      expect(Math.abs(fused[i]! - reference[i]!)).toBeLessThan(1e-6);
      if (fused[i] !== W[i]) moved++;
    }
    expect(moved).toBe(g.touched * H);
  });
});
