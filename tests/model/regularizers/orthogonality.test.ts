import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTensorflow } from '../../../src/model/backend.js';
import {
  crossSubspaceGram,
  orthogonalityFromCrossGram,
  subspaceOrthogonalityPenalty,
} from '../../../src/model/regularizers/orthogonality.js';

// A kernel [4, 6] in three subspaces of two columns; value and gradient by torch 1.13
// (/usr/bin/python3): sum over subspace pairs of ((K[:, a].T @ K[:, b]) ** 2).sum(), .backward().
const K = [
  [0.5, -1, 2, 0, 1, 0.25],
  [1, 1, -1, 3, 0, 2],
  [2, -2, 4, 0.5, -1, 1],
  [0, 1, 1, -2, 0.5, 0.5],
];
const K_PENALTY = 245.328125;
const K_GRAD = [
  [31.0625, -36.875, 26.5, 3.75, -10.5, 15.625],
  [24.5, 21.0, 8.0, 30.0, -6.0, 35.75],
  [79.25, -82.5, 81.0, 30.0, -25.5, 45.0],
  [2.625, -18.25, -18.5, 4.0, 6.0, -15.5],
];

/** Two subspaces of two columns over 3 inputs: [e1, e2] and a pair tilted from e3 toward e1 by `angle`. */
function tilted(angle: number): number[][] {
  return [
    [1, 0, Math.sin(angle), 0],
    [0, 1, 0, 0],
    [0, 0, Math.cos(angle), 2],
  ];
}

describe('subspace orthogonality (Ruder et al. 2019)', () => {
  beforeAll(async () => {
    await initTensorflow();
  });

  it('is 0 for orthogonal subspaces and grows as they align (sin^2 of the tilt, by hand)', () => {
    const values = [0, 0.3, 0.8, Math.PI / 2].map((a) =>
      tf.tidy(() => subspaceOrthogonalityPenalty(tf.tensor2d(tilted(a)), 2).dataSync()[0]!),
    );
    expect(values[0]).toBe(0);
    for (const [i, v] of values.entries())
      expect(v).toBeCloseTo(Math.sin([0, 0.3, 0.8, Math.PI / 2][i]!) ** 2, 6);
    for (let i = 1; i < values.length; i++) expect(values[i]!).toBeGreaterThan(values[i - 1]!);
  });

  it('value and gradient equal torch on a 3-subspace kernel', () => {
    const k = tf.tensor2d(K);
    const { value, grad } = tf.tidy(() => {
      const r = tf.valueAndGrad((x: tf.Tensor) => subspaceOrthogonalityPenalty(x as tf.Tensor2D, 3))(k);
      return { value: r.value.dataSync()[0]!, grad: Array.from(r.grad.dataSync()) };
    });
    expect(value).toBeCloseTo(K_PENALTY, 3);
    for (const [i, g] of grad.entries()) expect(g).toBeCloseTo(K_GRAD[Math.floor(i / 6)]![i % 6]!, 3);
    k.dispose();
  });

  it('the cross-subspace Gram matrix of a packed block gives the value and the row gradients 2 w_f A', () => {
    // K packed as the second block (columns 2..7) of a [4, 9] matrix
    const packed = new Float32Array(4 * 9);
    for (const [r, row] of K.entries()) packed.set(row, r * 9 + 2);
    for (let r = 0; r < 4; r++) {
      packed[r * 9] = 7;
      packed[r * 9 + 8] = -3;
    }
    const a = crossSubspaceGram(packed, 9, 2, 6, 3);
    expect(orthogonalityFromCrossGram(a)).toBeCloseTo(K_PENALTY, 3);
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 6; c++) {
        let g = 0;
        for (let b = 0; b < 6; b++) g += 2 * K[r]![b]! * a[b * 6 + c]!;
        expect(g).toBeCloseTo(K_GRAD[r]![c]!, 3);
      }
  });
});
