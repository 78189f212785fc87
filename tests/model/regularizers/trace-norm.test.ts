import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTensorflow } from '../../../src/model/backend.js';
import { symmetricEigen } from '../../../src/model/linalg.js';
import {
  gramOfRows,
  traceNormFromGram,
  traceNormGradientMatrix,
  traceNormPenalty,
} from '../../../src/model/regularizers/trace-norm.js';

// Reference values from numpy 1.24 (/usr/bin/python3): np.linalg.svd(M) -> s.sum() and U @ Vt
// (the gradient of the trace norm at a full-row-rank M), np.linalg.eigh(M @ M.T).
const M2 = [
  [1, 2, 3],
  [4, 5, 6],
];
const M3 = [
  [0.5, -1, 2, 0],
  [1, 1, -1, 3],
  [2, -2, 4, 0.5],
];
const M3_TRACE_NORM = 9.15123369347164; // 5.468055422396576 + 3.3935989308255077 + 0.2895793402495566
const M3_EIGENVALUES = [0.08385619429937041, 11.516513703300031, 29.899630102400604];
const M3_UVT = [
  [-0.6398495473, -0.1760576667, 0.6656062913, 0.3414154651],
  [0.2493954232, 0.2470264309, -0.1674691953, 0.9212675691],
  [0.7209275075, -0.355803821, 0.5946407809, 0.0083373609],
];

describe('trace norm (Yang & Hospedales 2017)', () => {
  beforeAll(async () => {
    await initTensorflow();
  });

  it('Jacobi eigenvalues of M M^T and the trace norm equal numpy', () => {
    const gram = gramOfRows(M3);
    const { values, vectors } = symmetricEigen(gram, 3);
    expect([...values].sort((a, b) => a - b).map((v) => Number(v.toFixed(10)))).toEqual(
      M3_EIGENVALUES.map((v) => Number(v.toFixed(10))),
    );
    // G v_k = lambda_k v_k
    for (let k = 0; k < 3; k++)
      for (let i = 0; i < 3; i++) {
        let gv = 0;
        for (let j = 0; j < 3; j++) gv += gram[i * 3 + j]! * vectors[j * 3 + k]!;
        expect(gv).toBeCloseTo(values[k]! * vectors[i * 3 + k]!, 10);
      }
    expect(traceNormFromGram(gram, 3)).toBeCloseTo(M3_TRACE_NORM, 10);
    // 2 x 3 by hand: singular values 9.5080320007 and 0.7728696357
    expect(traceNormFromGram(gramOfRows(M2), 2)).toBeCloseTo(10.280901636369208, 10);
  });

  it('the gradient P M is U V^T (tfjs penalty through customGrad, rows given as separate tensors)', () => {
    const rows = M3.map((r) => tf.tensor1d(r));
    const { value, grads } = tf.tidy(() => {
      const r = tf.valueAndGrads((...xs: tf.Tensor[]) => traceNormPenalty(xs))(rows);
      return { value: r.value.dataSync()[0]!, grads: r.grads.map((g) => Array.from(g.dataSync())) };
    });
    // the smoothing (1e-6 x mean eigenvalue) moves the value by about 3 x 0.5 x 1e-5 / 0.29
    expect(value).toBeCloseTo(M3_TRACE_NORM, 4);
    grads.forEach((g, t) => {
      for (const [i, v] of g.entries()) expect(v).toBeCloseTo(M3_UVT[t]![i]!, 3);
    });
    // exact without smoothing: P = (M M^T)^{-1/2}
    const p = traceNormGradientMatrix(gramOfRows(M3), 3, 0);
    for (let t = 0; t < 3; t++)
      for (let i = 0; i < 4; i++) {
        let pm = 0;
        for (let j = 0; j < 3; j++) pm += p[t * 3 + j]! * M3[j]![i]!;
        expect(pm).toBeCloseTo(M3_UVT[t]![i]!, 5);
      }
    tf.dispose(rows);
  });

  it('one task: the trace norm is the Frobenius norm; identical rows have rank 1', () => {
    expect(traceNormFromGram(gramOfRows([[3, 4]]), 1)).toBeCloseTo(5, 12);
    // two equal rows [3, 4]: M M^T = [[25, 25], [25, 25]], eigenvalues 50 and 0 -> sqrt(50)
    expect(
      traceNormFromGram(
        gramOfRows([
          [3, 4],
          [3, 4],
        ]),
        2,
      ),
    ).toBeCloseTo(Math.sqrt(50), 10);
    expect(() =>
      traceNormGradientMatrix(
        gramOfRows([
          [3, 4],
          [3, 4],
        ]),
        2,
        0,
      ),
    ).toThrow(/singular/);
  });
});
