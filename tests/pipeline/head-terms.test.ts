import { beforeAll, describe, expect, it } from 'vitest';
import { csrFromRows } from '../../src/features/csr.js';
import { initTensorflow } from '../../src/model/backend.js';
import { LogisticRegression } from '../../src/model/baselines/logistic-regression.js';
import { NeuralModel } from '../../src/model/neural-model.js';
import type { TrainingData } from '../../src/model/types.js';
import { parsePipeline } from '../../src/pipeline/config.js';
import { headTerms } from '../../src/pipeline/task-features.js';

beforeAll(async () => {
  await initTensorflow();
});

/** Six units over 4 terms; run tasks [x, a] (the model predicts a only); a = 1 for units 0, 2, 4. */
const data: TrainingData = {
  x: csrFromRows(
    [
      [[0, 1]],
      [[1, 1]],
      [
        [0, 0.6],
        [2, 0.8],
      ],
      [[3, 1]],
      [[0, 1]],
      [[1, 1]],
    ],
    4,
  ),
  y: Float32Array.from([0, 1, 0, 0, 1, 1, 1, 0, 0, 1, 0, 0]),
  tasks: ['x', 'a'],
  train: Int32Array.of(0, 1, 2, 3),
  dev: Int32Array.of(4, 5),
};
const vocabulary = ['w:alpha', 'w:beta', 'w:gamma', 'w:delta'];
const common = { reportedAs: 'net', repeat: 1, x: data.x, y: data.y, runTasks: data.tasks, vocabulary };

describe('headTerms: the rows of mhmtl.task_features for one trained model', () => {
  it("averages a network over the test positives of the model's task (its own column of the run's labels)", async () => {
    const model = new NeuralModel({
      tasks: ['a'],
      architectureConfig: { hidden: [4], dropout: 0 },
      training: { epochs: 2, seed: 1 },
    });
    try {
      await model.fit(data);
      // Test rows 2, 3, 4: positives for a are 2 and 4.
      const rows = headTerms(model, { ...common, n: 2, test: Int32Array.of(2, 3, 4) });
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => r.model === 'net' && r.task === 'a' && r.repeat === 1)).toBe(true);
      expect(rows.every((r) => r.method === 'gradient_x_input' && r.units === 2)).toBe(true);
      // Exactly the attribution over units 2 and 4 (not 3, a negative; not the task x's positives).
      const w = model.featureAttribution(data.x, [Int32Array.of(2, 4)]).weights[0]!;
      expect(rows.map((r) => [r.term, r.weight])).toEqual(
        [0, 2]
          .filter((f) => w[f] !== 0)
          .sort((p, q) => Number(w[q]! > 0) - Number(w[p]! > 0) || Math.abs(w[q]!) - Math.abs(w[p]!))
          .map((f) => [vocabulary[f], w[f]]),
      );
      // Only terms present in a test positive carry a gradient x input: alpha and gamma.
      expect(w[1]).toBe(0);
      expect(w[3]).toBe(0);
      // No test positive: nothing to average over, no rows.
      expect(headTerms(model, { ...common, n: 2, test: Int32Array.of(3, 5) })).toEqual([]);
      // top_terms 0 turns it off.
      expect(headTerms(model, { ...common, n: 0, test: Int32Array.of(2, 3, 4) })).toEqual([]);
    } finally {
      model.dispose();
    }
  });

  it('gives logistic regression its coefficients, whatever the test units', async () => {
    const lr = new LogisticRegression(['a'], { seed: 1, epochs: 3 });
    await lr.fit(data);
    const w = lr.featureAttribution().weights[0]!;
    const rows = headTerms(lr, { ...common, n: 4, test: Int32Array.of() });
    expect(rows.map((r) => [r.term, r.weight])).toEqual(
      [...w.keys()]
        .filter((f) => w[f] !== 0)
        .sort((p, q) => Number(w[q]! > 0) - Number(w[p]! > 0) || Math.abs(w[q]!) - Math.abs(w[p]!))
        .map((f) => [vocabulary[f], w[f]]),
    );
    expect(rows.every((r) => r.method === 'coefficient' && r.units === null)).toBe(true);
  });
});

describe('evaluation.top_terms', () => {
  const minimal = { name: 'p', inputs: [], tasks: { main: ['a'] } };
  it('takes 0 (off) and refuses a negative count naming its JSON path', () => {
    expect(parsePipeline({ ...minimal, evaluation: { top_terms: 0 } }, '/').evaluation?.top_terms).toBe(0);
    expect(() => parsePipeline({ ...minimal, evaluation: { top_terms: -1 } }, '/')).toThrow(
      'invalid pipeline: /evaluation/top_terms: must be >= 0, got -1',
    );
  });
});
