import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { rocAuc } from '../../src/evaluate/metrics.js';
import { selectRows } from '../../src/features/csr.js';
import { initTensorflow } from '../../src/model/backend.js';
import { LogisticRegression } from '../../src/model/baselines/logistic-regression.js';
import { Random } from '../../src/model/random.js';
import { NeuralModel } from '../../src/model/neural-model.js';
import { devAucs, TrainingDivergedError } from '../../src/model/trainer.js';
import type { TrainingData } from '../../src/model/types.js';
import { column, sharedSignalCohort } from './synthetic.js';

const small = () =>
  sharedSignalCohort({
    units: 600,
    features: 200,
    signal: 20,
    noisePerUnit: 15,
    signalStrength: 2,
    commonRate: 0.3,
    rareRate: 0.1,
    unknownRate: 0.2,
    seed: 9,
  });

const quick = { epochs: 3, batchSize: 32, learningRate: 0.01, seed: 4 };

describe('training', () => {
  beforeAll(async () => {
    expect(await initTensorflow()).toBe('wasm');
  });

  it('is deterministic: same seed and data give identical weights; another seed differs', async () => {
    const { data } = small();
    const run = async (seed: number) => {
      const m = new NeuralModel({
        tasks: ['common', 'rare'],
        architectureConfig: { hidden: [16, 8] },
        training: { ...quick, seed },
      });
      await m.fit(data);
      const w = m.weights();
      m.dispose();
      return w;
    };
    const a = await run(4);
    const b = await run(4);
    const c = await run(5);
    expect(a.length).toBe(6);
    for (const [i, w] of a.entries())
      expect(Buffer.from(w.buffer).equals(Buffer.from(b[i]!.buffer))).toBe(true);
    expect(Buffer.from(a[0]!.buffer).equals(Buffer.from(c[0]!.buffer))).toBe(false);
  });

  it('leaks no tensor: tf.memory().numTensors is the same after every epoch', async () => {
    const { data } = small();
    const before = tf.memory().numTensors;
    const counts: number[] = [];
    const m = new NeuralModel({
      tasks: ['common', 'rare'],
      training: { ...quick, epochs: 4, patience: 10 },
      architectureConfig: { hidden: [8] },
    });
    const result = await m.fit(data, { onEpoch: () => counts.push(tf.memory().numTensors) });
    expect(result.history.length).toBe(4);
    expect(counts.length).toBe(4);
    expect(new Set(counts).size).toBe(1);
    m.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('records per-epoch history: loss and dev AUC per task, seconds, units/s', async () => {
    const { data } = small();
    const m = new NeuralModel({
      tasks: ['common', 'rare'],
      auxTasks: ['common'],
      training: quick,
      architectureConfig: { hidden: [8] },
    });
    const { history } = await m.fit(data);
    const h = history[0]!;
    expect(Object.keys(h.loss)).toEqual(['common', 'rare']);
    expect(h.loss.common).toBeGreaterThan(0);
    expect(h.devAuc.rare).toBeGreaterThan(0);
    // the main task only (common is auxiliary) decides early stopping
    expect(h.devMeanAuc).toBe(h.devAuc.rare);
    expect(h.unitsPerSecond).toBeGreaterThan(0);
    m.dispose();
  });

  it('stops with an error naming the task and epoch when the loss is NaN', async () => {
    const { data } = small();
    const values = data.x.values.slice();
    const unit = data.train[0]!;
    values.fill(Number.NaN, data.x.indptr[unit]!, data.x.indptr[unit + 1]!);
    const poisoned: TrainingData = { ...data, x: { ...data.x, values } };
    const m = new NeuralModel({ tasks: ['rare'], training: quick, architectureConfig: { hidden: [8] } });
    const err = await m.fit(poisoned).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDivergedError);
    expect((err as Error).message).toMatch(/task 'rare' is NaN in epoch 1/);
    m.dispose();
  });

  it('early stopping keeps the best epoch on dev and restores its weights (dev AUC criterion)', async () => {
    // Random labels: dev AUC wanders, so patience 2 stops the run well before 25 epochs.
    const { data } = small();
    const r = new Random(2);
    const y = data.y.map(() => (r.next() < 0.3 ? 1 : 0));
    const noisy = { ...data, y };
    const m = new NeuralModel({
      tasks: ['common', 'rare'],
      training: { ...quick, epochs: 25, patience: 2, learningRate: 0.05, selection: 'dev_auc' },
      architectureConfig: { hidden: [16] },
    });
    const { history, bestEpoch } = await m.fit(noisy);
    expect(history.length).toBeLessThan(25);
    expect(history.length - bestEpoch).toBe(2);
    const best = Math.max(...history.map((h) => h.devMeanAuc!));
    expect(history[bestEpoch - 1]!.devMeanAuc).toBe(best);
    const now = devAucs(
      m.predict(selectRows(noisy.x, noisy.dev)),
      column2(noisy.y, noisy.dev),
      ['common', 'rare'],
      ['common', 'rare'],
    );
    expect(now.mean).toBeCloseTo(best, 6);
    expect(now.mean).not.toBeCloseTo(history[history.length - 1]!.devMeanAuc!, 6);
    m.dispose();
  });

  it('by default selects the epoch of least dev loss, from min_epochs on', async () => {
    // Random labels and a large learning rate: the network overfits, the dev loss rises after a few epochs.
    const { data } = small();
    const r = new Random(2);
    const y = data.y.map(() => (r.next() < 0.3 ? 1 : 0));
    const noisy = { ...data, y };
    const trainWith = async (minEpochs: number) => {
      const m = new NeuralModel({
        tasks: ['common', 'rare'],
        training: { ...quick, epochs: 12, patience: 3, learningRate: 0.05, minEpochs },
        architectureConfig: { hidden: [16] },
      });
      const result = await m.fit(noisy);
      m.dispose();
      return result;
    };
    const { history, bestEpoch } = await trainWith(1);
    const losses = history.map((h) => h.devMeanLoss!);
    expect(losses.every((v) => Number.isFinite(v))).toBe(true);
    expect(history[bestEpoch - 1]!.devMeanLoss).toBe(Math.min(...losses));
    expect(history.length - bestEpoch === 3 || history.length === 12).toBe(true);
    // With min_epochs after the best epoch, an epoch at or after it is selected instead.
    const later = await trainWith(bestEpoch + 1);
    expect(later.bestEpoch).toBeGreaterThanOrEqual(bestEpoch + 1);
    const tail = later.history.slice(bestEpoch).map((h) => h.devMeanLoss!);
    expect(later.history[later.bestEpoch - 1]!.devMeanLoss).toBe(Math.min(...tail));
  });

  it('logistic regression learns a linearly separable problem', async () => {
    const { data, test } = sharedSignalCohort({
      units: 4000,
      features: 200,
      signal: 20,
      noisePerUnit: 15,
      signalStrength: 2,
      commonRate: 0.3,
      rareRate: 0.1,
      seed: 9,
    });
    // Label: whether the unit has any of features 0..19 with value > 0.2 -- a separable rule.
    const y = new Float32Array(data.x.rows);
    for (let i = 0; i < data.x.rows; i++) {
      let s = 0;
      for (let k = data.x.indptr[i]!; k < data.x.indptr[i + 1]!; k++)
        if (data.x.indices[k]! < 20) s += data.x.values[k]!;
      y[i] = s > 0.5 ? 1 : 0;
    }
    const lr = new LogisticRegression(['sep'], { epochs: 15, seed: 3 });
    const result = await lr.fit({ ...data, y, tasks: ['sep'] });
    expect(result.history.length).toBeGreaterThan(0);
    const auc = rocAuc(lr.predict(selectRows(data.x, test)), column(y, 1, 0, test))!;
    expect(auc).toBeGreaterThan(0.99);
    // deterministic
    const again = new LogisticRegression(['sep'], { epochs: 15, seed: 3 });
    await again.fit({ ...data, y, tasks: ['sep'] });
    expect([...again.predict(data.x)]).toEqual([...lr.predict(data.x)]);
  });
});

function column2(y: Float32Array, rows: Int32Array): Float32Array {
  const out = new Float32Array(rows.length * 2);
  rows.forEach((r, i) => {
    out[2 * i] = y[2 * r]!;
    out[2 * i + 1] = y[2 * r + 1]!;
  });
  return out;
}
