import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type Architecture,
  Network,
  type NetworkSpec,
} from '../../../src/model/architectures/architecture.js';
import { hardSharing } from '../../../src/model/architectures/hard-sharing.js';
import { initTensorflow } from '../../../src/model/backend.js';
import type { LayersExport } from '../../../src/model/io/layers-graph.js';
import { taskColumns } from '../../../src/model/labels.js';
import { addDenseLayer, applyDense, type DenseLayer } from '../../../src/model/layers/dense-stack.js';
import type { ForwardContext } from '../../../src/model/layers/forward-context.js';
import { glorotUniform, Random } from '../../../src/model/random.js';
import { resolveTrainingConfig, type TrainingConfig } from '../../../src/model/training-config.js';
import { trainNetwork } from '../../../src/model/trainer.js';
import type { TrainingData, TrainingResult } from '../../../src/model/types.js';
import {
  checkWeightingArchitecture,
  tasksShareRepresentation,
} from '../../../src/model/weighting/compatibility.js';
import { weightingMethods } from '../../../src/model/weighting/index.js';
import { sharedSignalCohort } from '../synthetic.js';

/**
 * The training loop's two steps with the weighting methods, end to end on small networks: the
 * representation-level step (per-task gradients at the shared representation, combined by the
 * method, back-propagated through the shared layers) against the loss-level step it must equal
 * when the combination is a weighted sum; masked labels for every method; uncertainty weighting's
 * defining property on a network.
 */

const TASKS = ['a', 'b'];

/** Two tasks over the synthetic cohort: `b` from `transform` of `a` (the cohort's common task). */
function twoTasks(
  transform: (a: number, i: number, r: Random) => number,
  units = 240,
  signalStrength = 2,
): TrainingData {
  const { data } = sharedSignalCohort({
    units,
    features: 120,
    signal: 15,
    noisePerUnit: 10,
    signalStrength,
    commonRate: 0.4,
    rareRate: 0.1,
    seed: 13,
  });
  const r = new Random(99);
  const y = new Float32Array(units * 2);
  for (let i = 0; i < units; i++) {
    const a = data.y[i * 2]!;
    y[i * 2] = a;
    y[i * 2 + 1] = transform(a, i, r);
  }
  return { ...data, y, tasks: TASKS };
}

function spec(inputDim: number, config: Record<string, unknown>, tasks = TASKS): NetworkSpec {
  return {
    inputDim,
    tasks,
    auxTasks: [],
    config,
    optimizer: { name: 'adagrad', learningRate: 0.05 },
    seed: 5,
  };
}

async function train(
  network: Network,
  data: TrainingData,
  training: Partial<TrainingConfig>,
  tasks = TASKS,
): Promise<TrainingResult> {
  const cfg = resolveTrainingConfig({ seed: 3, patience: 50, ...training });
  return trainNetwork(
    network,
    { ...data, dev: new Int32Array(0) },
    taskColumns(data.tasks, tasks),
    {
      training: cfg,
      tasks,
      mainTasks: tasks,
    },
    {},
  );
}

/** Largest absolute difference between two snapshots, and the largest absolute value. */
function maxDifference(a: Float32Array[], b: Float32Array[]): { diff: number; scale: number } {
  let diff = 0;
  let scale = 0;
  for (const [i, w] of a.entries()) {
    for (const [k, v] of w.entries()) {
      diff = Math.max(diff, Math.abs(v - b[i]![k]!));
      scale = Math.max(scale, Math.abs(v));
    }
  }
  return { diff, scale };
}

/** A hard-sharing network whose two heads start identical (so identical tasks have identical gradients). */
function hardSharingTwinHeads(
  inputDim: number,
  config: Record<string, unknown>,
  optimizer: 'adam' | 'adagrad',
): Network {
  const n = hardSharing.create({
    ...spec(inputDim, config),
    optimizer: { name: optimizer, learningRate: optimizer === 'adam' ? 0.01 : 0.05 },
  });
  const heads = n.params.values('heads/kernel');
  for (let r = 0; r < heads.length / 2; r++) heads[r * 2 + 1] = heads[r * 2]!;
  n.params.set('heads/kernel', heads);
  return n;
}

/**
 * A test architecture on the contract's other shapes: `identity` (encode is the identity, the
 * representation is the first layer's pre-activation, the heads read relu(z1)); `towers` (the
 * same, but task t reads only its own block of 3 columns: separate towers packed side by side,
 * sharing nothing); or a hidden layer with a shortcut (decode reads the representation and relu(z1)).
 */
class ProbeNetwork extends Network {
  readonly architecture = 'probe';
  private readonly hidden: DenseLayer | null;
  private readonly heads: DenseLayer;
  private readonly shortcut: DenseLayer | null;
  private readonly towers: DenseLayer[] = [];

  constructor(s: NetworkSpec) {
    const random = new Random(s.seed);
    const T = s.tasks.length;
    const width = s.config.towers ? 3 * T : 6;
    super(s, glorotUniform(s.inputDim, width, random), new Float32Array(width), 'js');
    if (s.config.towers) {
      this.hidden = null;
      this.shortcut = null;
      for (let t = 0; t < T; t++)
        this.towers.push(addDenseLayer(this.params, `tower_${t}`, 3, 1, { random }));
      this.heads = this.towers[0]!;
    } else if (s.config.identity) {
      this.hidden = null;
      this.shortcut = null;
      this.heads = addDenseLayer(this.params, 'heads', width, T, { random });
    } else {
      this.hidden = addDenseLayer(this.params, 'hidden', width, 4, { random });
      this.heads = addDenseLayer(this.params, 'heads', 4, T, { random });
      this.shortcut = addDenseLayer(this.params, 'shortcut', width, T, { random });
    }
  }

  encode(z1: tf.Tensor2D, ctx: ForwardContext): tf.Tensor2D {
    if (!this.hidden) return z1;
    return ctx.dropout(tf.tanh(applyDense(tf.relu(z1), this.hidden)), 0.25);
  }

  decode(rep: tf.Tensor2D, z1: tf.Tensor2D): tf.Tensor2D {
    if (this.towers.length > 0)
      return tf.concat(
        this.towers.map((tower, t) => applyDense(tf.relu(tf.slice(rep, [0, 3 * t], [-1, 3])), tower)),
        1,
      ) as tf.Tensor2D;
    if (!this.hidden) return applyDense(tf.relu(rep), this.heads);
    return tf.add(applyDense(rep, this.heads), applyDense(tf.relu(z1), this.shortcut!)) as tf.Tensor2D;
  }

  exportLayers(): Promise<LayersExport> {
    throw new Error('not exported (test network)');
  }
}

/** The test architecture (not registered): ProbeNetwork's options as given. */
const probe: Architecture = {
  name: 'probe',
  summary: 'test only',
  optionsSchema: {},
  resolveConfig: (c) => c,
  create: (s) => new ProbeNetwork(s),
  fromWeights: () => {
    throw new Error('test only');
  },
  warmStart: () => ({ ok: false, reason: 'test only' }),
};

describe('the representation-level step of the trainer', () => {
  beforeAll(async () => {
    expect(await initTensorflow()).toBe('wasm');
  });

  it('pcgrad on two tasks whose gradients never conflict equals the fixed method with weights 1', async () => {
    // Identical tasks and identical heads: the per-task gradients at the representation are equal,
    // so they never conflict; a wrong combination, a dropout mask drawn anew, a missing encoder,
    // penalty or head gradient would all show in the weights.
    const data = twoTasks((a) => a);
    const config = { hidden: [16, 8], dropout: 0.2 };
    const training = { epochs: 3, batchSize: 32, optimizer: 'adam' as const, learningRate: 0.01, l2: 1e-3 };
    const fixedNet = hardSharingTwinHeads(data.x.cols, config, 'adam');
    const pcgradNet = hardSharingTwinHeads(data.x.cols, config, 'adam');
    const fixed = await train(fixedNet, data, { ...training, weighting: { method: 'fixed' } });
    const pcgrad = await train(pcgradNet, data, { ...training, weighting: { method: 'pcgrad' } });
    for (const r of pcgrad.history) expect(r.weights).toEqual({ a: 1, b: 1 });
    expect(pcgrad.history.map((r) => r.loss.a)).toEqual(
      fixed.history.map((r) => expect.closeTo(r.loss.a!, 5) as unknown as number),
    );
    const { diff, scale } = maxDifference(pcgradNet.snapshot(), fixedNet.snapshot());
    expect(scale).toBeGreaterThan(0.1);
    expect(diff).toBeLessThan(1e-5);
    // and the weights did move: the comparison is not between two untrained networks
    const initial = hardSharingTwinHeads(data.x.cols, config, 'adam');
    expect(maxDifference(initial.snapshot(), fixedNet.snapshot()).diff).toBeGreaterThan(1e-3);
    for (const n of [fixedNet, pcgradNet, initial]) n.dispose();
  });

  it('one step of pcgrad on conflicting tasks equals one loss-level step with the weights it reports', async () => {
    // PCGrad's combination is sum_j w_j g_j and the heads get w_j: the loss sum_j w_j L_j. Opposed
    // labels and identical heads make the gradients conflict (w != 1). One batch: the whole set.
    const data = twoTasks((a, i) => (i % 7 === 0 ? Number.NaN : Number.isNaN(a) ? a : 1 - a), 160);
    const networks: [string, (tasks: string[]) => Network][] = [
      [
        'hard sharing, two hidden layers, dropout',
        () => hardSharingTwinHeads(data.x.cols, { hidden: [8, 6], dropout: 0.3 }, 'adagrad'),
      ],
      [
        'identity encode (the representation is the first layer)',
        (t) => probe.create(spec(data.x.cols, { identity: true }, t)),
      ],
      [
        'a hidden layer and a shortcut from the first layer to the heads',
        (t) => probe.create(spec(data.x.cols, { identity: false }, t)),
      ],
    ];
    for (const [what, make] of networks) {
      const training = {
        epochs: 1,
        batchSize: 1000,
        optimizer: 'adagrad' as const,
        learningRate: 0.05,
        l2: 1e-3,
      };
      const rep = make(TASKS);
      const { history } = await train(rep, data, { ...training, weighting: { method: 'pcgrad' } });
      const weights = history[0]!.weights!;
      expect(weights.a! + weights.b!, what).toBeGreaterThan(2.01);
      const loss = make(TASKS);
      await train(loss, data, { ...training, weighting: { method: 'fixed', weights } });
      const { diff, scale } = maxDifference(rep.snapshot(), loss.snapshot());
      expect(scale, what).toBeGreaterThan(0.1);
      expect(diff, what).toBeLessThan(2e-6);
      // the same with equal weights would differ: the test sees the weights
      const equal = make(TASKS);
      await train(equal, data, { ...training, weighting: { method: 'fixed' } });
      expect(maxDifference(rep.snapshot(), equal.snapshot()).diff, what).toBeGreaterThan(1e-4);
      for (const n of [rep, loss, equal]) n.dispose();
    }
  });

  it('leaks no tensor and draws the sparse layer once a step (its cost does not grow with the tasks)', async () => {
    const data = twoTasks((a) => a);
    for (const method of ['pcgrad', 'gradnorm']) {
      const network = hardSharing.create(spec(data.x.cols, { hidden: [8] }));
      let forwards = 0;
      let updates = 0;
      const forward = network.first.forward.bind(network.first);
      const update = network.first.update.bind(network.first);
      network.first.forward = (x) => {
        forwards++;
        return forward(x);
      };
      network.first.update = (...args) => {
        updates++;
        return update(...args);
      };
      const before = tf.memory().numTensors;
      await train(network, data, { epochs: 2, batchSize: 40, weighting: { method } });
      expect(tf.memory().numTensors, method).toBe(before);
      // 120 training units / 40 = 3 batches an epoch, 2 epochs: one forward and one update per batch
      expect(data.train.length).toBe(120);
      expect([forwards, updates], method).toEqual([6, 6]);
      network.dispose();
    }
  });

  it('pcgrad cannot combine with separate towers (nothing shared): refused naming the JSON path', () => {
    const model = (architecture: string, config: Record<string, unknown>, tasks = TASKS) => ({
      architecture,
      architectureConfig: config,
      tasks,
      auxTasks: [],
    });
    expect(tasksShareRepresentation(model('hard_sharing', { hidden: [4] }))).toBe(true);
    expect(tasksShareRepresentation(model('probe', { identity: true }), probe)).toBe(true);
    expect(tasksShareRepresentation(model('probe', { identity: false }), probe)).toBe(true);
    expect(tasksShareRepresentation(model('probe', { towers: true }), probe)).toBe(false);
    expect(() =>
      checkWeightingArchitecture({ method: 'pcgrad' }, model('probe', { towers: true }), undefined, probe),
    ).toThrow(
      '/training/weighting/method: pcgrad cannot combine with architecture probe: its tasks share no part of the representation',
    );
    // the other methods combine with it; a single task has nothing to combine
    for (const method of ['fixed', 'uncertainty', 'dwa', 'gradnorm', 'rlw'])
      checkWeightingArchitecture({ method }, model('probe', { towers: true }), undefined, probe);
    checkWeightingArchitecture(
      { method: 'pcgrad' },
      model('probe', { towers: true }, ['a']),
      undefined,
      probe,
    );
    checkWeightingArchitecture({ method: 'pcgrad' }, model('hard_sharing', {}));
    // and indeed: on towers, pcgrad's weights stay 1 (no two task gradients overlap)
  });

  it('on separate towers pcgrad would be the fixed method: its weights stay 1', async () => {
    const data = twoTasks((a) => (Number.isNaN(a) ? a : 1 - a));
    const network = probe.create(spec(data.x.cols, { towers: true }));
    const { history } = await train(network, data, {
      epochs: 2,
      batchSize: 40,
      weighting: { method: 'pcgrad' },
    });
    for (const r of history) expect(r.weights).toEqual({ a: 1, b: 1 });
    network.dispose();
  });
});

describe('masked labels, every method', () => {
  beforeAll(async () => {
    expect(await initTensorflow()).toBe('wasm');
  });

  it('a task with no label contributes nothing: its head does not move, no NaN in losses, weights, scores', async () => {
    const data = twoTasks(() => Number.NaN);
    for (const method of weightingMethods()) {
      const network = hardSharing.create(spec(data.x.cols, { hidden: [8], dropout: 0.1 }));
      const headsBefore = network.params.values('heads/kernel');
      const biasBefore = network.params.values('heads/bias');
      const { history } = await train(network, data, {
        epochs: 3,
        batchSize: 48,
        l2: 0,
        weighting: { method },
      });
      for (const r of history) {
        expect(r.loss.b, method).toBe(0);
        expect(Number.isFinite(r.loss.a!), method).toBe(true);
        expect(Object.values(r.weights!).every(Number.isFinite), method).toBe(true);
      }
      const heads = network.params.values('heads/kernel');
      const bias = network.params.values('heads/bias');
      for (let r = 0; r < heads.length / 2; r++) {
        expect(heads[r * 2 + 1], method).toBe(headsBefore[r * 2 + 1]);
      }
      expect(bias[1], method).toBe(biasBefore[1]);
      expect(bias[0], method).not.toBe(biasBefore[0]);
      const scores = network.predict(data.x);
      expect(scores.every(Number.isFinite), method).toBe(true);
      network.dispose();
    }
  });
});

describe('uncertainty weighting on a network', () => {
  beforeAll(async () => {
    expect(await initTensorflow()).toBe('wasm');
  });

  it('a noisier task ends with the larger learned variance (the smaller weight 1/sigma^2)', async () => {
    // b is a with 35% of its labels flipped at random: a loss the network cannot bring down.
    const data = twoTasks((a, _i, r) => (Number.isNaN(a) ? a : r.next() < 0.35 ? 1 - a : a), 600, 5);
    const network = hardSharing.create(spec(data.x.cols, { hidden: [16] }));
    const { history } = await train(network, data, {
      epochs: 12,
      batchSize: 32,
      posWeight: 'none',
      optimizer: 'adam',
      learningRate: 0.02,
      weighting: { method: 'uncertainty', learning_rate: 0.05 },
    });
    const first = history[0]!;
    const last = history.at(-1)!;
    expect(last.loss.b!).toBeGreaterThan(last.loss.a! * 1.5);
    // sigma^2 = 1 / weight: both started at 1; the noisy task's is now larger than the clean one's
    const variance = (t: string) => 1 / last.weights![t]!;
    expect(variance('b')).toBeGreaterThan(variance('a') * 1.3);
    expect(first.weights!.a).toBeCloseTo(1, 0);
    network.dispose();
  });
});
