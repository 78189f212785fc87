import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.js';
import {
  type DeepRelationshipNetwork,
  deepRelationship,
} from '../../../src/model/architectures/deep-relationship.js';
import { initTensorflow } from '../../../src/model/backend.js';
import { namedWeights } from '../../../src/model/io/layers-graph.js';
import { SPARSE_KERNEL_ENV } from '../../../src/model/layers/sparse-dense.js';
import { NeuralModel } from '../../../src/model/neural-model.js';
import { Random } from '../../../src/model/random.js';
import {
  gramOf,
  symmetricPseudoInverse,
  taskCovariance,
} from '../../../src/model/regularizers/matrix-normal.js';
import type { TrainingData } from '../../../src/model/types.js';
import { sharedSignalCohort } from '../synthetic.js';
import { exportedScores, maxAbsDiff, networkSpec, train, trainWithModelBlock } from './helpers.js';

const TASKS = ['a', 'b', 'c'];

/**
 * Three tasks over one latent severity (tests/model/synthetic.ts): a = the top 30% (common),
 * b = the top 15% (rare): built to share signal; c = NOT a, with 10% of its labels flipped: built
 * opposite.
 */
function opposedCohort(): TrainingData {
  const { data } = sharedSignalCohort({
    units: 600,
    features: 150,
    signal: 20,
    noisePerUnit: 12,
    signalStrength: 2,
    commonRate: 0.3,
    rareRate: 0.15,
    seed: 4,
  });
  const r = new Random(3);
  const n = data.x.rows;
  const y = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    y[i * 3] = data.y[i * 2]!;
    y[i * 3 + 1] = data.y[i * 2 + 1]!;
    y[i * 3 + 2] = r.next() < 0.1 ? data.y[i * 2]! : 1 - data.y[i * 2]!;
  }
  return { ...data, y, tasks: TASKS };
}

const training = { epochs: 3, batchSize: 32, learningRate: 0.01, patience: 5, seed: 2 };

describe('deep_relationship', () => {
  beforeAll(async () => {
    expect(await initTensorflow()).toBe('wasm');
  });
  afterEach(() => {
    delete process.env[SPARSE_KERNEL_ENV];
  });

  it('with the covariance fixed to the identity, the prior is a plain L2 penalty (value and gradients)', () => {
    const net = deepRelationship.create(
      networkSpec(
        { hidden: [8, 5, 4], task_specific_layers: 2, prior_strength: 0.3, learn_covariance: false },
        TASKS,
        20,
      ),
    ) as DeepRelationshipNetwork;
    const kernels = net.params.all.filter((p) => /^(task|head)_/.test(p.name) && p.name.endsWith('/kernel'));
    expect(kernels.length).toBe(3 * 3);
    const vars = kernels.map((p) => p.variable);
    const { value, grads } = tf.variableGrads(() => net.penalty()!, vars);
    let l2 = 0;
    for (const v of vars) for (const w of v.dataSync()) l2 += w * w;
    expect(value.dataSync()[0]).toBeCloseTo(0.3 * l2, 5);
    for (const v of vars) {
      const g = grads[v.name]!.dataSync();
      const w = v.dataSync();
      expect(
        maxAbsDiff(
          g,
          Float32Array.from(w, (x) => 2 * 0.3 * x),
        ),
      ).toBeLessThan(1e-6);
    }
    // the shared (first) layer carries no prior: L2 only
    expect(net.firstLayerRegularization(0.5)).toEqual({ decay: 1 });
    tf.dispose([value, ...Object.values(grads)]);
    net.dispose();
  });

  it('identity covariance = L2 in training too: prior 0.01 and l2 0 give the weights of prior 0 and l2 0.01', async () => {
    // Every layer task-specific: the first layer's prior is the sparse layer's block mixing.
    process.env[SPARSE_KERNEL_ENV] = 'js';
    const data = opposedCohort();
    const config = { hidden: [8, 5], task_specific_layers: 2, learn_covariance: false, dropout: 0.1 };
    const withPrior = deepRelationship.create(
      networkSpec({ ...config, prior_strength: 0.01 }, TASKS, data.x.cols),
    );
    const withL2 = deepRelationship.create(networkSpec({ ...config, prior_strength: 0 }, TASKS, data.x.cols));
    expect(withPrior.firstLayerRegularization(0).blockMix?.strength).toBe(0.02);
    expect(withL2.firstLayerRegularization(0.01)).toEqual({ decay: 0.02 });
    await train(withPrior, data, { ...training, l2: 0 });
    await train(withL2, data, { ...training, l2: 0.01 });
    const [a, b] = [withPrior.snapshot(), withL2.snapshot()];
    for (const [i, w] of a.entries()) expect(maxAbsDiff(w, b[i]!), `weight ${i}`).toBeLessThan(1e-5);
    // and the penalty mattered: without either, the weights differ
    const neither = deepRelationship.create(
      networkSpec({ ...config, prior_strength: 0 }, TASKS, data.x.cols),
    );
    await train(neither, data, { ...training, l2: 0 });
    expect(maxAbsDiff(neither.snapshot()[0]!, a[0]!)).toBeGreaterThan(1e-4);
    for (const n of [withPrior, withL2, neither]) n.dispose();
  });

  it('the closed-form covariance: (G + eps I)^(1/2) / trace, its inverse, and a singular case', () => {
    const G = Float64Array.from([4, 2, -1, 2, 3, 0.5, -1, 0.5, 2]);
    // scipy.linalg.sqrtm(G + 0.1 I) / its trace; numpy.linalg.inv of that
    const expected = [
      0.3861141103, 0.1185283671, -0.0697373788, 0.1185283671, 0.3328346098, 0.0468380554, -0.0697373788,
      0.0468380554, 0.2810512799,
    ];
    const inverse = [
      3.1576176238, -1.2643950166, 0.9942163589, -1.2643950166, 3.5829472174, -0.9108440087, 0.9942163589,
      -0.9108440087, 3.9565598324,
    ];
    const omega = taskCovariance(G, 3, 0.1);
    expect(maxAbsDiff(omega, expected)).toBeLessThan(1e-9);
    expect(maxAbsDiff(symmetricPseudoInverse(omega, 3), inverse)).toBeLessThan(1e-8);
    // numpy.linalg.pinv([[1, 1], [1, 1]])
    expect(
      [...symmetricPseudoInverse(Float64Array.from([1, 1, 1, 1]), 2)].map((v) => +v.toFixed(12)),
    ).toEqual([0.25, 0.25, 0.25, 0.25]);
    expect(() => taskCovariance(G, 3, -1)).toThrow(RangeError);
  });

  it('updates the covariance after every epoch from the stacked task parameters; relations are that covariance', async () => {
    const data = opposedCohort();
    const net = deepRelationship.create(
      networkSpec(
        { hidden: [8, 5], task_specific_layers: 1, covariance_regularizer: 0.01 },
        TASKS,
        data.x.cols,
      ),
    ) as DeepRelationshipNetwork;
    expect(net.priorLayers).toEqual([2, 3]);
    expect([...net.taskCovariance(3)]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    await train(net, data, { ...training, epochs: 1 });
    const heads = TASKS.map((_, t) => net.params.values(`head_${t + 1}/kernel`));
    const expected = taskCovariance(gramOf(heads), 3, 0.01);
    expect(maxAbsDiff(net.taskCovariance(3), expected)).toBeLessThan(1e-12);
    const tower = TASKS.map((_, t) => net.params.values(`task_${t + 1}_2/kernel`));
    expect(maxAbsDiff(net.taskCovariance(2), taskCovariance(gramOf(tower), 3, 0.01))).toBeLessThan(1e-12);
    const relations = net.relations();
    const cov = relations.filter((r) => r.kind === 'task_covariance' && r.layer === 3);
    expect(cov.map((r) => `${r.taskA}${r.taskB}`)).toEqual([
      'aa',
      'ab',
      'ac',
      'ba',
      'bb',
      'bc',
      'ca',
      'cb',
      'cc',
    ]);
    expect(
      maxAbsDiff(
        cov.map((r) => r.value),
        expected,
      ),
    ).toBeLessThan(1e-12);
    const corr = relations.filter((r) => r.kind === 'task_correlation' && r.layer === 3);
    expect(corr[1]!.value).toBeCloseTo(expected[1]! / Math.sqrt(expected[0]! * expected[4]!), 12);
    expect(corr[0]!.value).toBeCloseTo(1, 12);
    expect(new Set(relations.map((r) => r.layer))).toEqual(new Set([2, 3]));
    net.dispose();
  });

  it('puts the two tasks built to share signal together and the opposite task apart', async () => {
    const data = opposedCohort();
    const net = deepRelationship.create(
      networkSpec({ hidden: [16], task_specific_layers: 0, dropout: 0.1 }, TASKS, data.x.cols),
    ) as DeepRelationshipNetwork;
    const result = await train(net, data, { ...training, epochs: 8, patience: 8 });
    expect(result.history[result.bestEpoch - 1]!.devMeanAuc).toBeGreaterThan(0.75);
    const corr = new Map(
      net
        .relations()
        .filter((r) => r.kind === 'task_correlation' && r.layer === 2)
        .map((r) => [`${r.taskA}${r.taskB}`, r.value]),
    );
    expect(corr.get('ab')).toBeGreaterThan(0.2);
    expect(corr.get('ac')).toBeLessThan(-0.2);
    expect(corr.get('bc')).toBeLessThan(-0.2);
    net.dispose();
  });

  for (const [label, config] of [
    ['shared then task-specific layers', { hidden: [8, 5], task_specific_layers: 1, activation: 'tanh' }],
    ['every layer task-specific', { hidden: [6, 4], task_specific_layers: 2 }],
  ] as const) {
    it(`exports to plain tfjs layers with the scores of predict, fromWeights round-trips (${label})`, async () => {
      const data = opposedCohort();
      const net = deepRelationship.create(networkSpec(config, TASKS, data.x.cols));
      await train(net, data, { ...training, epochs: 1 });
      const scores = net.predict(data.x);
      const exported = await net.exportLayers();
      expect(JSON.stringify(exported.modelTopology)).not.toMatch(/Lambda|Custom/);
      expect(maxAbsDiff(await exportedScores(net, data.x), scores)).toBeLessThan(1e-5);
      const again = deepRelationship.fromWeights(
        networkSpec(config, TASKS, data.x.cols),
        namedWeights(exported.weightSpecs, exported.weightData),
      );
      expect(again.predict(data.x)).toEqual(scores);
      const [a, b] = [net.snapshot(), again.snapshot()];
      for (const [i, w] of a.entries()) expect(b[i]).toEqual(w);
      net.dispose();
      again.dispose();
    });
  }

  it('warm start copies the shared layers (rows by term); refuses other layers or nothing shared', async () => {
    const V = 30;
    const vocabulary = Array.from({ length: V }, (_, i) => `t${i}`);
    const config = { hidden: [6, 5, 4], task_specific_layers: 1 };
    const source = deepRelationship.create(networkSpec(config, ['a', 'b'], V, 1));
    const exported = await source.exportLayers();
    const weights = namedWeights(exported.weightSpecs, exported.weightData);
    const src = {
      runId: 4,
      architecture: 'deep_relationship',
      config,
      tasks: ['a', 'b'],
      vocabulary,
      weights,
    };
    const targetVocabulary = [...vocabulary].reverse();
    const plan = deepRelationship.warmStart(src, { config, tasks: TASKS, vocabulary: targetVocabulary });
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect(plan.copied).toBe('the 2 shared layers');
    const target = deepRelationship.create(networkSpec(config, TASKS, V, 9));
    const head = target.params.values('head_1/kernel');
    plan.apply(target);
    const w1 = weights.get('shared_1/kernel')!;
    expect([...target.first.weights.subarray(0, 6)]).toEqual([...w1.subarray((V - 1) * 6, V * 6)]);
    expect(target.params.values('shared_2/kernel')).toEqual(weights.get('shared_2/kernel'));
    expect(target.params.values('head_1/kernel')).toEqual(head);
    expect(
      deepRelationship.warmStart(src, {
        config: { ...config, task_specific_layers: 2 },
        tasks: TASKS,
        vocabulary,
      }),
    ).toEqual({
      ok: false,
      reason: 'run 4 has hidden layers [6, 5, 4] with 1 task-specific, this run [6, 5, 4] with 2',
    });
    const all = { hidden: [6, 5, 4], task_specific_layers: 3 };
    expect(
      deepRelationship.warmStart({ ...src, config: all }, { config: all, tasks: TASKS, vocabulary }).ok,
    ).toBe(false);
    source.dispose();
    target.dispose();
  });

  it('rejects bad options with one line naming the option', () => {
    const resolve = (c: Record<string, unknown>) => () => deepRelationship.resolveConfig(c);
    expect(resolve({ covariance_regularizer: -0.1 })).toThrow(
      new UsageError('covariance_regularizer must be a number >= 0, got -0.1'),
    );
    expect(resolve({ prior_strength: -1 })).toThrow(/^prior_strength must be a number >= 0/);
    expect(resolve({ hidden: [8, 4], task_specific_layers: 3 })).toThrow(
      new UsageError(
        'task_specific_layers must be an integer from 0 to the number of hidden layers (2), got 3',
      ),
    );
    expect(resolve({ learn_covariance: 'yes' })).toThrow(/^learn_covariance must be true or false/);
    expect(resolve({ omega: 1 })).toThrow(/^deep_relationship has no option 'omega'/);
    expect(
      () =>
        new NeuralModel({
          architecture: 'deep_relationship',
          architectureConfig: { covariance_regularizer: -1 },
          tasks: TASKS,
        }),
    ).toThrow(UsageError);
    expect(deepRelationship.resolveConfig({})).toEqual({
      hidden: [256, 64],
      task_specific_layers: 1,
      prior_strength: 1e-3,
      covariance_regularizer: 1e-3,
      learn_covariance: true,
      activation: 'relu',
      dropout: 0.3,
    });
  });

  it('the CLI refuses a covariance regularizer below 0 with exit 2 and one line naming it', async () => {
    const r = await trainWithModelBlock({ architecture: 'deep_relationship', covariance_regularizer: -1 });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n').length).toBe(1);
    expect(r.stderr).toMatch(/\/model\/covariance_regularizer: must be >= 0, got -1$/m);
  });
});
