import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CsrMatrix, csrFromRows } from '../../src/features/csr.js';
import { architectureNames, getArchitecture } from '../../src/model/architectures/index.js';
import type { Network } from '../../src/model/architectures/architecture.js';
import { gradientTimesInput, topFeatures } from '../../src/model/attribution.js';
import { initTensorflow } from '../../src/model/backend.js';
import { LogisticRegression } from '../../src/model/baselines/logistic-regression.js';
import { ForwardContext } from '../../src/model/layers/forward-context.js';
import { NeuralModel } from '../../src/model/neural-model.js';
import { Random } from '../../src/model/random.js';
import type { TrainingData } from '../../src/model/types.js';
import { densify } from './synthetic.js';
import { networkSpec } from './architectures/helpers.js';

beforeAll(async () => {
  await initTensorflow();
});

/**
 * A cohort where task `a` is positive exactly when feature 7 is present and task `b` exactly when
 * feature 3 is: each is its task's only signal; features 10..39 are noise (5 per unit).
 */
function plantedCohort(units: number, seed: number): TrainingData {
  const r = new Random(seed);
  const rows: [number, number][][] = [];
  const y = new Float32Array(units * 2);
  for (let i = 0; i < units; i++) {
    const entries: [number, number][] = [];
    const a = r.next() < 0.4;
    const b = r.next() < 0.3;
    if (a) entries.push([7, 1]);
    if (b) entries.push([3, 1]);
    for (let k = 0; k < 5; k++) entries.push([10 + Math.floor(r.next() * 30), 1]);
    const norm = Math.hypot(...entries.map((e) => e[1]));
    rows.push(entries.map(([c, v]) => [c, v / norm]));
    y[i * 2] = a ? 1 : 0;
    y[i * 2 + 1] = b ? 1 : 0;
  }
  const all = Int32Array.from({ length: units }, (_, i) => i);
  return {
    x: csrFromRows(rows, 40),
    y,
    tasks: ['a', 'b'],
    train: all.subarray(0, Math.floor(units * 0.8)),
    dev: all.subarray(Math.floor(units * 0.8)),
  };
}

/** Rows of `data` positive for task column k. */
function positives(data: TrainingData, k: number): Int32Array {
  return Int32Array.from({ length: data.x.rows }, (_, i) => i).filter((i) => data.y[i * 2 + k] === 1);
}

/**
 * The reference: gradient x input through a DENSE input (x as a `[units, inputDim]` tensor, the
 * first layer as tf.matMul), differentiated by tfjs w.r.t. x itself, averaged over `units`.
 */
function denseReference(network: Network, x: CsrMatrix, units: Int32Array, k: number): Float64Array {
  const V = network.inputDim;
  const width = network.firstWidth;
  const dense = densify(x);
  const rows = units.length;
  const picked = new Float32Array(rows * V);
  for (const [i, u] of units.entries()) picked.set(dense.subarray(u * V, (u + 1) * V), i * V);
  const out = tf.tidy(() => {
    const X = tf.tensor2d(picked, [rows, V]);
    const W = tf.tensor2d(network.first.weights.slice(), [V, width]);
    const b = tf.tensor1d(network.first.bias.slice());
    const T = network.tasks.length;
    const dy = tf.oneHot(tf.fill([rows], k, 'int32'), T).toFloat();
    const g = tf.grad((input: tf.Tensor) =>
      network.forward(tf.add(tf.matMul(input as tf.Tensor2D, W), b), ForwardContext.inference()),
    )(X, dy);
    return tf.mean(tf.mul(X, g), 0);
  });
  const values = Float64Array.from(out.dataSync());
  out.dispose();
  return values;
}

describe('gradient x input (Simonyan et al. 2014; Shrikumar et al. 2017), exact on the sparse input', () => {
  it('for a linear network equals each feature’s exact contribution x_f (W V)[f, k], averaged by hand', () => {
    const network = getArchitecture('hard_sharing').create(
      networkSpec({ hidden: [2], activation: 'linear', dropout: 0 }, ['a', 'b'], 4),
    );
    try {
      const snapshot = network.snapshot();
      // W1 [4, 2], b1 [2], heads V [2, 2], c [2].
      expect(snapshot.map((w) => w.length)).toEqual([8, 2, 4, 2]);
      network.restore([
        Float32Array.from([1, 0, 0, 1, 1, 1, 2, -1]),
        Float32Array.from([0.3, -0.2]),
        Float32Array.from([1, 2, 3, -1]),
        Float32Array.from([0.5, 0.5]),
      ]);
      // W V, row f: f0 [1, 2], f1 [3, -1], f2 [4, 1], f3 [-1, 5].
      const x = csrFromRows(
        [
          [
            [0, 0.5],
            [2, 1],
          ],
          [
            [1, 2],
            [3, 1],
          ],
        ],
        4,
      );
      const [a, b] = gradientTimesInput(network, x, [Int32Array.of(0, 1), Int32Array.of(0)]);
      // task a over both units: f0 0.5*1, f1 2*3, f2 1*4, f3 1*(-1), each / 2.
      expect(Array.from(a!)).toEqual([0.25, 3, 2, -0.5]);
      // task b over unit 0 only: f0 0.5*2, f2 1*1.
      expect(Array.from(b!)).toEqual([1, 0, 1, 0]);
      // Completeness of a linear model: unit 1's attributions sum to logit(x) - logit(0) = 6 - 1.
      const [one] = gradientTimesInput(network, x, [Int32Array.of(1), Int32Array.of()]);
      expect(one!.reduce((s, v) => s + v, 0)).toBe(5);
    } finally {
      network.dispose();
    }
  });

  it.each(architectureNames())(
    '%s: equals tfjs’s gradient w.r.t. a dense input times the input (through the Network contract)',
    (name) => {
      const data = plantedCohort(30, 5);
      const tasks = ['a', 'b'];
      const architecture = getArchitecture(name);
      const config = architecture.resolveConfig({ dropout: 0 }, { tasks, auxTasks: [] });
      const network = architecture.create(networkSpec(config, tasks, data.x.cols, 11));
      try {
        const units = [positives(data, 0), Int32Array.from({ length: 30 }, (_, i) => 29 - i)];
        const got = gradientTimesInput(network, data.x, units);
        for (const k of [0, 1]) {
          const want = denseReference(network, data.x, units[k]!, k);
          const scale = Math.max(...Array.from(want, Math.abs));
          expect(scale).toBeGreaterThan(0);
          for (let f = 0; f < want.length; f++)
            expect(Math.abs(got[k]![f]! - want[f]!)).toBeLessThan(1e-5 * scale + 1e-7);
        }
      } finally {
        network.dispose();
      }
    },
  );

  it('ranks first the feature planted as the only signal of each task (trained network)', async () => {
    const data = plantedCohort(300, 1);
    const model = new NeuralModel({
      tasks: ['a', 'b'],
      architectureConfig: { hidden: [8], dropout: 0 },
      training: { epochs: 15, patience: 15, seed: 2, learningRate: 0.01 },
    });
    try {
      await model.fit(data);
      const result = model.featureAttribution(data.x, [positives(data, 0), positives(data, 1)]);
      expect(result.method).toBe('gradient_x_input');
      expect(result.units).toEqual([positives(data, 0).length, positives(data, 1).length]);
      expect(topFeatures(result.weights[0]!, 3).toward[0]!.feature).toBe(7);
      expect(topFeatures(result.weights[1]!, 3).toward[0]!.feature).toBe(3);
    } finally {
      model.dispose();
    }
  }, 60_000);
});

describe('logistic regression: its coefficients', () => {
  it('top terms are the largest coefficients (and the planted feature ranks first)', async () => {
    const data = plantedCohort(300, 1);
    const lr = new LogisticRegression(['a'], { seed: 1, epochs: 10 });
    await lr.fit(data);
    const attribution = lr.featureAttribution();
    expect(attribution).toMatchObject({ method: 'coefficient', units: [null] });
    const artifact = await lr.toArtifact();
    const kernel = new Float32Array(artifact.weights.slice(0, 4 * 40).buffer);
    const sorted = Array.from(kernel, (w, f) => ({ f, w })).sort((p, q) => q.w - p.w);
    const top = topFeatures(attribution.weights[0]!, 5);
    expect(top.toward.map((t) => t.feature)).toEqual(sorted.slice(0, 5).map((s) => s.f));
    expect(top.toward.map((t) => t.weight)).toEqual(sorted.slice(0, 5).map((s) => s.w));
    expect(top.away.map((t) => t.feature)).toEqual(
      sorted
        .slice(-5)
        .reverse()
        .map((s) => s.f),
    );
    expect(top.toward[0]!.feature).toBe(7);
  });
});

describe('topFeatures', () => {
  it('orders each direction by |weight|, ranks from 1, leaves zeros out, breaks ties by feature', () => {
    const w = [0, 2, -3, 2, 0.5, -0.1, 0];
    expect(topFeatures(w, 2)).toEqual({
      toward: [
        { feature: 1, rank: 1, weight: 2 },
        { feature: 3, rank: 2, weight: 2 },
      ],
      away: [
        { feature: 2, rank: 1, weight: -3 },
        { feature: 5, rank: 2, weight: -0.1 },
      ],
    });
    expect(topFeatures(w, 10).toward.length).toBe(3);
    expect(topFeatures(w, 0)).toEqual({ toward: [], away: [] });
    expect(() => topFeatures(w, -1)).toThrow(RangeError);
  });
});
