import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTensorflow } from '../../../src/model/backend.js';
import {
  l2CouplingMatrix,
  l2CouplingPenalty,
  l2CouplingValue,
} from '../../../src/model/regularizers/l2-coupling.js';

describe('L2 coupling to the towers mean (Duong et al. 2015)', () => {
  beforeAll(async () => {
    await initTensorflow();
  });

  // By hand: W = [1, 2], [3, 6], [2, 1]; mean [2, 3]; squared distances 2, 10, 4 -> 16;
  // gradients 2 (W_k - mean) = [-2, -2], [2, 6], [0, -4].
  const W = [
    [1, 2],
    [3, 6],
    [2, 1],
  ];

  it('value and gradient of the tfjs penalty, and the JavaScript value', () => {
    expect(l2CouplingValue(W)).toBe(16);
    const xs = W.map((w) => tf.tensor1d(w));
    const { value, grads } = tf.tidy(() => {
      const r = tf.valueAndGrads((...p: tf.Tensor[]) => l2CouplingPenalty(p))(xs);
      return { value: r.value.dataSync()[0]!, grads: r.grads.map((g) => Array.from(g.dataSync())) };
    });
    expect(value).toBeCloseTo(16, 5);
    expect(grads).toEqual([
      [-2, -2],
      [2, 6],
      [0, -4],
    ]);
    tf.dispose(xs);
  });

  it('the block-mixing matrix I - 11^T/T gives the same gradient row by row: 2 sum_j m[k,j] w_j', () => {
    const m = l2CouplingMatrix(3);
    expect(Array.from(m, (v) => Number(v.toFixed(6)))).toEqual(
      [2 / 3, -1 / 3, -1 / 3, -1 / 3, 2 / 3, -1 / 3, -1 / 3, -1 / 3, 2 / 3].map((v) => Number(v.toFixed(6))),
    );
    const grad = [0, 1, 2].map((k) =>
      [0, 1].map((h) => 2 * [0, 1, 2].reduce((s, j) => s + m[k * 3 + j]! * W[j]![h]!, 0)),
    );
    for (const [i, g] of grad.flat().entries()) expect(g).toBeCloseTo([-2, -2, 2, 6, 0, -4][i]!, 6);
  });
});
