import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initTensorflow } from '../../src/model/backend.js';
import { maskLabels, maskedBinaryCrossEntropy, positiveWeights } from '../../src/model/losses.js';
import { createWeighting } from '../../src/model/weighting/index.js';

const bce = (z: number, y: number) =>
  -(y * Math.log(1 / (1 + Math.exp(-z))) + (1 - y) * Math.log(1 - 1 / (1 + Math.exp(-z))));

describe('masked multi-task loss', () => {
  beforeAll(async () => {
    await initTensorflow();
  });

  it('unknown labels contribute nothing; known ones give the weighted mean BCE', () => {
    const logits = [0.5, -1, 2, 0.3, -0.7, 1.5];
    const labels = Float32Array.of(1, Number.NaN, 0, Number.NaN, Number.NaN, 1); // [3 units, 2 tasks]
    const masked = maskLabels(labels, 2);
    expect([...masked.counts]).toEqual([2, 1]);
    const pos = Float32Array.of(3, 1);
    const loss = tf.tidy(() => maskedBinaryCrossEntropy(tf.tensor2d(logits, [3, 2]), masked, pos).dataSync());
    expect(loss[0]).toBeCloseTo((3 * bce(0.5, 1) + bce(2, 0)) / 2, 5);
    expect(loss[1]).toBeCloseTo(bce(1.5, 1), 5);
    // Changing the logits of unknown labels, even to non-finite values, changes nothing.
    const other = [0.5, Number.NaN, 2, 1e9, Number.POSITIVE_INFINITY, 1.5];
    const again = tf.tidy(() => maskedBinaryCrossEntropy(tf.tensor2d(other, [3, 2]), masked, pos).dataSync());
    expect([...again]).toEqual([...loss]);
  });

  it('a task without labels in the batch contributes exactly 0, never NaN', () => {
    const masked = maskLabels(Float32Array.of(1, Number.NaN, 0, Number.NaN), 2);
    const loss = tf.tidy(() =>
      maskedBinaryCrossEntropy(tf.tensor2d([3, 4, -2, -5], [2, 2]), masked, Float32Array.of(1, 1)).dataSync(),
    );
    expect(loss[1]).toBe(0);
    expect(Number.isFinite(loss[0]!)).toBe(true);
    expect(loss[0]).toBeGreaterThan(0);
  });

  it("'balanced' positive weights are negatives/positives on train, within [1, cap]", () => {
    // task a: 1 positive, 3 negatives -> 3; task b: 1 positive, 0 negatives -> 1 (floor);
    // task c: no positives -> 1; task d: 1 positive, 3 negatives, cap 2 -> 2
    const y = Float32Array.of(1, 1, 0, 1, 0, Number.NaN, 0, 0, 0, Number.NaN, 0, 0, 0, Number.NaN, 0, 0);
    expect([...positiveWeights('balanced', ['a', 'b', 'c', 'd'], y)]).toEqual([3, 1, 1, 3]);
    expect([...positiveWeights('balanced', ['a', 'b', 'c', 'd'], y, 2)]).toEqual([2, 1, 1, 2]);
    expect([...positiveWeights('none', ['a', 'b'], Float32Array.of(1, 0))]).toEqual([1, 1]);
    expect([...positiveWeights({ b: 4 }, ['a', 'b'], Float32Array.of(1, 0))]).toEqual([1, 4]);
  });

  it('fixed task weighting gives main and auxiliary tasks their configured weights', () => {
    const context = { seed: 1, learningRate: 0.001 };
    const w = createWeighting(
      { method: 'fixed', main_weight: 2, aux_weight: 0.5, weights: { c: 3 } },
      { tasks: ['a', 'gender', 'c'], mainTasks: ['a', 'c'], ...context },
    );
    expect(w.gradients).toBe('loss');
    expect([...w.batchWeights()]).toEqual([2, 0.5, 3]);
    expect(() => createWeighting({ method: 'nope' }, { tasks: ['a'], mainTasks: ['a'], ...context })).toThrow(
      /unknown task weighting/,
    );
  });

  it('fixed task weighting ignores a weight for a task of the run that its model does not predict', () => {
    // Failed before ("task weight for unknown task 'gender'") for every single-task baseline and
    // the MTL model without auxiliary tasks of a pipeline whose tasks.weights names gender.
    const w = createWeighting(
      { method: 'fixed', weights: { gender: 0.5, anxiety: 2 } },
      { tasks: ['anxiety'], mainTasks: ['anxiety'], seed: 1, learningRate: 0.001 },
    );
    expect([...w.batchWeights()]).toEqual([2]);
  });
});
