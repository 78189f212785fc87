import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTensorflow } from '../../src/model/backend.js';
import { matMul, wasmWorkaroundsInstalled } from '../../src/model/ops.js';
import { Random } from '../../src/model/random.js';

function reference(a: Float32Array, b: Float32Array, m: number, k: number, n: number): Float32Array {
  const out = new Float32Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let q = 0; q < k; q++) s += a[i * k + q]! * b[q * n + j]!;
      out[i * n + j] = s;
    }
  return out;
}

function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = a[i * cols + j]!;
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

describe('wasm workarounds', () => {
  const r = new Random(11);
  const [m, k, n] = [7, 33, 5];
  const a = Float32Array.from({ length: m * k }, () => r.next() - 0.5);
  const b = Float32Array.from({ length: k * n }, () => r.next() - 0.5);
  const expected = reference(a, b, m, k, n);

  beforeAll(async () => {
    expect(await initTensorflow()).toBe('wasm');
  });

  it('installs the BatchMatMul kernel override on wasm', () => {
    expect(wasmWorkaroundsInstalled()).toBe(true);
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('tf.matMul and ops.matMul with transposeA=%s transposeB=%s equal the plain product', (ta, tb) => {
    const before = tf.memory().numTensors;
    const at = tf.tensor2d(ta ? transpose(a, m, k) : a, ta ? [k, m] : [m, k]);
    const bt = tf.tensor2d(tb ? transpose(b, k, n) : b, tb ? [n, k] : [k, n]);
    const viaKernel = tf.matMul(at, bt, ta, tb);
    const viaOps = matMul(at, bt, ta, tb);
    expect(viaKernel.shape).toEqual([m, n]);
    expect(maxAbsDiff(viaKernel.dataSync(), expected)).toBeLessThan(1e-5);
    expect(maxAbsDiff(viaOps.dataSync(), expected)).toBeLessThan(1e-5);
    tf.dispose([at, bt, viaKernel, viaOps]);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('gradients of a matMul (transposed multiplies inside) equal the closed form', () => {
    const at = tf.tensor2d(a, [m, k]);
    const bt = tf.tensor2d(b, [k, n]);
    const [ga, gb] = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
      tf.sum(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)),
    )([at, bt]);
    // d/dA sum(AB) = 1 B^T: row i of dA is the row sums of B; d/dB = A^T 1.
    const rowSumsB = Float32Array.from({ length: k }, (_, q) =>
      b.slice(q * n, q * n + n).reduce((s, v) => s + v, 0),
    );
    const colSumsA = Float32Array.from({ length: k }, (_, q) => {
      let s = 0;
      for (let i = 0; i < m; i++) s += a[i * k + q]!;
      return s;
    });
    const ga0 = ga!.dataSync();
    const gb0 = gb!.dataSync();
    for (let i = 0; i < m; i++)
      for (let q = 0; q < k; q++) expect(Math.abs(ga0[i * k + q]! - rowSumsB[q]!)).toBeLessThan(1e-5);
    for (let q = 0; q < k; q++)
      for (let j = 0; j < n; j++) expect(Math.abs(gb0[q * n + j]! - colSumsA[q]!)).toBeLessThan(1e-5);
    tf.dispose([at, bt, ga!, gb!]);
  });

  it('batched (rank 3) transposed products equal the plain product', () => {
    const at = tf.tensor3d(transpose(a, m, k), [1, k, m]);
    const bt = tf.tensor3d(b, [1, k, n]);
    const out = tf.matMul(at, bt, true, false);
    expect(out.shape).toEqual([1, m, n]);
    expect(maxAbsDiff(out.dataSync(), expected)).toBeLessThan(1e-5);
    tf.dispose([at, bt, out]);
  });
});
